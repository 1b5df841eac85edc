package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Usage kinds (the CHECK constraint of ai_usage lists them).
const (
	UsageChat      = "chat"
	UsageTitle     = "title"
	UsageEmbedding = "embedding"
)

// Usage is one AI call to record. Empty ids and a zero UserID are stored as
// NULL (an embedding made for a document whose uploader is gone has no user).
type Usage struct {
	WorkspaceID   string
	UserID        int64
	ChatSessionID string
	MessageID     string
	DocumentID    string
	Kind          string
	Model         string
	InputTokens   int
	OutputTokens  int
	Duration      time.Duration
	CostMicros    int64 // integer micro-units of the currency (1 USD = 1,000,000)
	ReservationID int64 // the hold this call settles (0 = none)
}

// RecordUsage writes an ai_usage row and adds it to the user's and the
// workspace's running totals, in one transaction so the totals always equal
// the sum of the rows. The call's reservation, if any, goes in the same
// transaction: the estimate is replaced by the real usage, never counted twice.
func (s *Store) RecordUsage(ctx context.Context, u Usage) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ts := now()
		if u.ReservationID != 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM usage_reservations WHERE workspace_id = ? AND id = ?`, u.WorkspaceID, u.ReservationID); err != nil {
				return err
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO ai_usage (workspace_id, user_id, chat_session_id, message_id, document_id, kind, model,
			input_tokens, output_tokens, duration_ms, cost_micros, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			nullString(u.WorkspaceID), nullInt(u.UserID), nullString(u.ChatSessionID), nullString(u.MessageID), nullString(u.DocumentID),
			u.Kind, u.Model, u.InputTokens, u.OutputTokens, u.Duration.Milliseconds(), u.CostMicros, ts).Scan(&id); err != nil {
			return err
		}
		if u.UserID != 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_costs (user_id, total_cost_micros, input_tokens, output_tokens, updated_at)
				SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)
				ON CONFLICT (user_id) DO UPDATE SET total_cost_micros = total_cost_micros + excluded.total_cost_micros,
				input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
				updated_at = excluded.updated_at`, u.UserID, u.CostMicros, u.InputTokens, u.OutputTokens, ts, u.UserID); err != nil {
				return err
			}
		}
		if u.WorkspaceID != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO workspace_costs (workspace_id, total_cost_micros, input_tokens, output_tokens, updated_at)
				VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (workspace_id) DO UPDATE SET total_cost_micros = total_cost_micros + excluded.total_cost_micros,
				input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
				updated_at = excluded.updated_at`, u.WorkspaceID, u.CostMicros, u.InputTokens, u.OutputTokens, ts); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

// CostTotals are cumulative usage figures.
type CostTotals struct {
	CostMicros   int64
	InputTokens  int64
	OutputTokens int64
}

// UserCosts returns a user's running totals (zero when they have none).
func (s *Store) UserCosts(ctx context.Context, userID int64) (CostTotals, error) {
	var c CostTotals
	err := s.r.QueryRowContext(ctx, `SELECT total_cost_micros, input_tokens, output_tokens FROM user_costs WHERE user_id = ?`, userID).
		Scan(&c.CostMicros, &c.InputTokens, &c.OutputTokens)
	if err == sql.ErrNoRows {
		err = nil
	}
	return c, err
}

// WorkspaceCosts returns a workspace's running totals (zero when it has none).
func (s *Store) WorkspaceCosts(ctx context.Context, wsID string) (CostTotals, error) {
	var c CostTotals
	err := s.r.QueryRowContext(ctx, `SELECT total_cost_micros, input_tokens, output_tokens FROM workspace_costs WHERE workspace_id = ?`, wsID).
		Scan(&c.CostMicros, &c.InputTokens, &c.OutputTokens)
	if err == sql.ErrNoRows {
		err = nil
	}
	return c, err
}

// Allowance is what a workspace may use from Since on (0 = unlimited).
type Allowance struct {
	Since        time.Time
	Tokens       int64
	CreditMicros int64
}

// Hold is the estimated usage of one model call, reserved until TTL passes.
type Hold struct {
	Tokens     int64
	CostMicros int64
	TTL        time.Duration
}

// QuotaError refuses a hold that does not fit the allowance. Credit tells
// which limit it is; the figures are in tokens or micro-units accordingly.
type QuotaError struct {
	Credit                      bool
	Used, Reserved, Want, Limit int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("usage limit: %d used + %d reserved + %d wanted > %d", e.Used, e.Reserved, e.Want, e.Limit)
}

// ReserveUsage holds h against the workspace's allowance: inside one write
// transaction (BEGIN IMMEDIATE, so reservations are serialised) the period's
// recorded usage plus the live reservations plus h must fit each limit, else a
// *QuotaError. Expired reservations (a process that died mid-call) no longer
// count and are swept here.
func (s *Store) ReserveUsage(ctx context.Context, wsID string, a Allowance, h Hold) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ts := time.Now()
		if _, err := tx.ExecContext(ctx, `DELETE FROM usage_reservations WHERE workspace_id = ? AND expires_at <= ?`, wsID, formatTime(ts)); err != nil {
			return err
		}
		var usedTok, usedCost, resTok, resCost int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(input_tokens + output_tokens), 0), coalesce(sum(cost_micros), 0)
			FROM ai_usage WHERE workspace_id = ? AND created_at >= ?`, wsID, formatTime(a.Since)).Scan(&usedTok, &usedCost); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(tokens), 0), coalesce(sum(cost_micros), 0) FROM usage_reservations WHERE workspace_id = ?`,
			wsID).Scan(&resTok, &resCost); err != nil {
			return err
		}
		if a.Tokens > 0 && usedTok+resTok+h.Tokens > a.Tokens {
			return &QuotaError{Used: usedTok, Reserved: resTok, Want: h.Tokens, Limit: a.Tokens}
		}
		if a.CreditMicros > 0 && usedCost+resCost+h.CostMicros > a.CreditMicros {
			return &QuotaError{Credit: true, Used: usedCost, Reserved: resCost, Want: h.CostMicros, Limit: a.CreditMicros}
		}
		return tx.QueryRowContext(ctx, `INSERT INTO usage_reservations (workspace_id, tokens, cost_micros, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, wsID, h.Tokens, h.CostMicros, formatTime(ts), formatTime(ts.Add(h.TTL))).Scan(&id)
	})
	return id, err
}

// ReleaseUsage drops a reservation whose call used nothing (it failed or was refused).
func (s *Store) ReleaseUsage(ctx context.Context, wsID string, id int64) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM usage_reservations WHERE workspace_id = ? AND id = ?`, wsID, id)
	return err
}

// ClearReservations drops every reservation: at start, none of them belongs to
// a call still running (one process serves the instance), so the workspaces
// get back what a crash left held instead of waiting for the expiry.
func (s *Store) ClearReservations(ctx context.Context) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM usage_reservations`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

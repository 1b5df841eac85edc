package store

import (
	"context"
	"database/sql"
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
}

// RecordUsage writes an ai_usage row and adds it to the user's and the
// workspace's running totals, in one transaction so the totals always equal
// the sum of the rows.
func (s *Store) RecordUsage(ctx context.Context, u Usage) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ts := now()
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

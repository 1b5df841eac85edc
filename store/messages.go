package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Message statuses.
const (
	MsgComplete  = "complete"
	MsgStreaming = "streaming"
	MsgStopped   = "stopped"
	MsgFailed    = "failed"
)

// Message is one turn of a chat.
type Message struct {
	ID             string
	WorkspaceID    string
	ChatID         string
	ParentID       string
	Role           string
	Content        string
	SequenceNumber int
	Model          string
	Citations      json.RawMessage
	InputTokens    int
	OutputTokens   int
	Status         string
	Error          string
	CreatedAt      time.Time
}

const msgCols = `id, workspace_id, chat_session_id, coalesce(parent_id, ''), role, content, sequence_number, model, citations,
	input_tokens, output_tokens, status, error, created_at`

func scanMessage(row interface{ Scan(...any) error }) (*Message, error) {
	var m Message
	var cites, created string
	if err := row.Scan(&m.ID, &m.WorkspaceID, &m.ChatID, &m.ParentID, &m.Role, &m.Content, &m.SequenceNumber, &m.Model, &cites,
		&m.InputTokens, &m.OutputTokens, &m.Status, &m.Error, &created); err != nil {
		return nil, notFound(err)
	}
	m.Citations = json.RawMessage(cites)
	m.CreatedAt = parseTime(created)
	return &m, nil
}

// AddMessage appends a message. Its sequence number is taken inside the write
// transaction (one writer, BEGIN IMMEDIATE), so concurrent posts to one chat get
// distinct, gap-free numbers; the UNIQUE index would catch any slip.
func (s *Store) AddMessage(ctx context.Context, wsID, chatID, role, content, parentID, model, status string) (*Message, error) {
	var m *Message
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = scanMessage(tx.QueryRowContext(ctx, `INSERT INTO messages (id, workspace_id, chat_session_id, parent_id, role, content, sequence_number, model, status, created_at)
			SELECT ?, ?, c.id, ?, ?, ?, coalesce((SELECT max(sequence_number) FROM messages WHERE chat_session_id = c.id), 0) + 1, ?, ?, ?
			FROM chat_sessions c WHERE c.workspace_id = ? AND c.id = ?
			RETURNING `+msgCols, uuid.NewString(), wsID, nullString(parentID), role, content, model, status, now(), wsID, chatID))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE chat_sessions SET updated_at = ? WHERE workspace_id = ? AND id = ?`, now(), wsID, chatID)
		return err
	})
	return m, err
}

// ListMessages returns up to limit messages of a chat in sequence order,
// starting after sequence number afterSeq (0 = from the first).
func (s *Store) ListMessages(ctx context.Context, wsID, chatID string, afterSeq, limit int) ([]Message, error) {
	return s.queryMessages(ctx, `SELECT `+msgCols+` FROM messages WHERE workspace_id = ? AND chat_session_id = ? AND sequence_number > ?
		ORDER BY sequence_number LIMIT ?`, wsID, chatID, afterSeq, limit)
}

// LatestMessages returns the last limit messages of a chat before sequence
// number beforeSeq, in sequence order: the recent history a reply is given and
// the part of a long transcript a page shows.
func (s *Store) LatestMessages(ctx context.Context, wsID, chatID string, beforeSeq, limit int) ([]Message, error) {
	return s.queryMessages(ctx, `SELECT * FROM (SELECT `+msgCols+` FROM messages WHERE workspace_id = ? AND chat_session_id = ? AND sequence_number < ?
		ORDER BY sequence_number DESC LIMIT ?) ORDER BY sequence_number`, wsID, chatID, beforeSeq, limit)
}

func (s *Store) queryMessages(ctx context.Context, query string, args ...any) ([]Message, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// GetMessage loads one message of a chat.
func (s *Store) GetMessage(ctx context.Context, wsID, chatID, id string) (*Message, error) {
	return scanMessage(s.r.QueryRowContext(ctx, `SELECT `+msgCols+` FROM messages WHERE workspace_id = ? AND chat_session_id = ? AND id = ?`, wsID, chatID, id))
}

// MessageResult is the outcome of a generated reply.
type MessageResult struct {
	Content      string
	Status       string
	Error        string
	Citations    json.RawMessage
	InputTokens  int
	OutputTokens int
}

// FinishMessage stores a reply's final (or partial) content and state.
func (s *Store) FinishMessage(ctx context.Context, wsID, id string, r MessageResult) error {
	cites := string(r.Citations)
	if cites == "" {
		cites = "[]"
	}
	return affected(s.w.ExecContext(ctx, `UPDATE messages SET content = ?, status = ?, error = ?, citations = ?, input_tokens = ?, output_tokens = ?
		WHERE workspace_id = ? AND id = ?`, r.Content, r.Status, r.Error, cites, r.InputTokens, r.OutputTokens, wsID, id))
}

// EditMessage replaces a user message's content and drops every later message.
func (s *Store) EditMessage(ctx context.Context, wsID, chatID, id, content string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var seq int
		if err := tx.QueryRowContext(ctx, `SELECT sequence_number FROM messages WHERE workspace_id = ? AND chat_session_id = ? AND id = ? AND role = 'user'`,
			wsID, chatID, id).Scan(&seq); err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE workspace_id = ? AND chat_session_id = ? AND sequence_number > ?`, wsID, chatID, seq); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET content = ? WHERE id = ?`, content, id)
		return err
	})
}

// DeleteMessage removes one message (regenerate drops the last reply).
func (s *Store) DeleteMessage(ctx context.Context, wsID, id string) error {
	return affected(s.w.ExecContext(ctx, `DELETE FROM messages WHERE workspace_id = ? AND id = ?`, wsID, id))
}

// FailStreamingMessages marks replies left streaming by a dead process as failed.
func (s *Store) FailStreamingMessages(ctx context.Context) (int64, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE messages SET status = 'failed', error = 'the server stopped while this reply was being written' WHERE status = 'streaming'`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

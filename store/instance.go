package store

import (
	"context"
	"encoding/json"
	"time"
)

// GetSetting decodes the JSON value stored under key into v; ErrNotFound if unset.
func (s *Store) GetSetting(ctx context.Context, key string, v any) error {
	var raw string
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&raw); err != nil {
		return notFound(err)
	}
	return json.Unmarshal([]byte(raw), v)
}

// PutSetting stores v as JSON under key.
func (s *Store) PutSetting(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, string(raw), now())
	return err
}

// Mail is one outbox entry.
type Mail struct {
	ID        int64
	To        string
	Subject   string
	Body      string
	Sent      bool
	Error     string
	CreatedAt time.Time
}

// AddMail records a mail in the outbox.
func (s *Store) AddMail(ctx context.Context, to, subject, body string) (int64, error) {
	var id int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO outbox (to_addr, subject, body, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		to, subject, body, now()).Scan(&id)
	return id, err
}

// MarkMail records the outcome of sending a mail.
func (s *Store) MarkMail(ctx context.Context, id int64, sent bool, errText string) error {
	return affected(s.w.ExecContext(ctx, `UPDATE outbox SET sent = ?, error = ? WHERE id = ?`, boolInt(sent), errText, id))
}

// ListMail pages through the outbox, newest first.
func (s *Store) ListMail(ctx context.Context, beforeID int64, limit int) ([]Mail, error) {
	if beforeID <= 0 {
		beforeID = 1 << 62
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, to_addr, subject, body, sent, error, created_at FROM outbox WHERE id < ? ORDER BY id DESC LIMIT ?`, beforeID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		var m Mail
		var created string
		if err := rows.Scan(&m.ID, &m.To, &m.Subject, &m.Body, &m.Sent, &m.Error, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = parseTime(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

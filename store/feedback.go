package store

import (
	"context"
	"time"
)

// Feedback is a user's thumbs up (1) or down (-1) on an answer, with a note.
type Feedback struct {
	MessageID string
	UserID    int64
	Rating    int
	Note      string
	UpdatedAt time.Time
}

// SetFeedback records (or replaces) a user's rating of an assistant message of
// the chat; a message of another chat or workspace, or a question, is ErrNotFound.
func (s *Store) SetFeedback(ctx context.Context, wsID, chatID, msgID string, userID int64, rating int, note string) (*Feedback, error) {
	t := now()
	res, err := s.w.ExecContext(ctx, `INSERT INTO message_feedback (workspace_id, message_id, user_id, rating, note, created_at, updated_at)
		SELECT m.workspace_id, m.id, ?, ?, ?, ?, ? FROM messages m
		WHERE m.workspace_id = ? AND m.chat_session_id = ? AND m.id = ? AND m.role = 'assistant'
		ON CONFLICT (message_id, user_id) DO UPDATE SET rating = excluded.rating, note = excluded.note, updated_at = excluded.updated_at`,
		userID, rating, note, t, t, wsID, chatID, msgID)
	if err := affected(res, err); err != nil {
		return nil, err
	}
	return &Feedback{MessageID: msgID, UserID: userID, Rating: rating, Note: note, UpdatedAt: parseTime(t)}, nil
}

// DeleteFeedback withdraws a user's rating of a message of the chat.
func (s *Store) DeleteFeedback(ctx context.Context, wsID, chatID, msgID string, userID int64) error {
	return affected(s.w.ExecContext(ctx, `DELETE FROM message_feedback WHERE workspace_id = ? AND user_id = ? AND message_id IN
		(SELECT id FROM messages WHERE workspace_id = ? AND chat_session_id = ? AND id = ?)`, wsID, userID, wsID, chatID, msgID))
}

// FeedbackOf is the user's ratings of the chat's messages, by message id.
func (s *Store) FeedbackOf(ctx context.Context, wsID, chatID string, userID int64) (map[string]Feedback, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT f.message_id, f.rating, f.note, f.updated_at FROM message_feedback f
		JOIN messages m ON m.id = f.message_id AND m.workspace_id = f.workspace_id
		WHERE f.workspace_id = ? AND m.chat_session_id = ? AND f.user_id = ?`, wsID, chatID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Feedback{}
	for rows.Next() {
		f := Feedback{UserID: userID}
		var t string
		if err := rows.Scan(&f.MessageID, &f.Rating, &f.Note, &t); err != nil {
			return nil, err
		}
		f.UpdatedAt = parseTime(t)
		out[f.MessageID] = f
	}
	return out, rows.Err()
}

// FeedbackTally counts the ratings of one group of answers.
type FeedbackTally struct {
	Name     string // the model, or the knowledge base ("" = answers without one)
	Up, Down int
}

// FeedbackNote is a rating that came with a note.
type FeedbackNote struct {
	Rating    int
	Note      string
	Model     string
	UserName  string
	UpdatedAt time.Time
}

// FeedbackSummary is a workspace's answer ratings per model and per knowledge
// base (those attached to the answer's chat), and the latest notes.
type FeedbackSummary struct {
	ByModel, ByKnowledgeBase []FeedbackTally
	Notes                    []FeedbackNote
}

// SummarizeFeedback tallies a workspace's ratings (see FeedbackSummary).
func (s *Store) SummarizeFeedback(ctx context.Context, wsID string, notes int) (*FeedbackSummary, error) {
	var out FeedbackSummary
	var err error
	if out.ByModel, err = s.tallies(ctx, `SELECT m.model, sum(f.rating = 1), sum(f.rating = -1) FROM message_feedback f
		JOIN messages m ON m.id = f.message_id WHERE f.workspace_id = ? GROUP BY m.model ORDER BY m.model`, wsID); err != nil {
		return nil, err
	}
	if out.ByKnowledgeBase, err = s.tallies(ctx, `SELECT coalesce(kb.name, ''), sum(f.rating = 1), sum(f.rating = -1) FROM message_feedback f
		JOIN messages m ON m.id = f.message_id
		LEFT JOIN chat_session_knowledge_bases ck ON ck.chat_session_id = m.chat_session_id
		LEFT JOIN knowledge_bases kb ON kb.id = ck.knowledge_base_id
		WHERE f.workspace_id = ? GROUP BY kb.id ORDER BY kb.name IS NULL, kb.name`, wsID); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT f.rating, f.note, m.model, coalesce(nullif(u.name, ''), u.email), f.updated_at FROM message_feedback f
		JOIN messages m ON m.id = f.message_id JOIN users u ON u.id = f.user_id
		WHERE f.workspace_id = ? AND f.note <> '' ORDER BY f.updated_at DESC LIMIT ?`, wsID, notes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n FeedbackNote
		var t string
		if err := rows.Scan(&n.Rating, &n.Note, &n.Model, &n.UserName, &t); err != nil {
			return nil, err
		}
		n.UpdatedAt = parseTime(t)
		out.Notes = append(out.Notes, n)
	}
	return &out, rows.Err()
}

func (s *Store) tallies(ctx context.Context, query, wsID string) ([]FeedbackTally, error) {
	rows, err := s.r.QueryContext(ctx, query, wsID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FeedbackTally
	for rows.Next() {
		var t FeedbackTally
		if err := rows.Scan(&t.Name, &t.Up, &t.Down); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

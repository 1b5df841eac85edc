package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
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
	Steps          json.RawMessage // an agent reply's tool calls and results, a JSON list of messages
	InputTokens    int
	OutputTokens   int
	Status         string
	Error          string
	CreatedAt      time.Time
}

const msgCols = `id, workspace_id, chat_session_id, coalesce(parent_id, ''), role, content, sequence_number, model, citations,
	input_tokens, output_tokens, status, error, created_at, steps`

func scanMessage(row interface{ Scan(...any) error }) (*Message, error) {
	var m Message
	var cites, created, steps string
	if err := row.Scan(&m.ID, &m.WorkspaceID, &m.ChatID, &m.ParentID, &m.Role, &m.Content, &m.SequenceNumber, &m.Model, &cites,
		&m.InputTokens, &m.OutputTokens, &m.Status, &m.Error, &created, &steps); err != nil {
		return nil, notFound(err)
	}
	m.Citations, m.Steps = json.RawMessage(cites), json.RawMessage(steps)
	m.CreatedAt = parseTime(created)
	return &m, nil
}

// AddMessage stores a message under parentID ("" = a root) and makes it the
// chat's current leaf: the branch it starts or continues is the one shown. Its
// sequence number is taken inside the write transaction (one writer, BEGIN
// IMMEDIATE), so concurrent posts to one chat get distinct, gap-free numbers;
// the UNIQUE index would catch any slip. A parent of another chat is refused.
func (s *Store) AddMessage(ctx context.Context, wsID, chatID, role, content, parentID, model, status string) (*Message, error) {
	return s.addMessage(ctx, wsID, chatID, role, content, &parentID, model, status)
}

// AppendMessage stores a message after the chat's current leaf (a new
// question at the end of the branch being read) and makes it the leaf.
func (s *Store) AppendMessage(ctx context.Context, wsID, chatID, role, content, model, status string) (*Message, error) {
	return s.addMessage(ctx, wsID, chatID, role, content, nil, model, status)
}

func (s *Store) addMessage(ctx context.Context, wsID, chatID, role, content string, parentID *string, model, status string) (*Message, error) {
	var m *Message
	err := s.tx(ctx, func(tx *sql.Tx) error {
		parent := ""
		if parentID != nil {
			parent = *parentID
		} else {
			var err error
			if parent, err = currentLeaf(ctx, tx, wsID, chatID); err != nil {
				return err
			}
		}
		if parent != "" {
			var ok int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE workspace_id = ? AND chat_session_id = ? AND id = ?`, wsID, chatID, parent).Scan(&ok); err != nil {
				return notFound(err)
			}
		}
		var err error
		t := now()
		m, err = scanMessage(tx.QueryRowContext(ctx, `INSERT INTO messages (id, workspace_id, chat_session_id, parent_id, role, content, sequence_number, model, status, created_at, chosen_at)
			SELECT ?, ?, c.id, ?, ?, ?, coalesce((SELECT max(sequence_number) FROM messages WHERE chat_session_id = c.id), 0) + 1, ?, ?, ?, ?
			FROM chat_sessions c WHERE c.workspace_id = ? AND c.id = ?
			RETURNING `+msgCols, uuid.NewString(), wsID, nullString(parent), role, content, model, status, t, t, wsID, chatID))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE chat_sessions SET updated_at = ?, current_leaf_id = ? WHERE workspace_id = ? AND id = ?`, now(), m.ID, wsID, chatID)
		return err
	})
	return m, err
}

// currentLeaf is the chat's remembered leaf when it still exists, else its
// last message ("" for an empty chat).
func currentLeaf(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, wsID, chatID string) (string, error) {
	var leaf string
	err := q.QueryRowContext(ctx, `SELECT coalesce(
			(SELECT m.id FROM messages m JOIN chat_sessions c ON c.id = m.chat_session_id AND m.id = c.current_leaf_id WHERE c.workspace_id = ? AND c.id = ?),
			(SELECT id FROM messages WHERE workspace_id = ? AND chat_session_id = ? ORDER BY sequence_number DESC LIMIT 1), '')`,
		wsID, chatID, wsID, chatID).Scan(&leaf)
	return leaf, err
}

// Branch is a message on a chat's current path with its siblings: the other
// versions (edits, regenerations) of the same turn, oldest first.
type Branch struct {
	Message
	Siblings []string // ids of every version of this turn, this one included
	Index    int      // this message's place in Siblings
}

// node is a message's place in its chat's tree.
type node struct {
	id, parent string
	seq        int
	chosen     string // when it was last written or switched to (sortable text)
}

// tree loads the shape of a chat (ids and parents only, never content).
func (s *Store) tree(ctx context.Context, wsID, chatID string) (map[string]node, map[string][]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, coalesce(parent_id, ''), sequence_number, chosen_at FROM messages
		WHERE workspace_id = ? AND chat_session_id = ? ORDER BY sequence_number`, wsID, chatID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	nodes := map[string]node{}
	children := map[string][]string{} // parent id ("" = roots) → children in sequence order
	for rows.Next() {
		var n node
		if err := rows.Scan(&n.id, &n.parent, &n.seq, &n.chosen); err != nil {
			return nil, nil, err
		}
		nodes[n.id] = n
		children[n.parent] = append(children[n.parent], n.id)
	}
	return nodes, children, rows.Err()
}

// pathTo is the ids from the root down to leaf, oldest first. A parent is
// always older than its children (it must exist when they are stored), so
// the tree has no cycles.
func pathTo(nodes map[string]node, leaf string) []string {
	var ids []string
	for id := leaf; id != ""; id = nodes[id].parent {
		if _, ok := nodes[id]; !ok {
			break // an id of no message of this chat has no path
		}
		ids = append(ids, id)
	}
	slices.Reverse(ids)
	return ids
}

// PathPage selects a page of a chat's current path.
type PathPage struct {
	AfterSeq int  // messages after this sequence number (0 = from the first)
	Limit    int  // at most this many
	Latest   bool // the last Limit messages instead
}

// CurrentPath returns a page of the chat's current path (root to current leaf) in
// order, each message with its siblings. Sequence numbers grow along a path,
// so they page it as they page a flat transcript.
func (s *Store) CurrentPath(ctx context.Context, wsID, chatID string, p PathPage) ([]Branch, error) {
	leaf, err := currentLeaf(ctx, s.r, wsID, chatID)
	if err != nil {
		return nil, err
	}
	return s.branchPage(ctx, wsID, chatID, leaf, p)
}

// Thread returns the last limit messages of the path ending at leafID
// (inclusive, oldest first): the history a reply to a question is given.
func (s *Store) Thread(ctx context.Context, wsID, chatID, leafID string, limit int) ([]Message, error) {
	if leafID == "" {
		return nil, nil
	}
	bs, err := s.branchPage(ctx, wsID, chatID, leafID, PathPage{Latest: true, Limit: limit})
	out := make([]Message, len(bs))
	for i := range bs {
		out[i] = bs[i].Message
	}
	return out, err
}

func (s *Store) branchPage(ctx context.Context, wsID, chatID, leaf string, p PathPage) ([]Branch, error) {
	nodes, children, err := s.tree(ctx, wsID, chatID)
	if err != nil {
		return nil, err
	}
	ids := pathTo(nodes, leaf)
	if p.Latest {
		ids = ids[max(0, len(ids)-p.Limit):]
	} else {
		i, _ := slices.BinarySearchFunc(ids, p.AfterSeq+1, func(id string, seq int) int { return nodes[id].seq - seq })
		ids = ids[i:min(len(ids), i+p.Limit)]
	}
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{wsID, chatID}
	for _, id := range ids {
		args = append(args, id)
	}
	msgs, err := s.queryMessages(ctx, `SELECT `+msgCols+` FROM messages WHERE workspace_id = ? AND chat_session_id = ? AND id IN (?`+
		strings.Repeat(", ?", len(ids)-1)+`) ORDER BY sequence_number`, args...)
	if err != nil {
		return nil, err
	}
	out := make([]Branch, len(msgs))
	for i, m := range msgs {
		sib := children[m.ParentID]
		out[i] = Branch{Message: m, Siblings: sib, Index: slices.Index(sib, m.ID)}
	}
	return out, nil
}

// SwitchBranch makes the branch through message id the chat's current path:
// from id down, at each later turn the version last chosen there (written or
// switched to), to its leaf. It returns that leaf.
func (s *Store) SwitchBranch(ctx context.Context, wsID, chatID, id string) (string, error) {
	nodes, children, err := s.tree(ctx, wsID, chatID)
	if err != nil {
		return "", err
	}
	if _, ok := nodes[id]; !ok {
		return "", ErrNotFound
	}
	leaf := id
	// A parent is always older than its children, so this walk ends.
	for kids := children[leaf]; len(kids) > 0; kids = children[leaf] {
		leaf = slices.MaxFunc(kids, func(a, b string) int {
			return cmp.Or(strings.Compare(nodes[a].chosen, nodes[b].chosen), nodes[a].seq-nodes[b].seq)
		})
	}
	return leaf, s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET chosen_at = ? WHERE workspace_id = ? AND chat_session_id = ? AND id = ?`, now(), wsID, chatID, id); err != nil {
			return err
		}
		return affected(tx.ExecContext(ctx, `UPDATE chat_sessions SET current_leaf_id = ? WHERE workspace_id = ? AND id = ?`, leaf, wsID, chatID))
	})
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
	Steps        json.RawMessage // nil: none
	InputTokens  int
	OutputTokens int
}

// FinishMessage stores a reply's final (or partial) content and state.
func (s *Store) FinishMessage(ctx context.Context, wsID, id string, r MessageResult) error {
	cites := string(r.Citations)
	if cites == "" {
		cites = "[]"
	}
	steps := string(r.Steps)
	if steps == "" {
		steps = "[]"
	}
	return affected(s.w.ExecContext(ctx, `UPDATE messages SET content = ?, status = ?, error = ?, citations = ?, input_tokens = ?, output_tokens = ?, steps = ?
		WHERE workspace_id = ? AND id = ?`, r.Content, r.Status, r.Error, cites, r.InputTokens, r.OutputTokens, steps, wsID, id))
}

// FailStreamingMessages marks replies left streaming by a dead process as failed.
func (s *Store) FailStreamingMessages(ctx context.Context) (int64, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE messages SET status = 'failed', error = 'the server stopped while this reply was being written' WHERE status = 'streaming'`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Chat statuses.
const (
	ChatActive   = "active"
	ChatArchived = "archived"
)

// Chat is a chat session of one member in one workspace.
type Chat struct {
	ID               string
	WorkspaceID      string
	UserID           int64
	OwnerName        string
	FolderID         int64 // 0 = no folder
	Name             string
	Model            string
	SystemPrompt     string
	Temperature      *float64
	TopP             *float64
	MaxTokens        *int
	AgentMode        *bool // nil: on when the model can call tools
	Status           string
	PublicID         string // "" = not published
	KnowledgeBaseIDs []string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// ChatFields are the settable fields of a chat; nil leaves a field unchanged.
type ChatFields struct {
	Name             *string
	Model            *string
	SystemPrompt     *string
	Temperature      **float64
	TopP             **float64
	MaxTokens        **int
	AgentMode        **bool
	FolderID         *int64 // 0 clears
	Status           *string
	KnowledgeBaseIDs *[]string
}

const chatCols = `c.id, c.workspace_id, c.user_id, coalesce(nullif(u.name, ''), u.email), coalesce(c.folder_id, 0), c.name, c.model, c.system_prompt,
	c.temperature, c.top_p, c.max_tokens, c.status, coalesce(c.public_id, ''), c.created_at, c.updated_at, c.agent_mode`

const chatFrom = ` FROM chat_sessions c JOIN users u ON u.id = c.user_id `

func scanChat(row interface{ Scan(...any) error }) (*Chat, error) {
	var c Chat
	var temp, topP sql.NullFloat64
	var maxTok sql.NullInt64
	var agent sql.NullBool
	var created, updated string
	if err := row.Scan(&c.ID, &c.WorkspaceID, &c.UserID, &c.OwnerName, &c.FolderID, &c.Name, &c.Model, &c.SystemPrompt,
		&temp, &topP, &maxTok, &c.Status, &c.PublicID, &created, &updated, &agent); err != nil {
		return nil, notFound(err)
	}
	if agent.Valid {
		c.AgentMode = &agent.Bool
	}
	if temp.Valid {
		c.Temperature = &temp.Float64
	}
	if topP.Valid {
		c.TopP = &topP.Float64
	}
	if maxTok.Valid {
		n := int(maxTok.Int64)
		c.MaxTokens = &n
	}
	c.CreatedAt, c.UpdatedAt = parseTime(created), parseTime(updated)
	return &c, nil
}

// ErrInvalidFolder: a chat's folder must be its owner's folder in the same workspace.
var ErrInvalidFolder = errors.New("invalid folder")

// ErrInvalidKB: a knowledge base id that is not in the workspace.
var ErrInvalidKB = errors.New("invalid knowledge base")

// CreateChat creates a chat for userID.
func (s *Store) CreateChat(ctx context.Context, wsID string, userID int64, f ChatFields) (*Chat, error) {
	id := uuid.NewString()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ts := now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_sessions (id, workspace_id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			id, wsID, userID, ts, ts); err != nil {
			return err
		}
		return updateChat(ctx, tx, wsID, id, userID, f)
	})
	if err != nil {
		return nil, err
	}
	return s.GetChat(ctx, wsID, id)
}

// updateChat applies the set fields inside a transaction.
func updateChat(ctx context.Context, tx *sql.Tx, wsID, id string, ownerID int64, f ChatFields) error {
	set := []string{"updated_at = ?"}
	args := []any{now()}
	add := func(col string, v any) { set = append(set, col+" = ?"); args = append(args, v) }
	if f.Name != nil {
		add("name", *f.Name)
	}
	if f.Model != nil {
		add("model", *f.Model)
	}
	if f.SystemPrompt != nil {
		add("system_prompt", *f.SystemPrompt)
	}
	if f.Temperature != nil {
		add("temperature", *f.Temperature)
	}
	if f.TopP != nil {
		add("top_p", *f.TopP)
	}
	if f.MaxTokens != nil {
		add("max_tokens", *f.MaxTokens)
	}
	if f.AgentMode != nil {
		add("agent_mode", *f.AgentMode)
	}
	if f.Status != nil {
		add("status", *f.Status)
	}
	if f.FolderID != nil {
		if *f.FolderID != 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM folders WHERE workspace_id = ? AND user_id = ? AND id = ?`, wsID, ownerID, *f.FolderID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return ErrInvalidFolder
			}
		}
		add("folder_id", nullInt(*f.FolderID))
	}
	args = append(args, wsID, id)
	// Column names above are constants; values are bound.
	if err := affected(tx.ExecContext(ctx, `UPDATE chat_sessions SET `+strings.Join(set, ", ")+` WHERE workspace_id = ? AND id = ?`, args...)); err != nil {
		return err
	}
	if f.KnowledgeBaseIDs == nil {
		return nil
	}
	ids := *f.KnowledgeBaseIDs
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM knowledge_bases WHERE workspace_id = ? AND id IN (SELECT value FROM json_each(?))`,
		wsID, jsonIDs(ids)).Scan(&n); err != nil {
		return err
	}
	if n != len(dedupe(ids)) {
		return ErrInvalidKB
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM chat_session_knowledge_bases WHERE workspace_id = ? AND chat_session_id = ?`, wsID, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO chat_session_knowledge_bases (workspace_id, chat_session_id, knowledge_base_id, created_at)
		SELECT ?, ?, value, ? FROM (SELECT DISTINCT value FROM json_each(?))`, wsID, id, now(), jsonIDs(ids))
	return err
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// UpdateChat changes a chat's fields.
func (s *Store) UpdateChat(ctx context.Context, wsID, id string, f ChatFields) (*Chat, error) {
	c, err := s.GetChat(ctx, wsID, id)
	if err != nil {
		return nil, err
	}
	if err := s.tx(ctx, func(tx *sql.Tx) error { return updateChat(ctx, tx, wsID, id, c.UserID, f) }); err != nil {
		return nil, err
	}
	return s.GetChat(ctx, wsID, id)
}

// GetChat loads a chat of the workspace with its knowledge bases.
func (s *Store) GetChat(ctx context.Context, wsID, id string) (*Chat, error) {
	c, err := scanChat(s.r.QueryRowContext(ctx, `SELECT `+chatCols+chatFrom+`WHERE c.workspace_id = ? AND c.id = ?`, wsID, id))
	if err != nil {
		return nil, err
	}
	c.KnowledgeBaseIDs, err = s.chatKBs(ctx, wsID, id)
	return c, err
}

func (s *Store) chatKBs(ctx context.Context, wsID, chatID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT knowledge_base_id FROM chat_session_knowledge_bases WHERE workspace_id = ? AND chat_session_id = ? ORDER BY id`, wsID, chatID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ChatFilter narrows a chat list.
type ChatFilter struct {
	FolderID *int64 // nil = any, 0 = no folder
	Query    string // in the name or any message
	Status   string // "" = any
	Before   string // cursor: updated_at|id of the last chat seen
	Limit    int
}

// ListChats lists userID's chats in the workspace, most recently active first.
func (s *Store) ListChats(ctx context.Context, wsID string, userID int64, f ChatFilter) ([]Chat, error) {
	q := `SELECT ` + chatCols + chatFrom + `WHERE c.workspace_id = ? AND c.user_id = ?`
	args := []any{wsID, userID}
	if f.FolderID != nil {
		q += ` AND coalesce(c.folder_id, 0) = ?`
		args = append(args, *f.FolderID)
	}
	if f.Status != "" {
		q += ` AND c.status = ?`
		args = append(args, f.Status)
	}
	if f.Query != "" {
		like := "%" + likeEscape(f.Query) + "%"
		q += ` AND (c.name LIKE ? ESCAPE '\' OR EXISTS (SELECT 1 FROM messages m WHERE m.chat_session_id = c.id AND m.content LIKE ? ESCAPE '\'))`
		args = append(args, like, like)
	}
	if f.Before != "" {
		q += ` AND (c.updated_at || '|' || c.id) < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY c.updated_at DESC, c.id DESC LIMIT ?`
	args = append(args, f.Limit)
	return s.scanChats(ctx, q, args...)
}

func (s *Store) scanChats(ctx context.Context, q string, args ...any) ([]Chat, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Chat
	for rows.Next() {
		c, err := scanChat(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// ChatCursor is the list position of a chat.
func ChatCursor(c *Chat) string { return formatTime(c.UpdatedAt) + "|" + c.ID }

// DeleteChat deletes a chat with its messages and shares.
func (s *Store) DeleteChat(ctx context.Context, wsID, id string) error {
	return affected(s.w.ExecContext(ctx, `DELETE FROM chat_sessions WHERE workspace_id = ? AND id = ?`, wsID, id))
}

// Share is a read-only grant of a chat to another member.
type Share struct {
	ID        int64
	ChatID    string
	UserID    int64
	Email     string
	Name      string
	CreatedAt time.Time
}

// ShareChat grants userID (who must be a workspace member) read access.
func (s *Store) ShareChat(ctx context.Context, wsID, chatID string, userID, by int64) (*Share, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workspace_memberships WHERE workspace_id = ? AND user_id = ?`, wsID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.QueryRowContext(ctx, `INSERT INTO chat_session_shares (workspace_id, chat_session_id, user_id, created_by, created_at)
			SELECT ?, id, ?, ?, ? FROM chat_sessions WHERE workspace_id = ? AND id = ? RETURNING id`, wsID, userID, by, now(), wsID, chatID).Scan(&id)
	})
	if isUnique(err) {
		return nil, ErrConflict
	}
	if err != nil {
		return nil, notFound(err)
	}
	shares, err := s.ListShares(ctx, wsID, chatID)
	for i := range shares {
		if shares[i].ID == id {
			return &shares[i], err
		}
	}
	return nil, ErrNotFound
}

// ListShares lists who a chat is shared with.
func (s *Store) ListShares(ctx context.Context, wsID, chatID string) ([]Share, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT sh.id, sh.chat_session_id, u.id, u.email, u.name, sh.created_at FROM chat_session_shares sh
		JOIN users u ON u.id = sh.user_id WHERE sh.workspace_id = ? AND sh.chat_session_id = ? ORDER BY sh.id`, wsID, chatID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Share
	for rows.Next() {
		var sh Share
		var created string
		if err := rows.Scan(&sh.ID, &sh.ChatID, &sh.UserID, &sh.Email, &sh.Name, &created); err != nil {
			return nil, err
		}
		sh.CreatedAt = parseTime(created)
		out = append(out, sh)
	}
	return out, rows.Err()
}

// Unshare revokes a share of the chat.
func (s *Store) Unshare(ctx context.Context, wsID, chatID string, shareID int64) error {
	return affected(s.w.ExecContext(ctx, `DELETE FROM chat_session_shares WHERE workspace_id = ? AND chat_session_id = ? AND id = ?`, wsID, chatID, shareID))
}

// IsSharedWith reports whether the chat is shared with userID.
func (s *Store) IsSharedWith(ctx context.Context, wsID, chatID string, userID int64) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM chat_session_shares WHERE workspace_id = ? AND chat_session_id = ? AND user_id = ?`, wsID, chatID, userID).Scan(&n)
	return n > 0, err
}

// SharedWith lists chats other members shared with userID, across their workspaces.
func (s *Store) SharedWith(ctx context.Context, userID int64) ([]Chat, error) {
	return s.scanChats(ctx, `SELECT `+chatCols+chatFrom+`JOIN chat_session_shares sh ON sh.chat_session_id = c.id
		JOIN workspace_memberships m ON m.workspace_id = c.workspace_id AND m.user_id = sh.user_id
		WHERE sh.user_id = ? ORDER BY c.updated_at DESC LIMIT 200`, userID)
}

// SharedWithIn lists the chats of one workspace that other members shared with userID.
func (s *Store) SharedWithIn(ctx context.Context, wsID string, userID int64) ([]Chat, error) {
	return s.scanChats(ctx, `SELECT `+chatCols+chatFrom+`JOIN chat_session_shares sh ON sh.chat_session_id = c.id
		JOIN workspace_memberships m ON m.workspace_id = c.workspace_id AND m.user_id = sh.user_id
		WHERE c.workspace_id = ? AND sh.user_id = ? ORDER BY c.updated_at DESC LIMIT 200`, wsID, userID)
}

// SetPublicID publishes a chat under publicID, or unpublishes it with "".
func (s *Store) SetPublicID(ctx context.Context, wsID, chatID, publicID string) error {
	return affected(s.w.ExecContext(ctx, `UPDATE chat_sessions SET public_id = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`,
		nullString(publicID), now(), wsID, chatID))
}

// ChatByPublicID finds a published chat (any workspace: the id is the capability).
func (s *Store) ChatByPublicID(ctx context.Context, publicID string) (*Chat, error) {
	if publicID == "" {
		return nil, ErrNotFound
	}
	return scanChat(s.r.QueryRowContext(ctx, `SELECT `+chatCols+chatFrom+`WHERE c.public_id = ?`, publicID))
}

package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
)

// Workspace roles, from most to least powerful.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// RoleRank orders roles so that checks read "at least admin".
func RoleRank(role string) int {
	switch role {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// Workspace is a tenant. Role is the role of the user it was loaded for.
type Workspace struct {
	ID        string
	Name      string
	OwnerID   int64
	Plan      string
	Role      string
	CreatedAt time.Time
}

// Member is one person's membership in a workspace.
type Member struct {
	UserID   int64
	Email    string
	Name     string
	Role     string
	JoinedAt time.Time
	Managed  bool // made by a group rule (identity.go), which may change or remove it
}

// CreateWorkspace creates a workspace owned by userID.
func (s *Store) CreateWorkspace(ctx context.Context, userID int64, name string) (*Workspace, error) {
	ws := &Workspace{ID: uuid.NewString(), Name: name, OwnerID: userID, Plan: "self_hosted", Role: RoleOwner}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ts := now()
		ws.CreatedAt = parseTime(ts)
		if _, err := tx.ExecContext(ctx, `INSERT INTO workspaces (id, name, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			ws.ID, name, userID, ts, ts); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO workspace_memberships (workspace_id, user_id, role, created_at) VALUES (?, ?, 'owner', ?)`,
			ws.ID, userID, ts)
		return err
	})
	return ws, err
}

const wsCols = `w.id, w.name, w.owner_id, w.plan, m.role, w.created_at`

func scanWorkspace(row interface{ Scan(...any) error }) (*Workspace, error) {
	var w Workspace
	var created string
	if err := row.Scan(&w.ID, &w.Name, &w.OwnerID, &w.Plan, &w.Role, &created); err != nil {
		return nil, notFound(err)
	}
	w.CreatedAt = parseTime(created)
	return &w, nil
}

// WorkspaceForUser loads a workspace with the user's role in it; ErrNotFound
// when it does not exist or the user is not a member (the two are not told apart).
func (s *Store) WorkspaceForUser(ctx context.Context, wsID string, userID int64) (*Workspace, error) {
	return scanWorkspace(s.r.QueryRowContext(ctx, `SELECT `+wsCols+` FROM workspaces w
		JOIN workspace_memberships m ON m.workspace_id = w.id AND m.user_id = ? WHERE w.id = ?`, userID, wsID))
}

// ListWorkspaces pages through the user's workspaces by id.
func (s *Store) ListWorkspaces(ctx context.Context, userID int64, afterID string, limit int) ([]Workspace, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+wsCols+` FROM workspaces w
		JOIN workspace_memberships m ON m.workspace_id = w.id AND m.user_id = ?
		WHERE w.id > ? ORDER BY w.id LIMIT ?`, userID, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Workspace
	for rows.Next() {
		w, err := scanWorkspace(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
	}
	return out, rows.Err()
}

// RenameWorkspace changes the workspace's name.
func (s *Store) RenameWorkspace(ctx context.Context, wsID, name string) error {
	return affected(s.w.ExecContext(ctx, `UPDATE workspaces SET name = ?, updated_at = ? WHERE id = ?`, name, now(), wsID))
}

// DeleteWorkspace deletes the workspace and, by cascade, everything in it.
func (s *Store) DeleteWorkspace(ctx context.Context, wsID string) error {
	defer s.vx.dropWorkspace(wsID)
	return affected(s.w.ExecContext(ctx, `DELETE FROM workspaces WHERE id = ?`, wsID))
}

// TransferOwnership makes newOwner (an existing member) the owner; the old owner
// becomes an admin. ErrNotFound when newOwner is not a member.
func (s *Store) TransferOwnership(ctx context.Context, wsID string, newOwner int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var old int64
		if err := tx.QueryRowContext(ctx, `SELECT owner_id FROM workspaces WHERE id = ?`, wsID).Scan(&old); err != nil {
			return notFound(err)
		}
		if old == newOwner {
			return nil
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workspace_memberships WHERE workspace_id = ? AND user_id = ?`, wsID, newOwner).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		// Demote first: the partial unique index allows one owner at a time.
		if _, err := tx.ExecContext(ctx, `UPDATE workspace_memberships SET role = 'admin' WHERE workspace_id = ? AND user_id = ?`, wsID, old); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE workspace_memberships SET role = 'owner' WHERE workspace_id = ? AND user_id = ?`, wsID, newOwner); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE workspaces SET owner_id = ?, updated_at = ? WHERE id = ?`, newOwner, now(), wsID)
		return err
	})
}

const memberCols = `m.user_id, u.email, u.name, m.role, m.created_at, m.managed`

func scanMember(row interface{ Scan(...any) error }) (*Member, error) {
	var m Member
	var joined string
	if err := row.Scan(&m.UserID, &m.Email, &m.Name, &m.Role, &joined, &m.Managed); err != nil {
		return nil, notFound(err)
	}
	m.JoinedAt = parseTime(joined)
	return &m, nil
}

// ListMembers pages through a workspace's members by user id.
func (s *Store) ListMembers(ctx context.Context, wsID string, afterUserID int64, limit int) ([]Member, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+memberCols+` FROM workspace_memberships m JOIN users u ON u.id = m.user_id
		WHERE m.workspace_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?`, wsID, afterUserID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// GetMember loads one membership.
func (s *Store) GetMember(ctx context.Context, wsID string, userID int64) (*Member, error) {
	return scanMember(s.r.QueryRowContext(ctx, `SELECT `+memberCols+` FROM workspace_memberships m JOIN users u ON u.id = m.user_id
		WHERE m.workspace_id = ? AND m.user_id = ?`, wsID, userID))
}

// AddMember adds a user with a role; ErrConflict if already a member.
func (s *Store) AddMember(ctx context.Context, wsID string, userID int64, role string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO workspace_memberships (workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
		wsID, userID, role, now())
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// SetMemberRole changes a non-owner member's role. Set by hand, the membership
// is no longer managed: group rules leave it alone from then on.
func (s *Store) SetMemberRole(ctx context.Context, wsID string, userID int64, role string) error {
	return affected(s.w.ExecContext(ctx, `UPDATE workspace_memberships SET role = ?, managed = 0 WHERE workspace_id = ? AND user_id = ? AND role <> 'owner'`,
		role, wsID, userID))
}

// RemoveMember removes a non-owner from the workspace with their team memberships,
// folders, private chats, shares to them and API keys bound to it. What they made
// for others stays: documents and knowledge bases remain in the workspace, and
// teams they owned stay, without an owner, for admins to manage.
func (s *Store) RemoveMember(ctx context.Context, wsID string, userID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return removeMember(ctx, tx, wsID, userID) })
}

func removeMember(ctx context.Context, tx *sql.Tx, wsID string, userID int64) error {
	if err := affected(tx.ExecContext(ctx, `DELETE FROM workspace_memberships WHERE workspace_id = ? AND user_id = ? AND role <> 'owner'`, wsID, userID)); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM team_memberships WHERE workspace_id = ? AND user_id = ?`,
		`DELETE FROM chat_session_shares WHERE workspace_id = ? AND user_id = ?`,
		`DELETE FROM chat_sessions WHERE workspace_id = ? AND user_id = ?`,
		`DELETE FROM folders WHERE workspace_id = ? AND user_id = ?`,
		`DELETE FROM auth_tokens WHERE workspace_id = ? AND user_id = ?`,
		`UPDATE teams SET owner_id = NULL WHERE workspace_id = ? AND owner_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, wsID, userID); err != nil {
			return err
		}
	}
	return nil
}

// WorkspaceByID loads a workspace without a member's role (for accounting).
func (s *Store) WorkspaceByID(ctx context.Context, wsID string) (*Workspace, error) {
	var w Workspace
	var created string
	err := s.r.QueryRowContext(ctx, `SELECT id, name, owner_id, plan, created_at FROM workspaces WHERE id = ?`, wsID).Scan(&w.ID, &w.Name, &w.OwnerID, &w.Plan, &created)
	if err != nil {
		return nil, notFound(err)
	}
	w.CreatedAt = parseTime(created)
	return &w, nil
}

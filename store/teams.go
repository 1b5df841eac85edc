package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Team is a group of workspace members (used to grant knowledge-base access).
type Team struct {
	ID          int64
	WorkspaceID string
	Name        string
	Description string
	OwnerID     int64 // 0 when the owner left the workspace
	CreatedAt   time.Time
	Members     []TeamMember
}

// TeamMember is one person in a team.
type TeamMember struct {
	UserID  int64
	Email   string
	Name    string
	AddedAt time.Time
}

const teamCols = `id, workspace_id, name, description, coalesce(owner_id, 0), created_at`

func scanTeam(row interface{ Scan(...any) error }) (*Team, error) {
	var t Team
	var created string
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.Name, &t.Description, &t.OwnerID, &created); err != nil {
		return nil, notFound(err)
	}
	t.CreatedAt = parseTime(created)
	return &t, nil
}

// CreateTeam creates a team owned (and joined) by ownerID. A taken name is ErrConflict.
func (s *Store) CreateTeam(ctx context.Context, wsID string, ownerID int64, name, description string) (*Team, error) {
	var t *Team
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ts := now()
		var err error
		t, err = scanTeam(tx.QueryRowContext(ctx, `INSERT INTO teams (workspace_id, name, description, owner_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING `+teamCols, wsID, name, description, ownerID, ts, ts))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO team_memberships (workspace_id, team_id, user_id, created_at) VALUES (?, ?, ?, ?)`, wsID, t.ID, ownerID, ts)
		return err
	})
	if isUnique(err) {
		return nil, ErrConflict
	}
	if err != nil {
		return nil, err
	}
	return s.GetTeam(ctx, wsID, t.ID)
}

// GetTeam loads a team of the workspace with its members.
func (s *Store) GetTeam(ctx context.Context, wsID string, teamID int64) (*Team, error) {
	t, err := scanTeam(s.r.QueryRowContext(ctx, `SELECT `+teamCols+` FROM teams WHERE workspace_id = ? AND id = ?`, wsID, teamID))
	if err != nil {
		return nil, err
	}
	ms, err := s.teamMembers(ctx, wsID, []int64{t.ID})
	t.Members = ms[t.ID]
	return t, err
}

// ListTeams lists a workspace's teams by name, each with its members.
func (s *Store) ListTeams(ctx context.Context, wsID string) ([]Team, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+teamCols+` FROM teams WHERE workspace_id = ? ORDER BY name COLLATE NOCASE, id`, wsID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Team
	var ids []int64
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
		ids = append(ids, t.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ms, err := s.teamMembers(ctx, wsID, ids)
	for i := range out {
		out[i].Members = ms[out[i].ID]
	}
	return out, err
}

// teamMembers loads the members of the given teams in one query.
func (s *Store) teamMembers(ctx context.Context, wsID string, teamIDs []int64) (map[int64][]TeamMember, error) {
	out := map[int64][]TeamMember{}
	if len(teamIDs) == 0 {
		return out, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT tm.team_id, u.id, u.email, u.name, tm.created_at FROM team_memberships tm
		JOIN users u ON u.id = tm.user_id
		WHERE tm.workspace_id = ? AND tm.team_id IN (SELECT value FROM json_each(?)) ORDER BY u.name COLLATE NOCASE, u.id`, wsID, jsonIDs(teamIDs))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var teamID int64
		var m TeamMember
		var added string
		if err := rows.Scan(&teamID, &m.UserID, &m.Email, &m.Name, &added); err != nil {
			return nil, err
		}
		m.AddedAt = parseTime(added)
		out[teamID] = append(out[teamID], m)
	}
	return out, rows.Err()
}

// UpdateTeam renames, re-describes or hands over a team. A new owner joins the
// team if not in it yet (ownerID must be a workspace member; 0 = no owner).
func (s *Store) UpdateTeam(ctx context.Context, wsID string, teamID int64, name, description string, ownerID int64) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, `UPDATE teams SET name = ?, description = ?, owner_id = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`,
			name, description, nullInt(ownerID), now(), wsID, teamID)); err != nil {
			return err
		}
		if ownerID == 0 {
			return nil
		}
		if err := addTeamMember(ctx, tx, wsID, teamID, ownerID); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
		return nil
	})
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// DeleteTeam deletes a team; its memberships and access grants go with it.
func (s *Store) DeleteTeam(ctx context.Context, wsID string, teamID int64) error {
	return affected(s.w.ExecContext(ctx, `DELETE FROM teams WHERE workspace_id = ? AND id = ?`, wsID, teamID))
}

// AddTeamMember adds a workspace member to a team: ErrNotFound when the user is
// not a member of the workspace, ErrConflict when already in the team.
func (s *Store) AddTeamMember(ctx context.Context, wsID string, teamID, userID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return addTeamMember(ctx, tx, wsID, teamID, userID)
	})
}

func addTeamMember(ctx context.Context, tx *sql.Tx, wsID string, teamID, userID int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workspace_memberships WHERE workspace_id = ? AND user_id = ?`, wsID, userID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO team_memberships (workspace_id, team_id, user_id, created_at)
		SELECT ?, id, ?, ? FROM teams WHERE workspace_id = ? AND id = ?`, wsID, userID, now(), wsID, teamID)
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// RemoveTeamMember takes a user out of a team.
func (s *Store) RemoveTeamMember(ctx context.Context, wsID string, teamID, userID int64) error {
	return affected(s.w.ExecContext(ctx, `DELETE FROM team_memberships WHERE workspace_id = ? AND team_id = ? AND user_id = ?`, wsID, teamID, userID))
}

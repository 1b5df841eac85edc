package store

import (
	"context"
	"database/sql"
	"slices"
	"time"
)

// UserByIdentity finds the account linked to a subject at an identity
// provider ("oidc:<name>", "ldap"); ErrNotFound when none is.
func (s *Store) UserByIdentity(ctx context.Context, provider, subject string) (*User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id =
		(SELECT user_id FROM user_identities WHERE provider = ? AND subject = ?)`, provider, subject))
}

// LinkIdentity links the provider's subject to userID, or records another
// sign-in when it is linked already. An account has at most one subject per
// provider: linking a second one is ErrConflict (someone else's account at
// the provider claims the same verified address).
func (s *Store) LinkIdentity(ctx context.Context, provider, subject string, userID int64) error {
	ts := now()
	res, err := s.w.ExecContext(ctx, `INSERT INTO user_identities (provider, subject, user_id, created_at, last_login_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider, subject) DO UPDATE SET last_login_at = excluded.last_login_at
		WHERE user_id = excluded.user_id`, provider, subject, userID, ts, ts)
	if isUnique(err) {
		return ErrConflict
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrConflict // the subject is linked to another account
	}
	return nil
}

// IdentitySubjects lists the subjects linked at provider with their accounts
// (for the directory sync).
func (s *Store) IdentitySubjects(ctx context.Context, provider string) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT subject, user_id FROM user_identities WHERE provider = ?`, provider)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var sub string
		var id int64
		if err := rows.Scan(&sub, &id); err != nil {
			return nil, err
		}
		out[sub] = id
	}
	return out, rows.Err()
}

// GroupRule gives the members of a directory group a role in a workspace or
// a place in one of its teams (exactly one of Role and TeamID is set).
type GroupRule struct {
	ID          int64
	WorkspaceID string
	Group       string
	Role        string // "admin" or "member"; "" for a team rule
	TeamID      int64  // 0 for a role rule
	TeamName    string
	CreatedAt   time.Time
}

// ListGroupRules lists a workspace's rules by group, then id.
func (s *Store) ListGroupRules(ctx context.Context, wsID string) ([]GroupRule, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT r.id, r.workspace_id, r.group_name, coalesce(r.role, ''), coalesce(r.team_id, 0),
		coalesce(t.name, ''), r.created_at FROM group_rules r LEFT JOIN teams t ON t.id = r.team_id
		WHERE r.workspace_id = ? ORDER BY r.group_name, r.id`, wsID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []GroupRule
	for rows.Next() {
		var r GroupRule
		var created string
		if err := rows.Scan(&r.ID, &r.WorkspaceID, &r.Group, &r.Role, &r.TeamID, &r.TeamName, &created); err != nil {
			return nil, err
		}
		r.CreatedAt = parseTime(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateGroupRule adds a rule. A team of another workspace is ErrNotFound
// (the insert takes the team from this workspace only); the same rule twice
// is ErrConflict.
func (s *Store) CreateGroupRule(ctx context.Context, wsID, group, role string, teamID int64) (*GroupRule, error) {
	var id int64
	var err error
	if teamID != 0 {
		err = s.w.QueryRowContext(ctx, `INSERT INTO group_rules (workspace_id, group_name, team_id, created_at)
			SELECT ?, ?, id, ? FROM teams WHERE workspace_id = ? AND id = ? RETURNING id`, wsID, group, now(), wsID, teamID).Scan(&id)
	} else {
		err = s.w.QueryRowContext(ctx, `INSERT INTO group_rules (workspace_id, group_name, role, created_at)
			VALUES (?, ?, ?, ?) RETURNING id`, wsID, group, role, now()).Scan(&id)
	}
	if isUnique(err) {
		return nil, ErrConflict
	}
	if err != nil {
		return nil, notFound(err)
	}
	rules, err := s.ListGroupRules(ctx, wsID)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		if r.ID == id {
			return &r, nil
		}
	}
	return nil, ErrNotFound // deleted by a parallel request meanwhile
}

// DeleteGroupRule removes a rule; the memberships it made go at each
// person's next sign-in or directory sync.
func (s *Store) DeleteGroupRule(ctx context.Context, wsID string, ruleID int64) error {
	return affected(s.w.ExecContext(ctx, `DELETE FROM group_rules WHERE workspace_id = ? AND id = ?`, wsID, ruleID))
}

// GroupRuleWorkspaces are the workspaces that have group rules.
func (s *Store) GroupRuleWorkspaces(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT workspace_id FROM group_rules ORDER BY workspace_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// GroupChanges is what applying a workspace's rules to one person changed.
type GroupChanges struct {
	Joined, Left     bool   // the workspace membership was made or removed
	Role             string // the managed role after the change ("" when none)
	TeamsAdded       []int64
	TeamsRemoved     []int64
	KeptManualMember bool // a hand-made membership the rules did not touch
}

// ApplyGroupRules brings the memberships that wsID's rules manage for userID
// in line with groups, in one transaction: a matching role rule makes (or
// re-ranks) a managed membership with the highest matching role, none removes
// a managed one (as RemoveMember does); matching team rules add managed team
// memberships and the others' managed ones go. Memberships made by hand, and
// the owner's, are never changed.
func (s *Store) ApplyGroupRules(ctx context.Context, wsID string, userID int64, groups []string) (*GroupChanges, error) {
	ch := &GroupChanges{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rules, err := rulesIn(ctx, tx, wsID)
		if err != nil {
			return err
		}
		want, teams := "", map[int64]bool{}
		for _, r := range rules {
			if !slices.Contains(groups, r.Group) {
				continue
			}
			if r.TeamID != 0 {
				teams[r.TeamID] = true
			} else if RoleRank(r.Role) > RoleRank(want) {
				want = r.Role
			}
		}
		var role string
		var managed bool
		err = tx.QueryRowContext(ctx, `SELECT role, managed FROM workspace_memberships WHERE workspace_id = ? AND user_id = ?`, wsID, userID).Scan(&role, &managed)
		member := err == nil
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		switch {
		case member && !managed:
			ch.KeptManualMember = true
		case !member && want != "":
			if _, err := tx.ExecContext(ctx, `INSERT INTO workspace_memberships (workspace_id, user_id, role, created_at, managed) VALUES (?, ?, ?, ?, 1)`,
				wsID, userID, want, now()); err != nil {
				return err
			}
			member, ch.Joined, ch.Role = true, true, want
		case member && want != "":
			ch.Role = want
			if role != want {
				if _, err := tx.ExecContext(ctx, `UPDATE workspace_memberships SET role = ? WHERE workspace_id = ? AND user_id = ? AND managed = 1 AND role <> 'owner'`,
					want, wsID, userID); err != nil {
					return err
				}
			}
		case member && want == "":
			if err := removeMember(ctx, tx, wsID, userID); err != nil {
				return err
			}
			member, ch.Left = false, true
		}
		if !member {
			return nil // team places need the workspace; removeMember took the managed ones with the rest
		}
		rows, err := tx.QueryContext(ctx, `SELECT team_id, managed FROM team_memberships WHERE workspace_id = ? AND user_id = ?`, wsID, userID)
		if err != nil {
			return err
		}
		have := map[int64]bool{} // team → managed
		for rows.Next() {
			var id int64
			var m bool
			if err := rows.Scan(&id, &m); err != nil {
				rows.Close()
				return err
			}
			have[id] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for id := range teams {
			if _, in := have[id]; in {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO team_memberships (workspace_id, team_id, user_id, created_at, managed)
				SELECT ?, id, ?, ?, 1 FROM teams WHERE workspace_id = ? AND id = ?`, wsID, userID, now(), wsID, id); err != nil {
				return err
			}
			ch.TeamsAdded = append(ch.TeamsAdded, id)
		}
		for id, m := range have {
			if m && !teams[id] {
				if _, err := tx.ExecContext(ctx, `DELETE FROM team_memberships WHERE workspace_id = ? AND team_id = ? AND user_id = ? AND managed = 1`, wsID, id, userID); err != nil {
					return err
				}
				ch.TeamsRemoved = append(ch.TeamsRemoved, id)
			}
		}
		slices.Sort(ch.TeamsAdded)
		slices.Sort(ch.TeamsRemoved)
		return nil
	})
	return ch, err
}

func rulesIn(ctx context.Context, tx *sql.Tx, wsID string) ([]GroupRule, error) {
	rows, err := tx.QueryContext(ctx, `SELECT group_name, coalesce(role, ''), coalesce(team_id, 0) FROM group_rules WHERE workspace_id = ?`, wsID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []GroupRule
	for rows.Next() {
		var r GroupRule
		if err := rows.Scan(&r.Group, &r.Role, &r.TeamID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

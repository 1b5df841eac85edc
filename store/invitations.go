package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Invitation statuses.
const (
	InvitePending   = "pending"
	InviteAccepted  = "accepted"
	InviteDeclined  = "declined"
	InviteCancelled = "cancelled"
)

// ErrGone marks an invitation that was used, declined, cancelled or has expired.
var ErrGone = errors.New("gone")

// ErrSeatLimit is returned when a workspace has no seat left for another person.
var ErrSeatLimit = errors.New("seat limit reached")

// Invitation asks someone by email to join a workspace (and optionally a team).
type Invitation struct {
	ID            int64
	WorkspaceID   string
	WorkspaceName string
	Email         string
	Role          string
	TeamID        int64 // 0 = none
	TeamName      string
	InviterID     int64
	InviterName   string
	Status        string
	ExpiresAt     time.Time
	CreatedAt     time.Time
}

// Expired reports whether a pending invitation can no longer be used.
func (i *Invitation) Expired() bool { return time.Now().After(i.ExpiresAt) }

const inviteSelect = `SELECT i.id, i.workspace_id, w.name, i.email, i.role, coalesce(i.team_id, 0), coalesce(t.name, ''),
	coalesce(i.inviter_id, 0), coalesce(nullif(u.name, ''), u.email, ''), i.status, i.expires_at, i.created_at
	FROM invitations i JOIN workspaces w ON w.id = i.workspace_id
	LEFT JOIN teams t ON t.id = i.team_id LEFT JOIN users u ON u.id = i.inviter_id `

func scanInvitation(row interface{ Scan(...any) error }) (*Invitation, error) {
	var i Invitation
	var exp, created string
	if err := row.Scan(&i.ID, &i.WorkspaceID, &i.WorkspaceName, &i.Email, &i.Role, &i.TeamID, &i.TeamName,
		&i.InviterID, &i.InviterName, &i.Status, &exp, &created); err != nil {
		return nil, notFound(err)
	}
	i.ExpiresAt, i.CreatedAt = parseTime(exp), parseTime(created)
	return &i, nil
}

func scanInvitations(rows *sql.Rows, err error) ([]Invitation, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Invitation
	for rows.Next() {
		i, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *i)
	}
	return out, rows.Err()
}

// checkSeats refuses one more person (member or pending invitation) when the
// workspace's own seat_limit or the plan's seats (planSeats, 0 = unlimited)
// are all taken. It runs inside the write transaction that adds the person,
// so two concurrent invitations cannot both take the last seat.
func checkSeats(ctx context.Context, tx *sql.Tx, wsID string, planSeats int64) error {
	var limit sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT seat_limit FROM workspaces WHERE id = ?`, wsID).Scan(&limit); err != nil {
		return notFound(err)
	}
	var used int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM workspace_memberships WHERE workspace_id = ?)
		+ (SELECT count(*) FROM invitations WHERE workspace_id = ? AND status = 'pending' AND expires_at > ?)`, wsID, wsID, now()).Scan(&used); err != nil {
		return err
	}
	if (limit.Valid && used >= limit.Int64) || (planSeats > 0 && used >= planSeats) {
		return ErrSeatLimit
	}
	return nil
}

// CreateInvitation records an invitation to the canonical form of email by the
// hash of its token. It refuses
// with ErrConflict when the address already belongs to a member or has a live
// invitation, and with ErrSeatLimit when the workspace's seats are all taken.
func (s *Store) CreateInvitation(ctx context.Context, wsID, email, role string, teamID, inviterID int64, hash []byte, expires time.Time, planSeats int64) (*Invitation, error) {
	email = CanonicalEmail(email)
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workspace_memberships m JOIN users u ON u.id = m.user_id
			WHERE m.workspace_id = ? AND u.email = ?`, wsID, email).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM invitations WHERE workspace_id = ? AND email = ? AND status = 'pending' AND expires_at > ?`,
				wsID, email, now()).Scan(&n)
			if err != nil {
				return err
			}
		}
		if n > 0 {
			return ErrConflict
		}
		if err := checkSeats(ctx, tx, wsID, planSeats); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO invitations (workspace_id, email, role, team_id, inviter_id, token_hash, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, wsID, email, role, nullInt(teamID), nullInt(inviterID), hash, formatTime(expires), now()).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	return s.GetInvitation(ctx, wsID, id)
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// GetInvitation loads one invitation of the workspace.
func (s *Store) GetInvitation(ctx context.Context, wsID string, id int64) (*Invitation, error) {
	return scanInvitation(s.r.QueryRowContext(ctx, inviteSelect+`WHERE i.workspace_id = ? AND i.id = ?`, wsID, id))
}

// InvitationByToken finds an invitation by its token hash, in any state.
func (s *Store) InvitationByToken(ctx context.Context, hash []byte) (*Invitation, error) {
	return scanInvitation(s.r.QueryRowContext(ctx, inviteSelect+`WHERE i.token_hash = ?`, hash))
}

// ListInvitations lists a workspace's pending invitations, newest first.
func (s *Store) ListInvitations(ctx context.Context, wsID string) ([]Invitation, error) {
	return scanInvitations(s.r.QueryContext(ctx, inviteSelect+`WHERE i.workspace_id = ? AND i.status = 'pending' ORDER BY i.id DESC`, wsID))
}

// PendingInvitationsFor lists live invitations addressed to exactly email, across workspaces.
func (s *Store) PendingInvitationsFor(ctx context.Context, email string) ([]Invitation, error) {
	return scanInvitations(s.r.QueryContext(ctx, inviteSelect+`WHERE i.email = ? AND i.status = 'pending' AND i.expires_at > ? ORDER BY i.id DESC`, CanonicalEmail(email), now()))
}

// RenewInvitation gives a pending invitation a new token and expiry (resend).
func (s *Store) RenewInvitation(ctx context.Context, wsID string, id int64, hash []byte, expires time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE invitations SET token_hash = ?, expires_at = ? WHERE workspace_id = ? AND id = ? AND status = 'pending'`,
		hash, formatTime(expires), wsID, id)
	if err := affected(res, err); !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, err := s.GetInvitation(ctx, wsID, id); err != nil {
		return err
	}
	return ErrGone
}

// CancelInvitation withdraws a pending invitation.
func (s *Store) CancelInvitation(ctx context.Context, wsID string, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE invitations SET status = 'cancelled', responded_at = ? WHERE workspace_id = ? AND id = ? AND status = 'pending'`, now(), wsID, id)
	if err := affected(res, err); !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, err := s.GetInvitation(ctx, wsID, id); err != nil {
		return err
	}
	return ErrGone
}

// AcceptInvitation makes userID a member with the invited role (and a member of
// the invited team), in one transaction. ErrGone when the invitation is no
// longer pending or has expired. Accepting when already a member just closes it.
func (s *Store) AcceptInvitation(ctx context.Context, id, userID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var wsID, role, status, expires string
		var teamID sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT workspace_id, role, team_id, status, expires_at FROM invitations WHERE id = ?`, id).
			Scan(&wsID, &role, &teamID, &status, &expires); err != nil {
			return notFound(err)
		}
		if status != InvitePending || parseTime(expires).Before(time.Now()) {
			return ErrGone
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO workspace_memberships (workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (workspace_id, user_id) DO NOTHING`, wsID, userID, role, now()); err != nil {
			return err
		}
		if teamID.Valid {
			if err := addTeamMember(ctx, tx, wsID, teamID.Int64, userID); err != nil && !errors.Is(err, ErrConflict) {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE invitations SET status = 'accepted', responded_at = ? WHERE id = ?`, now(), id)
		return err
	})
}

// DeclineInvitation records that the invitee said no.
func (s *Store) DeclineInvitation(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE invitations SET status = 'declined', responded_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ?`, now(), id, now())
	if err := affected(res, err); errors.Is(err, ErrNotFound) {
		return ErrGone
	} else if err != nil {
		return err
	}
	return nil
}

// SetSeatLimit caps a workspace's members plus pending invitations (nil = unlimited).
func (s *Store) SetSeatLimit(ctx context.Context, wsID string, limit *int) error {
	var v any
	if limit != nil {
		v = *limit
	}
	return affected(s.w.ExecContext(ctx, `UPDATE workspaces SET seat_limit = ?, updated_at = ? WHERE id = ?`, v, now(), wsID))
}

// AddMemberWithinSeats adds a member unless the workspace's seats (its own
// limit or the plan's planSeats, 0 = unlimited) are all taken.
func (s *Store) AddMemberWithinSeats(ctx context.Context, wsID string, userID int64, role string, planSeats int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkSeats(ctx, tx, wsID, planSeats); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO workspace_memberships (workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`, wsID, userID, role, now())
		if isUnique(err) {
			return ErrConflict
		}
		return err
	})
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// User is an account of the instance.
type User struct {
	ID            int64
	Email         string
	Name          string
	PasswordHash  string
	IsAdmin       bool
	Disabled      bool
	EmailVerified bool
	// Pending is a signup waiting for an admin's approval (it is Disabled too,
	// so nothing that refuses disabled accounts needs to know about it).
	Pending   bool
	CreatedAt time.Time
}

// ErrLastAdmin refuses a change that would leave the instance without an
// active administrator.
var ErrLastAdmin = errors.New("the last active administrator")

// CanonicalEmail is the one form in which addresses are stored and looked up,
// so that SQL compares them exactly: trimmed, NFC (the same text typed on two
// keyboards is the same bytes; the Kelvin sign becomes K) and ASCII letters in
// lower case. Other letters keep their case: Unicode case mappings put distinct
// letters onto ASCII ones (İ → i) and case folding goes further (ſ → s), so
// "ſam@x" would pass for "sam@x", while mail servers compare non-ASCII local
// parts as they are.
func CanonicalEmail(email string) string {
	b := []byte(norm.NFC.String(strings.TrimSpace(email)))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return norm.NFC.String(string(b)) // lower-casing "J" before a combining caron makes a composable pair
}

const userCols = `id, email, name, password_hash, is_admin, disabled, email_verified, pending_approval, created_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created string
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.IsAdmin, &u.Disabled, &u.EmailVerified, &u.Pending, &created); err != nil {
		return nil, notFound(err)
	}
	u.CreatedAt = parseTime(created)
	return &u, nil
}

// NewUser is an account to create.
type NewUser struct {
	Email, Name, PasswordHash string
	Verified                  bool
	Admin                     bool
	Pending                   bool // waits for an admin's approval, disabled until then
}

// CreateUser inserts an ordinary account under the canonical form of email.
// Nobody becomes an instance admin by being first: the first admin is made
// through the setup link (CreateFirstAdmin) or the CLI. A taken email gives
// ErrConflict.
func (s *Store) CreateUser(ctx context.Context, email, name, passwordHash string, verified bool) (*User, error) {
	return s.CreateAccount(ctx, NewUser{Email: email, Name: name, PasswordHash: passwordHash, Verified: verified})
}

// CreateAccount inserts n; a taken email gives ErrConflict.
func (s *Store) CreateAccount(ctx context.Context, n NewUser) (*User, error) {
	var u *User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = insertUser(ctx, tx, n)
		return err
	})
	return u, err
}

func insertUser(ctx context.Context, tx *sql.Tx, n NewUser) (*User, error) {
	ts := now()
	u, err := scanUser(tx.QueryRowContext(ctx, `INSERT INTO users (email, name, password_hash, is_admin, disabled, email_verified, pending_approval, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+userCols, CanonicalEmail(n.Email), n.Name, n.PasswordHash,
		boolInt(n.Admin), boolInt(n.Pending), boolInt(n.Verified), boolInt(n.Pending), ts, ts))
	if isUnique(err) {
		return nil, ErrConflict
	}
	return u, err
}

// CreateFirstAdmin makes the instance's first administrator, verified. The
// check that no administrator exists and the insert share one write
// transaction, so of two racing setups (or a setup and the CLI) only one
// makes an admin; the other gets ErrGone. A taken email gives ErrConflict.
func (s *Store) CreateFirstAdmin(ctx context.Context, email, name, passwordHash string) (*User, error) {
	var u *User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE is_admin = 1`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrGone
		}
		var err error
		u, err = insertUser(ctx, tx, NewUser{Email: email, Name: name, PasswordHash: passwordHash, Verified: true, Admin: true})
		return err
	})
	return u, err
}

// AdminExists is true once the instance has an administrator (set up).
func (s *Store) AdminExists(ctx context.Context) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE is_admin = 1`).Scan(&n)
	return n > 0, err
}

// UserCount is the number of accounts.
func (s *Store) UserCount(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

func (s *Store) UserByID(ctx context.Context, id int64) (*User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
}

// UserByEmail finds the account of exactly this address (in canonical form).
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, CanonicalEmail(email)))
}

// UpdateUserName changes the display name.
func (s *Store) UpdateUserName(ctx context.Context, id int64, name string) error {
	return affected(s.w.ExecContext(ctx, `UPDATE users SET name = ?, updated_at = ? WHERE id = ?`, name, now(), id))
}

// SetPassword stores a new password hash and revokes every token of the user,
// sessions and API keys alike, except keepTokenID (0 revokes all): a password
// is changed because it may be known to someone else, who may have made a key.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string, keepTokenID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, now(), id)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM auth_tokens WHERE user_id = ? AND id <> ?`, id, keepTokenID)
		return err
	})
}

// SetEmailVerified marks the address as verified.
func (s *Store) SetEmailVerified(ctx context.Context, id int64) error {
	return affected(s.w.ExecContext(ctx, `UPDATE users SET email_verified = 1, updated_at = ? WHERE id = ?`, now(), id))
}

// UpdateUserAdmin changes the instance-admin flags. Disabling a user revokes all
// their tokens (reactivating brings none back). Demoting or disabling the last
// active admin is ErrLastAdmin, so the instance always keeps someone who can
// administer it.
func (s *Store) UpdateUserAdmin(ctx context.Context, id int64, isAdmin, disabled *bool) (*User, error) {
	var u *User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if isAdmin != nil {
			cur.IsAdmin = *isAdmin
		}
		if disabled != nil {
			cur.Disabled = *disabled
			cur.Pending = cur.Pending && cur.Disabled // enabling a pending signup approves it
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET is_admin = ?, disabled = ?, pending_approval = ?, updated_at = ? WHERE id = ?`,
			boolInt(cur.IsAdmin), boolInt(cur.Disabled), boolInt(cur.Pending), now(), id); err != nil {
			return err
		}
		var admins int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE is_admin = 1 AND disabled = 0`).Scan(&admins); err != nil {
			return err
		}
		if admins == 0 {
			return ErrLastAdmin
		}
		if cur.Disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM auth_tokens WHERE user_id = ?`, id); err != nil {
				return err
			}
		}
		u = cur
		return nil
	})
	return u, err
}

// ListUsers pages through all accounts by id.
func (s *Store) ListUsers(ctx context.Context, afterID int64, limit int) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// DeleteUser removes an account and every workspace it owns alone. It refuses with
// ErrConflict while the user owns a workspace that has other members: ownership
// must be transferred first so nobody loses a workspace they use; and with
// ErrLastAdmin for the last active administrator.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	// Their workspaces go by cascade, past vtx: the vector indexes reload.
	defer s.vx.dropAll()
	return s.tx(ctx, func(tx *sql.Tx) error {
		var shared int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM workspaces w WHERE w.owner_id = ?
			AND EXISTS (SELECT 1 FROM workspace_memberships m WHERE m.workspace_id = w.id AND m.user_id <> ?)`, id, id).Scan(&shared); err != nil {
			return err
		}
		if shared > 0 {
			return ErrConflict
		}
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE is_admin = 1 AND disabled = 0 AND id <> ?`, id).Scan(&others); err != nil {
			return err
		}
		var isAdmin bool
		if err := tx.QueryRowContext(ctx, `SELECT is_admin = 1 AND disabled = 0 FROM users WHERE id = ?`, id).Scan(&isAdmin); err != nil {
			return notFound(err)
		}
		if isAdmin && others == 0 {
			return ErrLastAdmin
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM workspaces WHERE owner_id = ?`, id); err != nil {
			return err
		}
		return affected(tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id))
	})
}

// OwnedWorkspace is a workspace a user owns, with how many members it has.
type OwnedWorkspace struct {
	ID, Name string
	Members  int
}

// OwnedWorkspaces lists the workspaces userID owns: what deleting the account
// would delete (alone) or is refused for (with other members).
func (s *Store) OwnedWorkspaces(ctx context.Context, userID int64) ([]OwnedWorkspace, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT w.id, w.name, (SELECT count(*) FROM workspace_memberships m WHERE m.workspace_id = w.id)
		FROM workspaces w WHERE w.owner_id = ? ORDER BY w.name, w.id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OwnedWorkspace
	for rows.Next() {
		var w OwnedWorkspace
		if err := rows.Scan(&w.ID, &w.Name, &w.Members); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// WorkspacesByOwner lists every owned workspace by its owner's id, for the
// administration's list of people (what deleting each would do).
func (s *Store) WorkspacesByOwner(ctx context.Context) (map[int64][]OwnedWorkspace, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT w.owner_id, w.id, w.name, (SELECT count(*) FROM workspace_memberships m WHERE m.workspace_id = w.id)
		FROM workspaces w ORDER BY w.name, w.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]OwnedWorkspace{}
	for rows.Next() {
		var owner int64
		var w OwnedWorkspace
		if err := rows.Scan(&owner, &w.ID, &w.Name, &w.Members); err != nil {
			return nil, err
		}
		out[owner] = append(out[owner], w)
	}
	return out, rows.Err()
}

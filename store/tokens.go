package store

import (
	"context"
	"database/sql"
	"time"
)

// Token kinds.
const (
	TokenSession = "session" // login: cookie or bearer, expires
	TokenAPIKey  = "api_key" // personal API key, optionally bound to one workspace
)

// Token is a stored credential; only the SHA-256 of its secret is kept.
type Token struct {
	ID          int64
	UserID      int64
	Kind        string
	Name        string
	WorkspaceID string // "" = not bound to a workspace
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	ExpiresAt   *time.Time
}

const tokenCols = `id, user_id, kind, name, coalesce(workspace_id, ''), created_at, last_used_at, expires_at`

func scanToken(row interface{ Scan(...any) error }) (*Token, error) {
	var t Token
	var created string
	var used, expires sql.NullString
	if err := row.Scan(&t.ID, &t.UserID, &t.Kind, &t.Name, &t.WorkspaceID, &created, &used, &expires); err != nil {
		return nil, notFound(err)
	}
	t.CreatedAt = parseTime(created)
	t.LastUsedAt = parseNullTime(used)
	t.ExpiresAt = parseNullTime(expires)
	return &t, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// CreateToken stores a token by the hash of its secret.
func (s *Store) CreateToken(ctx context.Context, userID int64, kind, name string, hash []byte, workspaceID string, expires *time.Time) (*Token, error) {
	row := s.w.QueryRowContext(ctx, `INSERT INTO auth_tokens (user_id, kind, name, token_hash, workspace_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING `+tokenCols, userID, kind, name, hash, nullString(workspaceID), now(), nullTime(expires))
	return scanToken(row)
}

// Authenticate finds the live token with this hash and its enabled user.
// Expired tokens and disabled users are ErrNotFound.
func (s *Store) Authenticate(ctx context.Context, hash []byte) (*Token, *User, error) {
	row := s.r.QueryRowContext(ctx, `SELECT t.id, t.user_id, t.kind, t.name, coalesce(t.workspace_id, ''), t.created_at, t.last_used_at, t.expires_at,
		u.id, u.email, u.name, u.password_hash, u.is_admin, u.disabled, u.email_verified, u.created_at
		FROM auth_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ? AND u.disabled = 0 AND (t.expires_at IS NULL OR t.expires_at > ?)`, hash, now())
	var t Token
	var u User
	var tc, uc string
	var used, expires sql.NullString
	err := row.Scan(&t.ID, &t.UserID, &t.Kind, &t.Name, &t.WorkspaceID, &tc, &used, &expires,
		&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.IsAdmin, &u.Disabled, &u.EmailVerified, &uc)
	if err != nil {
		return nil, nil, notFound(err)
	}
	t.CreatedAt, t.LastUsedAt, t.ExpiresAt = parseTime(tc), parseNullTime(used), parseNullTime(expires)
	u.CreatedAt = parseTime(uc)
	return &t, &u, nil
}

// TouchToken records use, at most once a minute per token to spare the writer.
func (s *Store) TouchToken(ctx context.Context, id int64) error {
	cut := formatTime(time.Now().Add(-time.Minute))
	_, err := s.w.ExecContext(ctx, `UPDATE auth_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, now(), id, cut)
	return err
}

// ListAPIKeys lists a user's personal API keys.
func (s *Store) ListAPIKeys(ctx context.Context, userID int64) ([]Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM auth_tokens WHERE user_id = ? AND kind = 'api_key' ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// DeleteToken revokes one of the user's tokens.
func (s *Store) DeleteToken(ctx context.Context, userID, id int64) error {
	return affected(s.w.ExecContext(ctx, `DELETE FROM auth_tokens WHERE id = ? AND user_id = ?`, id, userID))
}

// DeleteExpiredTokens removes dead sessions; the server runs it hourly.
func (s *Store) DeleteExpiredTokens(ctx context.Context) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM auth_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?`, now())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Email token purposes.
const (
	PurposeVerifyEmail   = "verify_email"
	PurposePasswordReset = "password_reset"
)

// CreateEmailToken stores a single-use mailed token, replacing older unused ones
// of the same purpose so only the newest link works.
func (s *Store) CreateEmailToken(ctx context.Context, userID int64, purpose string, hash []byte, expires time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL`, userID, purpose); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO email_tokens (user_id, purpose, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?)`,
			userID, purpose, hash, formatTime(expires), now())
		return err
	})
}

// UseEmailToken consumes a live token of the purpose and returns its user id.
// Unknown, used and expired tokens are all ErrNotFound.
func (s *Store) UseEmailToken(ctx context.Context, purpose string, hash []byte) (int64, error) {
	var uid int64
	err := s.w.QueryRowContext(ctx, `UPDATE email_tokens SET used_at = ? WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING user_id`, now(), hash, purpose, now()).Scan(&uid)
	return uid, notFound(err)
}

// PasswordResetTokenLive reports whether a reset token is usable, without using
// it: the new password is hashed (64 MiB, tens of ms) only for a real token.
func (s *Store) PasswordResetTokenLive(ctx context.Context, tokenHash []byte) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM email_tokens WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`,
		tokenHash, PurposePasswordReset, now()).Scan(&n)
	return n > 0, err
}

// ResetPassword consumes a password-reset token and sets the new password hash in
// one transaction, revoking every session and API key (the reset may be because
// someone else knows the password): a failure leaves the token usable.
func (s *Store) ResetPassword(ctx context.Context, tokenHash []byte, passwordHash string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var uid int64
		err := tx.QueryRowContext(ctx, `UPDATE email_tokens SET used_at = ? WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
			RETURNING user_id`, now(), tokenHash, PurposePasswordReset, now()).Scan(&uid)
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, passwordHash, now(), uid); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM auth_tokens WHERE user_id = ?`, uid)
		return err
	})
}

package account

import (
	"context"
	"errors"
	"strings"
	"time"

	"quire/app/auth"
	"quire/app/fault"
	"quire/store"
)

// How long the set-password link of an account an admin created, or of a
// reset an admin started, works: long enough to pass it on by hand.
const adminLinkTTL = 72 * time.Hour

func lastAdmin() error {
	return fault.New(fault.Conflict, "Quire must keep at least one active administrator, so this change was not made. Make someone else an administrator first.")
}

func notSelf(what string) error {
	if what == "delete" {
		return fault.New(fault.Conflict, "You cannot delete your own account here; use Account → Delete account.")
	}
	return fault.New(fault.Conflict, "You cannot %s yourself here. Make someone else an administrator first, and ask them.", what)
}

func (s *Service) adminTarget(ctx context.Context, id int64) (*store.User, error) {
	u, err := s.st.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "user not found")
	}
	return u, err
}

// Created is an account an administrator made, with the link (shown once)
// that lets its owner choose a password.
type Created struct {
	User        *store.User
	PasswordURL string
	Mailed      bool // sent by SMTP; otherwise only in the outbox
}

// AdminCreate makes an account for someone: verified, signed out, with a
// random password nobody knows; the link mailed to them (and returned once to
// the admin, to pass on when there is no SMTP) sets the real one.
func (s *Service) AdminCreate(ctx context.Context, actor *store.User, rawEmail, rawName string, admin bool) (*Created, error) {
	email, err := NormEmail("email", rawEmail)
	if err != nil {
		return nil, err
	}
	name, err := CheckName("name", rawName, false)
	if err != nil {
		return nil, err
	}
	unknown, _ := auth.NewToken("")
	hash, err := s.hash.Hash(ctx, unknown)
	if err != nil {
		return nil, hashingError(err)
	}
	u, err := s.st.CreateAccount(ctx, store.NewUser{Email: email, Name: name, PasswordHash: hash, Verified: true, Admin: admin})
	if errors.Is(err, store.ErrConflict) {
		return nil, fault.Field("email", "an account with this email already exists")
	}
	if err != nil {
		return nil, err
	}
	link, mailed, err := s.passwordLink(ctx, u, "An administrator of Quire created an account for you ("+u.Email+").\n\nChoose your password within 3 days with this link:\n\n")
	if err != nil {
		return nil, err
	}
	s.log.Info("admin created a user", "by", actor.ID, "user_id", u.ID, "admin", admin)
	return &Created{User: u, PasswordURL: link, Mailed: mailed}, nil
}

// passwordLink mails u a single-use link to choose a password (the reset
// confirmation page) and returns it.
func (s *Service) passwordLink(ctx context.Context, u *store.User, intro string) (string, bool, error) {
	secret, hash := auth.NewToken("")
	if err := s.st.CreateEmailToken(ctx, u.ID, store.PurposePasswordReset, hash, time.Now().Add(adminLinkTTL)); err != nil {
		return "", false, err
	}
	link := s.cfg.PublicURL + "/reset/confirm?token=" + secret
	if err := s.send(ctx, u.Email, "Choose your Quire password", intro+link+"\n"); err != nil {
		return "", false, err
	}
	return link, s.cfg.Mailer != nil && s.cfg.Mailer.SMTP.Host != "", nil
}

// AdminResetPassword starts a password reset for someone: a single-use link,
// mailed and returned once. The current password keeps working until the link
// is used, which signs out every session and revokes every API key; to lock
// someone out at once, deactivate them.
func (s *Service) AdminResetPassword(ctx context.Context, actor *store.User, id int64) (*store.User, string, bool, error) {
	u, err := s.adminTarget(ctx, id)
	if err != nil {
		return nil, "", false, err
	}
	if u.Pending {
		return nil, "", false, fault.New(fault.Conflict, "this signup is waiting for approval; approve it first")
	}
	link, mailed, err := s.passwordLink(ctx, u, "An administrator of Quire started a password reset for your account ("+u.Email+").\n\nChoose a new password within 3 days with this link:\n\n")
	if err != nil {
		return nil, "", false, err
	}
	s.log.Info("admin started a password reset", "by", actor.ID, "user_id", u.ID)
	return u, link, mailed, nil
}

// AdminUpdate changes whether an account is an administrator and whether it
// is deactivated. Deactivating revokes every session and key at once (they do
// not come back on reactivation); reactivating a pending signup approves it.
// Nobody deactivates or demotes themselves here, and the last active
// administrator stays one.
func (s *Service) AdminUpdate(ctx context.Context, actor *store.User, id int64, isAdmin, disabled *bool) (*store.User, error) {
	if id == actor.ID && ((disabled != nil && *disabled) || (isAdmin != nil && !*isAdmin)) {
		if disabled != nil && *disabled {
			return nil, notSelf("deactivate")
		}
		return nil, notSelf("demote")
	}
	before, err := s.adminTarget(ctx, id)
	if err != nil {
		return nil, err
	}
	u, err := s.st.UpdateUserAdmin(ctx, id, isAdmin, disabled)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fault.New(fault.NotFound, "user not found")
	case errors.Is(err, store.ErrLastAdmin):
		return nil, lastAdmin()
	case err != nil:
		return nil, err
	}
	if before.Pending && !u.Pending {
		s.approved(ctx, u)
	}
	s.log.Info("admin changed a user", "by", actor.ID, "user_id", u.ID, "admin", u.IsAdmin, "disabled", u.Disabled)
	return u, nil
}

// Approve lets a pending signup sign in, and tells them by mail.
func (s *Service) Approve(ctx context.Context, actor *store.User, id int64) (*store.User, error) {
	u, err := s.adminTarget(ctx, id)
	if err != nil {
		return nil, err
	}
	if !u.Pending {
		return nil, fault.New(fault.Conflict, "this account is not waiting for approval")
	}
	f := false
	return s.AdminUpdate(ctx, actor, id, nil, &f)
}

func (s *Service) approved(ctx context.Context, u *store.User) {
	link := s.cfg.PublicURL + "/login"
	if err := s.send(ctx, u.Email, "Your Quire account is approved",
		"Hello "+u.Name+",\n\nan administrator approved your account. Sign in here:\n\n"+link+"\n"); err != nil {
		s.log.Warn("approval mail not sent", "user_id", u.ID, "err", err)
	}
}

// AdminDelete deletes someone's account with the workspaces they own alone
// (their documents, chats and files go with them). It is refused while they
// own a workspace with other members — ownership is transferred first — for
// the last active administrator, and for the caller's own account (that is
// Account → Delete, which asks for the password).
func (s *Service) AdminDelete(ctx context.Context, actor *store.User, id int64) error {
	if id == actor.ID {
		return notSelf("delete")
	}
	if _, err := s.adminTarget(ctx, id); err != nil {
		return err
	}
	err := s.st.DeleteUser(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fault.New(fault.NotFound, "user not found")
	case errors.Is(err, store.ErrLastAdmin):
		return lastAdmin()
	case errors.Is(err, store.ErrConflict):
		owned, oerr := s.st.OwnedWorkspaces(ctx, id)
		if oerr != nil {
			return oerr
		}
		var shared []string
		for _, w := range owned {
			if w.Members > 1 {
				shared = append(shared, "“"+w.Name+"”")
			}
		}
		return fault.New(fault.Conflict, "this person owns workspaces that others use (%s); they must transfer each to another member before the account can be deleted", strings.Join(shared, ", "))
	case err != nil:
		return err
	}
	s.log.Info("admin deleted a user", "by", actor.ID, "user_id", id)
	return nil
}

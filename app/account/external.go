package account

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"quire/app/fault"
	"quire/store"
)

// External is a person an identity provider vouches for: single sign-on or
// the directory. Provider names the source ("oidc:<name>", "ldap"), Subject
// is its stable id for the person.
type External struct {
	Provider, Subject string
	Email, Name       string
	// EmailVerified: the provider says it checked the address. Only a
	// verified address may link to an existing account or make a new one.
	EmailVerified bool
	AllowSignup   bool // the provider may create accounts (under the signup policy)
}

// ExternalLogin signs in the person the provider vouches for: the account
// already linked to (Provider, Subject), else the account with the verified
// address (linking it), else a new account when the provider allows signup
// and the instance's policy does. Pending and disabled accounts are refused.
// Pending is true for a new account that waits for an admin's approval (no session).
func (s *Service) ExternalLogin(ctx context.Context, ext External) (u *store.User, sess Session, pending bool, err error) {
	u, err = s.st.UserByIdentity(ctx, ext.Provider, ext.Subject)
	if errors.Is(err, store.ErrNotFound) {
		u, pending, err = s.linkExternal(ctx, ext)
	}
	if err != nil {
		return nil, Session{}, false, err
	}
	if pending {
		return u, Session{}, true, nil
	}
	if u.Pending {
		s.LoginRefused(ctx, ext.Provider, u.Email, u, store.AuditDenied, "waiting for approval")
		return nil, Session{}, false, fault.New(fault.Forbidden, "your account is waiting for an administrator's approval; you can sign in once it is approved")
	}
	if u.Disabled {
		s.LoginRefused(ctx, ext.Provider, u.Email, u, store.AuditDenied, "account deactivated")
		return nil, Session{}, false, fault.New(fault.Forbidden, "this account is disabled; ask an administrator")
	}
	if err := s.st.LinkIdentity(ctx, ext.Provider, ext.Subject, u.ID); errors.Is(err, store.ErrConflict) {
		// Another account at the provider claims the address of an account
		// already linked there: someone else's, as far as Quire can tell.
		s.LoginRefused(ctx, ext.Provider, u.Email, u, store.AuditDenied, "linked to another account at the provider")
		return nil, Session{}, false, fault.New(fault.Forbidden, "this Quire account is linked to another account at the identity provider; sign in with that one")
	} else if err != nil {
		return nil, Session{}, false, err
	}
	if sess, err = s.StartSession(ctx, u, ext.Provider); err != nil {
		return nil, Session{}, false, err
	}
	s.log.Info("user signed in", "user_id", u.ID, "provider", ext.Provider)
	return u, sess, false, nil
}

// linkExternal finds or makes the account for a subject seen for the first time.
func (s *Service) linkExternal(ctx context.Context, ext External) (*store.User, bool, error) {
	email, err := NormEmail("email", ext.Email)
	if err != nil {
		return nil, false, fault.New(fault.Forbidden, "the identity provider sent no usable email address for this account")
	}
	if !ext.EmailVerified {
		// Anyone can type an address into their profile at many providers:
		// an unverified one must neither take over the account that owns it
		// nor claim it for a new one.
		return nil, false, fault.New(fault.Forbidden, "the identity provider has not verified the address %s; verify it there and sign in again", email)
	}
	u, err := s.st.UserByEmail(ctx, email)
	if err == nil {
		return u, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	if !ext.AllowSignup {
		return nil, false, fault.New(fault.Forbidden, "there is no account for %s; ask an administrator to create one", email)
	}
	pending, err := s.signupAllowed(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	name := cleanName(ext.Name)
	// No password: the account signs in through its provider (or sets one by reset).
	u, err = s.st.CreateAccount(ctx, store.NewUser{Email: email, Name: name, Verified: true, Pending: pending})
	if errors.Is(err, store.ErrConflict) {
		u, err = s.st.UserByEmail(ctx, email) // a parallel first sign-in made it
	}
	if err != nil {
		return nil, false, err
	}
	if pending {
		// Linked now, so that the approved account is found by its subject.
		if err := s.st.LinkIdentity(ctx, ext.Provider, ext.Subject, u.ID); err != nil {
			return nil, false, err
		}
		s.log.Info("user signed up through a provider, waiting for approval", "user_id", u.ID, "provider", ext.Provider)
	}
	return u, pending && u.Pending, nil
}

// cleanName is a provider's display name fit to show: without control
// characters and at most 200 characters (an odd name refuses nobody).
func cleanName(raw string) string {
	name := []rune(strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, raw)))
	return string(name[:min(len(name), 200)])
}

// PasswordLoginRefused is the fault for a password sign-in (or signup) while
// the administrator has left password login to instance admins.
func PasswordLoginRefused() error {
	return fault.New(fault.Forbidden, "password sign-in is turned off on this instance; use single sign-on")
}

package account

import (
	"context"
	"crypto/subtle"
	"errors"
	"sync"

	"quire/app/auth"
	"quire/app/fault"
	"quire/store"
)

// firstRun holds the one-time setup token of an instance without an
// administrator: only its SHA-256, in memory, so neither the database nor a
// backup ever holds a secret that makes an admin.
type firstRun struct {
	mu   sync.Mutex
	hash []byte // nil: no live token
}

// NewSetupToken issues the setup token for this start of the server, replacing
// any earlier one, and returns the secret to print; "" once an administrator
// exists (nothing to set up).
func (s *Service) NewSetupToken(ctx context.Context) (string, error) {
	done, err := s.st.AdminExists(ctx)
	if err != nil || done {
		return "", err
	}
	secret, hash := auth.NewToken("")
	s.setup.mu.Lock()
	s.setup.hash = hash
	s.setup.mu.Unlock()
	return secret, nil
}

// setUpAlready is the answer to any use of a setup link once an admin exists.
func setUpAlready() error {
	return fault.New(fault.Gone, "this instance is already set up; sign in, or ask an administrator for an account")
}

func badSetupToken() error {
	return &fault.Error{Kind: fault.Forbidden, Field: "token",
		Message: "this setup link is not valid; use the link the server printed at its last start (restarting it prints a new one)"}
}

// matches compares a presented token with the live one in constant time.
func (f *firstRun) matches(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hash != nil && subtle.ConstantTimeCompare(f.hash, auth.HashToken(token)) == 1
}

// take consumes the live token when token is it, so that of two setups with
// the same link only one goes on.
func (f *firstRun) take(token string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hash == nil || subtle.ConstantTimeCompare(f.hash, auth.HashToken(token)) != 1 {
		return false
	}
	f.hash = nil
	return true
}

// giveBack restores a token taken by a setup that then failed for a reason the
// operator can fix (a taken address, a busy server), unless a new one was
// issued meanwhile.
func (f *firstRun) giveBack(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hash == nil {
		f.hash = auth.HashToken(token)
	}
}

// CheckSetupToken tells whether a setup link can still be used: Gone once an
// administrator exists, a fault on "token" when it is not the live one.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	if done, err := s.st.AdminExists(ctx); err != nil {
		return err
	} else if done {
		return setUpAlready()
	}
	if !s.setup.matches(token) {
		return badSetupToken()
	}
	return nil
}

// SetupInput is the first administrator's account.
type SetupInput struct {
	Token, Email, Name, Password string
}

// Setup makes the instance's first administrator with the setup token and
// signs them in. Every check that needs no password hash comes first; the
// token is used up before hashing, so a second setup racing with the same link
// is refused, and store.CreateFirstAdmin makes only one admin whatever else
// (the CLI) runs meanwhile.
func (s *Service) Setup(ctx context.Context, in SetupInput) (*Signup, error) {
	email, err := NormEmail("email", in.Email)
	if err != nil {
		return nil, err
	}
	name, err := CheckName("name", in.Name, true)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword("password", in.Password); err != nil {
		return nil, err
	}
	if err := s.CheckSetupToken(ctx, in.Token); err != nil {
		return nil, err
	}
	if !s.setup.take(in.Token) {
		return nil, badSetupToken() // a parallel setup took it
	}
	u, err := s.firstAdmin(ctx, email, name, in.Password)
	switch {
	case errors.Is(err, store.ErrGone):
		return nil, setUpAlready() // the CLI made an admin meanwhile
	case err != nil:
		s.setup.giveBack(in.Token)
		return nil, err
	}
	sess, err := s.StartSession(ctx, u, MethodSetup)
	if err != nil {
		return nil, err
	}
	s.log.Info("instance set up: first administrator created", "user_id", u.ID)
	return &Signup{User: u, Session: sess}, nil
}

func (s *Service) firstAdmin(ctx context.Context, email, name, password string) (*store.User, error) {
	hash, err := s.hash.Hash(ctx, password)
	if err != nil {
		return nil, hashingError(err)
	}
	u, err := s.st.CreateFirstAdmin(ctx, email, name, hash)
	if errors.Is(err, store.ErrConflict) {
		return nil, emailTaken()
	}
	return u, err
}

// Package account is the accounts use case: signup under the admin's signup
// policy, login behind its limiters, sessions, email verification, password
// reset and change, account deletion and API keys. It works over package store
// with plain values (ids, the caller's address as a string) and returns
// quire/app/fault errors; cookies and the HTTP shapes stay in package app.
package account

import (
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"quire/app/audit"
	"quire/app/auth"
	"quire/app/fault"
	"quire/app/limit"
	mailer "quire/app/mail"
	"quire/store"
)

// Signup policies (the admin's setting).
const (
	SignupOpen       = "open"
	SignupInviteOnly = "invite_only"
	SignupClosed     = "closed"
	// SignupApproval lets anyone ask for an account, which an instance admin
	// approves (Administration → Users) before it can sign in.
	SignupApproval = "approval"
)

// SignupPolicies are the policies, in the order the pages offer them.
var SignupPolicies = []string{SignupOpen, SignupApproval, SignupInviteOnly, SignupClosed}

// ErrBadLogin is a refused login: wrong email or password, or a disabled
// account. It is not a fault: the HTTP layer answers it as unauthenticated.
var ErrBadLogin = errors.New("wrong email or password")

// Config is what a Service needs.
type Config struct {
	Store  *store.Store
	Mailer *mailer.Mailer // nil sends nothing (the CLI)
	// Hashing bounds password hashing; nil is auth.Hashing.
	Hashing *auth.Slots
	// PublicURL is the instance's base URL for mailed links.
	PublicURL           string
	SessionTTL          time.Duration
	RequireVerification bool
	// SignupPolicy returns the admin's current policy; nil is SignupOpen.
	SignupPolicy func() string
	// APIAccess refuses a workspace API key when the workspace's plan has no
	// /v1 API (package plan); nil allows it.
	APIAccess func(ctx context.Context, wsID string) error
	// Seats is the plan's seat count for a workspace, refusing (fault.Quota)
	// when they are taken (package plan); nil is unlimited.
	Seats func(ctx context.Context, wsID string) (int64, error)
	// InvitationTTL is how long a mailed invitation works; 0 is 7 days.
	InvitationTTL time.Duration
	// MaxLoginFailures within LoginWindow per (email, address); the per-email
	// cap is 10 times that and the per-address cap 5 times.
	MaxLoginFailures int
	LoginWindow      time.Duration
	Logger           *slog.Logger
	// Audit records sign-ins and refused logins; nil records nothing.
	Audit *audit.Log
	// PasswordLoginOff is the admin's setting that leaves password sign-in
	// (and password signup) to instance admins; nil leaves it on.
	PasswordLoginOff func() bool
}

// Service is the accounts use cases.
type Service struct {
	cfg  Config
	st   *store.Store
	hash *auth.Slots
	log  *slog.Logger

	loginFails   *limit.Limiter // failed logins per (email, client address): a stranger's guesses do not lock the owner out
	loginByEmail *limit.Limiter // failed logins per email from all addresses together: a slower cap on distributed guessing
	loginByIP    *limit.Limiter // failed logins per client address (a shared office NAT gets more)
	resetReqs    *limit.Limiter // password-reset mails per email and per address
	tokenGuesses *limit.Limiter // unknown invitation and password-reset tokens per client address

	setup firstRun // the setup link's token while no administrator exists
}

// New returns the accounts service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Hashing == nil {
		cfg.Hashing = auth.Hashing
	}
	if cfg.MaxLoginFailures < 1 {
		cfg.MaxLoginFailures = 5
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = 15 * time.Minute
	}
	if cfg.InvitationTTL <= 0 {
		cfg.InvitationTTL = 7 * 24 * time.Hour
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	n, w := cfg.MaxLoginFailures, cfg.LoginWindow
	return &Service{cfg: cfg, st: cfg.Store, hash: cfg.Hashing, log: cfg.Logger,
		loginFails:   limit.New(n, w),
		loginByEmail: limit.New(n*10, w),
		loginByIP:    limit.New(n*5, w),
		resetReqs:    limit.New(20, time.Hour),
		tokenGuesses: limit.New(20, 15*time.Minute),
	}
}

func (s *Service) passwordLoginOff() bool {
	return s.cfg.PasswordLoginOff != nil && s.cfg.PasswordLoginOff()
}

// Limited is the rate-limit fault, worded as the API has always worded it.
func Limited(wait time.Duration) *fault.Error {
	secs := int(wait.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	msg := strconv.Itoa(secs) + " seconds"
	if secs >= 90 {
		msg = strconv.Itoa((secs+59)/60) + " minutes"
	}
	return &fault.Error{Kind: fault.RateLimited, Message: "too many attempts; try again in " + msg,
		RetryAfter: time.Duration(secs) * time.Second}
}

// hashingError turns auth.ErrBusy (every password-hashing slot taken) into a 429.
func hashingError(err error) error {
	if errors.Is(err, auth.ErrBusy) {
		return Limited(time.Second)
	}
	return err
}

// NormEmail validates an address and returns its canonical form (store.CanonicalEmail).
func NormEmail(field, raw string) (string, error) {
	e := strings.TrimSpace(raw)
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return "", fault.Field(field, "%q is not an email address", raw)
	}
	return store.CanonicalEmail(e), nil
}

// CheckPassword is the rule for a new password.
func CheckPassword(field, pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < 8:
		return fault.Field(field, "the password must be at least 8 characters")
	case len(pw) > 1024:
		return fault.Field(field, "the password must be at most 1024 bytes")
	}
	return nil
}

// CheckName trims a display name and checks its length.
func CheckName(field, name string, required bool) (string, error) {
	name = strings.TrimSpace(name)
	if required && name == "" {
		return "", fault.Field(field, "%s must not be empty", field)
	}
	if utf8.RuneCountInString(name) > 200 {
		return "", fault.Field(field, "%s must be at most 200 characters", field)
	}
	return name, nil
}

func emailTaken() error {
	return fault.New(fault.Conflict, "an account with this email already exists; sign in or reset the password")
}

// Session is a new session token: the secret to hand the client and when it expires.
type Session struct {
	Secret  string
	Expires time.Time
}

// Sign-in methods, as StartSession records them. Single sign-on adds
// "oidc:<provider name>" and "ldap".
const (
	MethodPassword = "password"
	MethodSignup   = "signup" // a new account, signed in at once
	MethodSetup    = "setup"  // the first administrator, through the setup link
)

// StartSession issues a session token for u, signed in by method, and
// records the sign-in in the audit log: every way in goes through here, so
// a new one is recorded by passing its method.
func (s *Service) StartSession(ctx context.Context, u *store.User, method string) (Session, error) {
	secret, hash := auth.NewToken("qs_")
	exp := time.Now().Add(s.cfg.SessionTTL)
	tok, err := s.st.CreateToken(ctx, u.ID, store.TokenSession, "session", hash, "", &exp)
	if err != nil {
		return Session{}, err
	}
	a := audit.ActorFrom(ctx)
	a.UserID, a.TokenID, a.Email, a.Kind = u.ID, tok.ID, u.Email, audit.KindSession
	s.cfg.Audit.Record(ctx, audit.Event{Action: "auth.login", Actor: &a, Details: map[string]any{"method": method},
		Target: audit.Target{Type: "user", ID: strconv.FormatInt(u.ID, 10), Label: u.Email}})
	return Session{secret, exp}, nil
}

// loginRefused records a refused password login: the address typed (the
// account's id when it exists) and why, for the admins; the caller still
// learns nothing more than "wrong email or password".
func (s *Service) loginRefused(ctx context.Context, email string, u *store.User, outcome, reason string) {
	s.LoginRefused(ctx, MethodPassword, email, u, outcome, reason)
}

// LoginRefused records a refused sign-in by method ("password", "ldap",
// "oidc:<name>"): directory and SSO refusals are recorded like password ones.
func (s *Service) LoginRefused(ctx context.Context, method, email string, u *store.User, outcome, reason string) {
	a := audit.ActorFrom(ctx)
	a.Email = email
	t := audit.Target{Type: "user", Label: email}
	if u != nil {
		a.UserID, t.ID = u.ID, strconv.FormatInt(u.ID, 10)
	}
	s.cfg.Audit.Record(ctx, audit.Event{Action: "auth.login_failed", Actor: &a, Outcome: outcome, Target: t,
		Details: map[string]any{"method": method, "reason": reason}})
}

// SignupInput is what a signup carries.
type SignupInput struct {
	Email, Password, Name, InvitationToken string
	Address                                string // the client's address, for the token-guess limit
}

// Signup is a new account, signed in unless it waits for approval.
type Signup struct {
	User        *store.User
	Session     Session // empty while Pending
	WorkspaceID string  // joined through the invitation token
	Pending     bool    // the approval policy: no session until an admin approves
}

// Signup creates an account under the signup policy. Nobody signs up before
// the instance has an administrator (see signupAllowed), and no signup makes one.
func (s *Service) Signup(ctx context.Context, in SignupInput) (*Signup, error) {
	email, err := NormEmail("email", in.Email)
	if err != nil {
		return nil, err
	}
	name, err := CheckName("name", in.Name, false)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword("password", in.Password); err != nil {
		return nil, err
	}
	if s.passwordLoginOff() {
		return nil, PasswordLoginRefused() // such an account could not sign in
	}
	// Every check that needs no password hash comes first: hashing costs 64 MiB
	// for tens of milliseconds, and a refused signup must not cost that.
	var inv *store.Invitation
	if in.InvitationToken != "" {
		// Signing up from an invitation link joins the workspace in the same step.
		inv, err = s.InvitationByToken(ctx, in.InvitationToken, in.Address)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault.Field("invitation_token", "this invitation link is not valid; ask for a new one")
		}
		if err != nil {
			return nil, err
		}
		if inv.Status != store.InvitePending || inv.Expired() {
			return nil, GoneReason(inv)
		}
		if inv.Email != email {
			return nil, fault.Field("email", "this invitation was sent to %s; sign up with that address", inv.Email)
		}
	}
	pending, err := s.signupAllowed(ctx, inv)
	if err != nil {
		return nil, err
	}
	if _, err := s.st.UserByEmail(ctx, email); err == nil {
		return nil, emailTaken()
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	hash, err := s.hash.Hash(ctx, in.Password)
	if err != nil {
		return nil, hashingError(err)
	}
	// A mailed invitation proves the address, so it counts as verified.
	u, err := s.st.CreateAccount(ctx, store.NewUser{Email: email, Name: name, PasswordHash: hash, Verified: inv != nil, Pending: pending})
	if errors.Is(err, store.ErrConflict) {
		return nil, emailTaken() // a parallel signup won
	}
	if err != nil {
		return nil, err
	}
	out := &Signup{User: u, Pending: pending}
	if pending {
		s.log.Info("user signed up, waiting for approval", "user_id", u.ID)
		return out, nil
	}
	if inv != nil {
		if err := s.st.AcceptInvitation(ctx, inv.ID, u.ID); err != nil {
			s.log.Warn("signup: invitation not accepted", "invitation_id", inv.ID, "err", err)
		} else {
			out.WorkspaceID = inv.WorkspaceID
		}
	} else if s.cfg.RequireVerification {
		s.sendVerification(ctx, u)
	}
	if out.Session, err = s.StartSession(ctx, u, MethodSignup); err != nil {
		return nil, err
	}
	s.log.Info("user signed up", "user_id", u.ID, "admin", u.IsAdmin, "invited", inv != nil)
	return out, nil
}

// InvitationByToken resolves a mailed invitation token, whatever its status
// (store.ErrNotFound when unknown). Unknown tokens count against the caller's
// address, so tokens cannot be guessed in bulk.
func (s *Service) InvitationByToken(ctx context.Context, token, address string) (*store.Invitation, error) {
	if ok, wait := s.tokenGuesses.Take(address); !ok {
		return nil, Limited(wait)
	}
	inv, err := s.st.InvitationByToken(ctx, auth.HashToken(token))
	if err != nil {
		return nil, err
	}
	s.tokenGuesses.Return(address)
	return inv, nil
}

// GoneReason explains why an invitation cannot be used any more.
func GoneReason(i *store.Invitation) *fault.Error {
	what := "has expired"
	switch i.Status {
	case store.InviteAccepted:
		what = "was already used"
	case store.InviteDeclined:
		what = "was declined"
	case store.InviteCancelled:
		what = "was cancelled"
	}
	return Gone(what)
}

// Gone is an invitation that cannot be used: what says why.
func Gone(what string) *fault.Error {
	return fault.New(fault.Gone, "this invitation %s; ask a workspace admin for a new one", what)
}

// signupAllowed applies the admin's signup policy; inv is the invitation the
// signup presented a valid token for; pending means the account waits for an
// admin's approval. Before the instance has an administrator nobody signs up:
// nobody has chosen yet who may, and accounts made meanwhile would be there
// before that choice (the setup link makes the first account).
func (s *Service) signupAllowed(ctx context.Context, inv *store.Invitation) (pending bool, err error) {
	if done, err := s.st.AdminExists(ctx); err != nil {
		return false, err
	} else if !done {
		return false, fault.New(fault.Forbidden, "this instance is not set up yet: its administrator opens the setup link that the server printed when it started")
	}
	policy := SignupOpen
	if s.cfg.SignupPolicy != nil {
		policy = s.cfg.SignupPolicy()
	}
	switch policy {
	case SignupClosed:
		return false, fault.New(fault.Forbidden, "signup is closed on this instance; ask an administrator for an account")
	case SignupInviteOnly:
		// The mailed token, not the address: anyone can type an invited address.
		if inv == nil {
			return false, fault.New(fault.Forbidden, "signup on this instance is by invitation only; open the link in your invitation mail to create your account")
		}
	case SignupApproval:
		// An invitation is a workspace admin vouching for the address.
		return inv == nil, nil
	}
	return false, nil
}

func (s *Service) send(ctx context.Context, to, subject, body string) error {
	if s.cfg.Mailer == nil {
		return nil
	}
	return s.cfg.Mailer.Send(ctx, to, subject, body)
}

func (s *Service) sendVerification(ctx context.Context, u *store.User) {
	secret, hash := auth.NewToken("")
	if err := s.st.CreateEmailToken(ctx, u.ID, store.PurposeVerifyEmail, hash, time.Now().Add(72*time.Hour)); err != nil {
		s.log.Error("verification token", "err", err)
		return
	}
	link := s.cfg.PublicURL + "/verify-email?token=" + secret
	_ = s.send(ctx, u.Email, "Confirm your email for Quire",
		"Hello "+u.Name+",\n\nconfirm your email address by opening this link within 3 days:\n\n"+link+"\n")
}

// Login checks a password and starts a session. Each attempt takes a failure
// slot before the password is checked and gives it back on success, so
// parallel guesses cannot all slip in under the limit. Failures count per
// (email, address), so a stranger's guesses do not lock the owner out from
// their own address; per email from everywhere, with a higher cap, against
// guesses spread over many addresses; and per address.
func (s *Service) Login(ctx context.Context, rawEmail, password, address string) (*store.User, Session, error) {
	email := store.CanonicalEmail(rawEmail)
	pairKey := "email:" + email + "|" + address
	slots := []struct {
		lim *limit.Limiter
		key string
	}{{s.loginFails, pairKey}, {s.loginByEmail, "email:" + email}, {s.loginByIP, address}}
	giveBack := func(n int) {
		for _, l := range slots[:n] {
			l.lim.Return(l.key)
		}
	}
	for i, l := range slots {
		if ok, wait := l.lim.Take(l.key); !ok {
			giveBack(i)
			s.loginRefused(ctx, email, nil, store.AuditDenied, "too many failed attempts")
			return nil, Session{}, Limited(wait)
		}
	}
	u, err := s.st.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		giveBack(len(slots))
		return nil, Session{}, err
	}
	ok := false
	if u == nil {
		err = s.hash.Burn(ctx, password) // same cost as a real check: no enumeration by timing
	} else {
		ok, err = s.hash.Check(ctx, u.PasswordHash, password)
	}
	if err != nil {
		giveBack(len(slots)) // not checked, so not a failure
		return nil, Session{}, hashingError(err)
	}
	if !ok {
		reason := "wrong password"
		if u == nil {
			reason = "no such account"
		}
		s.loginRefused(ctx, email, u, store.AuditDenied, reason)
		return nil, Session{}, ErrBadLogin
	}
	giveBack(len(slots))
	// Only the account's own password learns that it waits for approval.
	if u.Pending {
		s.loginRefused(ctx, email, u, store.AuditDenied, "waiting for approval")
		return nil, Session{}, fault.New(fault.Forbidden, "your account is waiting for an administrator's approval; you can sign in once it is approved")
	}
	if u.Disabled {
		s.loginRefused(ctx, email, u, store.AuditDenied, "account deactivated")
		return nil, Session{}, ErrBadLogin
	}
	// After the password check, so the refusal tells a guesser nothing about who is an admin.
	if !u.IsAdmin && s.passwordLoginOff() {
		return nil, Session{}, PasswordLoginRefused()
	}
	s.loginFails.Reset(pairKey)
	sess, err := s.StartSession(ctx, u, MethodPassword)
	if err != nil {
		return nil, Session{}, err
	}
	return u, sess, nil
}

// Logout revokes the session (or key) the caller used.
func (s *Service) Logout(ctx context.Context, userID, tokenID int64) error {
	if err := s.st.DeleteToken(ctx, userID, tokenID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// VerifyEmail uses a mailed verification token.
func (s *Service) VerifyEmail(ctx context.Context, token string) error {
	uid, err := s.st.UseEmailToken(ctx, store.PurposeVerifyEmail, auth.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return fault.Field("token", "this verification link is invalid, used or expired; sign in to get a new one")
	}
	if err != nil {
		return err
	}
	return s.st.SetEmailVerified(ctx, uid)
}

// RequestPasswordReset mails a reset link when the address has an enabled
// account, and says nothing either way, so that it cannot be used to discover
// who uses the instance.
func (s *Service) RequestPasswordReset(ctx context.Context, rawEmail, address string) error {
	email := store.CanonicalEmail(rawEmail)
	for _, k := range []string{"email:" + email, address} {
		if ok, wait := s.resetReqs.Take(k); !ok {
			return Limited(wait)
		}
	}
	u, err := s.st.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return nil
	}
	if err != nil {
		return err
	}
	secret, hash := auth.NewToken("")
	if err := s.st.CreateEmailToken(ctx, u.ID, store.PurposePasswordReset, hash, time.Now().Add(time.Hour)); err != nil {
		return err
	}
	link := s.cfg.PublicURL + "/reset/confirm?token=" + secret
	return s.send(ctx, u.Email, "Reset your Quire password",
		"Someone asked to reset the password of your Quire account.\n\nOpen this link within an hour to choose a new password:\n\n"+link+
			"\n\nIf it was not you, ignore this mail: your password stays as it is.\n")
}

// ConfirmPasswordReset sets a new password with a mailed reset token. The
// token is checked before the new password is hashed: a bogus confirmation
// must cost a lookup, not 64 MiB of argon2. Unknown tokens count against the
// caller's address like invitation tokens.
func (s *Service) ConfirmPasswordReset(ctx context.Context, token, password, address string) error {
	if err := CheckPassword("password", password); err != nil {
		return err
	}
	tokenHash := auth.HashToken(token)
	if ok, wait := s.tokenGuesses.Take(address); !ok {
		return Limited(wait)
	}
	badToken := fault.Field("token", "this reset link is invalid, used or expired; ask for a new one")
	if live, err := s.st.PasswordResetTokenLive(ctx, tokenHash); err != nil {
		return err
	} else if !live {
		return badToken
	}
	s.tokenGuesses.Return(address)
	hash, err := s.hash.Hash(ctx, password)
	if err != nil {
		return hashingError(err)
	}
	err = s.st.ResetPassword(ctx, tokenHash, hash)
	if errors.Is(err, store.ErrNotFound) {
		return badToken // used by a parallel confirmation meanwhile
	}
	return err
}

// verifyCurrentPassword guards account-level changes against a borrowed session.
// Wrong guesses count like failed logins from the same address, so a borrowed
// session is no way around the login limit.
func (s *Service) verifyCurrentPassword(ctx context.Context, u *store.User, pw, address string) error {
	key := "email:" + u.Email + "|" + address
	if ok, wait := s.loginFails.Take(key); !ok {
		return Limited(wait)
	}
	ok, err := s.hash.Check(ctx, u.PasswordHash, pw)
	if err != nil {
		s.loginFails.Return(key)
		return hashingError(err)
	}
	if !ok {
		return fault.Field("current_password", "the current password is wrong")
	}
	s.loginFails.Return(key)
	return nil
}

// ChangePassword sets a new password after checking the current one. Every
// other session and every API key is revoked (store.SetPassword); keepSession
// is the session that changed it, which stays signed in (0 when the caller
// used an API key).
func (s *Service) ChangePassword(ctx context.Context, u *store.User, current, next string, keepSession int64, address string) error {
	if err := CheckPassword("new_password", next); err != nil {
		return err
	}
	if err := s.verifyCurrentPassword(ctx, u, current, address); err != nil {
		return err
	}
	hash, err := s.hash.Hash(ctx, next)
	if err != nil {
		return hashingError(err)
	}
	return s.st.SetPassword(ctx, u.ID, hash, keepSession)
}

// Delete deletes the account after checking its password, with the
// workspaces it owns alone.
func (s *Service) Delete(ctx context.Context, u *store.User, password, address string) error {
	if err := s.verifyCurrentPassword(ctx, u, password, address); err != nil {
		return err
	}
	err := s.st.DeleteUser(ctx, u.ID)
	if errors.Is(err, store.ErrConflict) {
		return fault.New(fault.Conflict, "you own a workspace that has other members; transfer its ownership or remove them first")
	}
	if errors.Is(err, store.ErrLastAdmin) {
		return lastAdmin()
	}
	if err != nil {
		return err
	}
	s.log.Info("account deleted", "user_id", u.ID)
	return nil
}

// Rename changes the display name.
func (s *Service) Rename(ctx context.Context, u *store.User, name string) (string, error) {
	name, err := CheckName("name", name, false)
	if err != nil {
		return "", err
	}
	return name, s.st.UpdateUserName(ctx, u.ID, name)
}

// APIKeys lists the user's API keys.
func (s *Service) APIKeys(ctx context.Context, userID int64) ([]store.Token, error) {
	return s.st.ListAPIKeys(ctx, userID)
}

// CreateAPIKey makes an API key, bound to a workspace of the user's when
// wsID is set; the secret is returned only here.
func (s *Service) CreateAPIKey(ctx context.Context, u *store.User, name, wsID string) (*store.Token, string, error) {
	name, err := CheckName("name", name, true)
	if err != nil {
		return nil, "", err
	}
	if wsID != "" {
		ws, err := s.st.WorkspaceForUser(ctx, wsID, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", fault.Field("workspace_id", "you are not a member of that workspace")
		} else if err != nil {
			return nil, "", err
		}
		if s.cfg.APIAccess != nil {
			if err := s.cfg.APIAccess(ctx, ws.ID); err != nil {
				return nil, "", err // a workspace key is for the /v1 API, which the plan must include
			}
		}
	}
	secret, hash := auth.NewToken("qk_")
	t, err := s.st.CreateToken(ctx, u.ID, store.TokenAPIKey, name, hash, wsID, nil)
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// DeleteAPIKey revokes one of the user's API keys.
func (s *Service) DeleteAPIKey(ctx context.Context, userID, id int64) error {
	if err := s.st.DeleteToken(ctx, userID, id); errors.Is(err, store.ErrNotFound) {
		return fault.New(fault.NotFound, "API key not found")
	} else if err != nil {
		return err
	}
	return nil
}

// CreateUser is the administrator's account creation (quire admin
// create-user): no signup policy, the address counts as verified. With admin
// it makes an instance administrator, which sets up a new instance (its setup
// link stops working).
func (s *Service) CreateUser(ctx context.Context, email, name, password string, admin bool) (*store.User, error) {
	hash, err := s.hash.Hash(ctx, password)
	if err != nil {
		return nil, hashingError(err)
	}
	return s.st.CreateAccount(ctx, store.NewUser{Email: email, Name: name, PasswordHash: hash, Verified: true, Admin: admin})
}

// SetPassword is the administrator's password reset (quire admin
// reset-password): it signs out every session and revokes every key.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	hash, err := s.hash.Hash(ctx, password)
	if err != nil {
		return hashingError(err)
	}
	return s.st.SetPassword(ctx, userID, hash, 0)
}

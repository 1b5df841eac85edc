package app

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"quire/app/auth"
	"quire/app/limit"
	"quire/store"
)

func (s *Server) health(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok", "version": Version})
}

// ready is 200 while the database takes writes; Ollama's state is reported, not fatal.
func (s *Server) ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	body := fiber.Map{"status": "ok", "database": "ok", "ollama": s.ollamaState(ctx)}
	if err := s.store.Ping(ctx); err != nil {
		s.log.Error("readiness: database not writable", "err", err)
		body["status"], body["database"] = "unavailable", "unwritable"
		return c.Status(fiber.StatusServiceUnavailable).JSON(body)
	}
	return c.JSON(body)
}

func (s *Server) ollamaState(ctx context.Context) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.currentSettings().OllamaURL, "/")+"/api/version", nil)
	if err != nil {
		return "unreachable"
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "unreachable"
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "unreachable"
	}
	return "ok"
}

// normEmail validates an address and returns its canonical form (store.CanonicalEmail).
func normEmail(field, raw string) (string, error) {
	e := strings.TrimSpace(raw)
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 {
		return "", invalid(field, "%q is not an email address", raw)
	}
	return store.CanonicalEmail(e), nil
}

// hashingError turns auth.ErrBusy (every password-hashing slot taken) into a 429.
func hashingError(c *fiber.Ctx, err error) error {
	if errors.Is(err, auth.ErrBusy) {
		return retryAfter(c, time.Second)
	}
	return err
}

func checkPassword(field, pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < 8:
		return invalid(field, "the password must be at least 8 characters")
	case len(pw) > 1024:
		return invalid(field, "the password must be at most 1024 bytes")
	}
	return nil
}

func checkName(field, name string, required bool) (string, error) {
	name = strings.TrimSpace(name)
	if required && name == "" {
		return "", invalid(field, "%s must not be empty", field)
	}
	if utf8.RuneCountInString(name) > 200 {
		return "", invalid(field, "%s must be at most 200 characters", field)
	}
	return name, nil
}

type authResponse struct {
	User  userJSON `json:"user"`
	Token string   `json:"token"`
}

// startSession issues a session token, returns it and sets it as the UI's cookie.
func (s *Server) startSession(c *fiber.Ctx, u *store.User) (string, error) {
	secret, hash := auth.NewToken("qs_")
	exp := time.Now().Add(s.cfg.SessionTTL.Duration)
	if _, err := s.store.CreateToken(c.UserContext(), u.ID, store.TokenSession, "session", hash, "", &exp); err != nil {
		return "", err
	}
	c.Cookie(&fiber.Cookie{
		Name: sessionCookie, Value: secret, Path: "/", Expires: exp,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: strings.HasPrefix(s.cfg.PublicURL(), "https://"),
	})
	return secret, nil
}

func emailTaken() *apiError {
	return conflict("an account with this email already exists; sign in or reset the password")
}

type signupResponse struct {
	authResponse
	WorkspaceID string `json:"workspace_id,omitempty"` // joined through invitation_token
}

func (s *Server) signup(c *fiber.Ctx) error {
	var in struct {
		Email           string `json:"email"`
		Password        string `json:"password"`
		Name            string `json:"name"`
		InvitationToken string `json:"invitation_token"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	email, err := normEmail("email", in.Email)
	if err != nil {
		return err
	}
	name, err := checkName("name", in.Name, false)
	if err != nil {
		return err
	}
	if err := checkPassword("password", in.Password); err != nil {
		return err
	}
	// Every check that needs no password hash comes first: hashing costs 64 MiB
	// for tens of milliseconds, and a refused signup must not cost that.
	ctx := c.UserContext()
	var inv *store.Invitation
	if in.InvitationToken != "" {
		// Signing up from an invitation link joins the workspace in the same step.
		if inv, err = s.invitationForSignup(c, in.InvitationToken); err != nil {
			return err
		}
		if inv.Email != email {
			return invalid("email", "this invitation was sent to %s; sign up with that address", inv.Email)
		}
	}
	if err := s.signupAllowed(ctx, inv); err != nil {
		return err
	}
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		return emailTaken()
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	hash, err := auth.Hashing.Hash(ctx, in.Password)
	if err != nil {
		return hashingError(c, err)
	}
	// A mailed invitation proves the address, so it counts as verified.
	u, err := s.store.CreateUser(ctx, email, name, hash, inv != nil)
	if errors.Is(err, store.ErrConflict) {
		return emailTaken() // a parallel signup won
	}
	if err != nil {
		return err
	}
	out := signupResponse{}
	if inv != nil {
		if err := s.store.AcceptInvitation(ctx, inv.ID, u.ID); err != nil {
			s.log.Warn("signup: invitation not accepted", "invitation_id", inv.ID, "err", err)
		} else {
			out.WorkspaceID = inv.WorkspaceID
		}
	} else if s.cfg.RequireVerification {
		s.sendVerification(ctx, u)
	}
	token, err := s.startSession(c, u)
	if err != nil {
		return err
	}
	s.log.Info("user signed up", "user_id", u.ID, "admin", u.IsAdmin, "invited", inv != nil)
	out.authResponse = authResponse{userView(u), token}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// invitationForSignup resolves the invitation token a signup carries. Unknown
// tokens count against the caller's address, as on the invitation routes.
func (s *Server) invitationForSignup(c *fiber.Ctx, token string) (*store.Invitation, error) {
	key := clientKey(c)
	if ok, wait := s.tokenGuesses.Take(key); !ok {
		return nil, retryAfter(c, wait)
	}
	inv, err := s.store.InvitationByToken(c.UserContext(), auth.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("invitation_token", "this invitation link is not valid; ask for a new one")
	}
	if err != nil {
		return nil, err
	}
	s.tokenGuesses.Return(key)
	if inv.Status != store.InvitePending || inv.Expired() {
		return nil, goneReason(inv)
	}
	return inv, nil
}

// signupAllowed applies the admin's signup policy; inv is the invitation the
// signup presented a valid token for. The first account is always allowed:
// someone must be able to set the instance up.
func (s *Server) signupAllowed(ctx context.Context, inv *store.Invitation) error {
	n, err := s.store.UserCount(ctx)
	if err != nil || n == 0 {
		return err
	}
	switch s.currentSettings().SignupPolicy {
	case SignupClosed:
		return forbidden("signup is closed on this instance; ask an administrator for an account")
	case SignupInviteOnly:
		// The mailed token, not the address: anyone can type an invited address.
		if inv == nil {
			return forbidden("signup on this instance is by invitation only; open the link in your invitation mail to create your account")
		}
	}
	return nil
}

func (s *Server) sendVerification(ctx context.Context, u *store.User) {
	secret, hash := auth.NewToken("")
	if err := s.store.CreateEmailToken(ctx, u.ID, store.PurposeVerifyEmail, hash, time.Now().Add(72*time.Hour)); err != nil {
		s.log.Error("verification token", "err", err)
		return
	}
	link := s.cfg.PublicURL() + "/verify-email?token=" + secret
	_ = s.mailer.Send(ctx, u.Email, "Confirm your email for Quire",
		"Hello "+u.Name+",\n\nconfirm your email address by opening this link within 3 days:\n\n"+link+"\n")
}

func (s *Server) login(c *fiber.Ctx) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	email := store.CanonicalEmail(in.Email)
	// Each attempt takes a failure slot before the password is checked and gives
	// it back on success, so parallel guesses cannot all slip in under the
	// limit. Failures count per (email, address), so a stranger's guesses do not
	// lock the owner out from their own address; per email from everywhere,
	// with a higher cap, against guesses spread over many addresses; and per address.
	pairKey := "email:" + email + "|" + clientKey(c)
	slots := []struct {
		lim *limit.Limiter
		key string
	}{{s.loginFails, pairKey}, {s.loginByEmail, "email:" + email}, {s.loginByIP, clientKey(c)}}
	giveBack := func(n int) {
		for _, l := range slots[:n] {
			l.lim.Return(l.key)
		}
	}
	for i, l := range slots {
		if ok, wait := l.lim.Take(l.key); !ok {
			giveBack(i)
			return retryAfter(c, wait)
		}
	}
	ctx := c.UserContext()
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		giveBack(len(slots))
		return err
	}
	ok := false
	if u == nil {
		err = auth.Hashing.Burn(ctx, in.Password) // same cost as a real check: no enumeration by timing
	} else {
		ok, err = auth.Hashing.Check(ctx, u.PasswordHash, in.Password)
	}
	if err != nil {
		giveBack(len(slots)) // not checked, so not a failure
		return hashingError(c, err)
	}
	if !ok || u.Disabled {
		return unauthenticated("wrong email or password")
	}
	giveBack(len(slots))
	s.loginFails.Reset(pairKey)
	token, err := s.startSession(c, u)
	if err != nil {
		return err
	}
	return c.JSON(authResponse{userView(u), token})
}

func (s *Server) logout(c *fiber.Ctx) error {
	id := identityOf(c)
	if err := s.store.DeleteToken(c.UserContext(), id.user.ID, id.token.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c.ClearCookie(sessionCookie)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) verifyEmail(c *fiber.Ctx) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	uid, err := s.store.UseEmailToken(c.UserContext(), store.PurposeVerifyEmail, auth.HashToken(in.Token))
	if errors.Is(err, store.ErrNotFound) {
		return invalid("token", "this verification link is invalid, used or expired; sign in to get a new one")
	}
	if err != nil {
		return err
	}
	if err := s.store.SetEmailVerified(c.UserContext(), uid); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// requestPasswordReset always answers 204, whether or not the address has an
// account, so the endpoint cannot be used to discover who uses the instance.
func (s *Server) requestPasswordReset(c *fiber.Ctx) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	email := store.CanonicalEmail(in.Email)
	for _, k := range []string{"email:" + email, clientKey(c)} {
		if ok, wait := s.resetReqs.Take(k); !ok {
			return retryAfter(c, wait)
		}
	}
	ctx := c.UserContext()
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return c.SendStatus(fiber.StatusNoContent)
	}
	if err != nil {
		return err
	}
	secret, hash := auth.NewToken("")
	if err := s.store.CreateEmailToken(ctx, u.ID, store.PurposePasswordReset, hash, time.Now().Add(time.Hour)); err != nil {
		return err
	}
	link := s.cfg.PublicURL() + "/reset/confirm?token=" + secret
	if err := s.mailer.Send(ctx, u.Email, "Reset your Quire password",
		"Someone asked to reset the password of your Quire account.\n\nOpen this link within an hour to choose a new password:\n\n"+link+
			"\n\nIf it was not you, ignore this mail: your password stays as it is.\n"); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) confirmPasswordReset(c *fiber.Ctx) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := checkPassword("password", in.Password); err != nil {
		return err
	}
	// The token is checked before the new password is hashed: a bogus
	// confirmation must cost a lookup, not 64 MiB of argon2. Unknown tokens
	// count against the caller's address like invitation tokens.
	ctx, tokenHash, key := c.UserContext(), auth.HashToken(in.Token), clientKey(c)
	if ok, wait := s.tokenGuesses.Take(key); !ok {
		return retryAfter(c, wait)
	}
	badToken := invalid("token", "this reset link is invalid, used or expired; ask for a new one")
	if live, err := s.store.PasswordResetTokenLive(ctx, tokenHash); err != nil {
		return err
	} else if !live {
		return badToken
	}
	s.tokenGuesses.Return(key)
	hash, err := auth.Hashing.Hash(ctx, in.Password)
	if err != nil {
		return hashingError(c, err)
	}
	err = s.store.ResetPassword(ctx, tokenHash, hash)
	if errors.Is(err, store.ErrNotFound) {
		return badToken // used by a parallel confirmation meanwhile
	}
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

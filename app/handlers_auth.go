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
	ctx := c.UserContext()
	var inv *store.Invitation
	if in.InvitationToken != "" {
		// Signing up from an invitation link joins the workspace in the same step.
		inv, err = s.store.InvitationByToken(ctx, auth.HashToken(in.InvitationToken))
		if errors.Is(err, store.ErrNotFound) {
			return invalid("invitation_token", "this invitation link is not valid; ask for a new one")
		}
		if err != nil {
			return err
		}
		if inv.Status != store.InvitePending || inv.Expired() {
			return goneReason(inv)
		}
		if inv.Email != email {
			return invalid("email", "this invitation was sent to %s; sign up with that address", inv.Email)
		}
	}
	if err := s.signupAllowed(ctx, inv); err != nil {
		return err
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return err
	}
	// A mailed invitation proves the address, so it counts as verified.
	u, err := s.store.CreateUser(ctx, email, name, hash, inv != nil)
	if errors.Is(err, store.ErrConflict) {
		return conflict("an account with this email already exists; sign in or reset the password")
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
	emailKey, ipKey := "email:"+email, clientKey(c)
	for _, l := range []struct {
		lim *limit.Limiter
		key string
	}{{s.loginFails, emailKey}, {s.loginByIP, ipKey}} {
		if blocked, wait := l.lim.Blocked(l.key); blocked {
			return retryAfter(c, wait)
		}
	}
	ctx := c.UserContext()
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	ok := false
	if u == nil {
		auth.BurnPasswordCheck(in.Password) // same cost as a real check: no enumeration by timing
	} else {
		ok, _ = auth.CheckPassword(u.PasswordHash, in.Password)
	}
	if !ok || u.Disabled {
		s.loginFails.Fail(emailKey)
		s.loginByIP.Fail(ipKey)
		return unauthenticated("wrong email or password")
	}
	s.loginFails.Reset(emailKey)
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
		if blocked, wait := s.resetReqs.Blocked(k); blocked {
			return retryAfter(c, wait)
		}
		s.resetReqs.Fail(k)
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
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return err
	}
	err = s.store.ResetPassword(c.UserContext(), auth.HashToken(in.Token), hash)
	if errors.Is(err, store.ErrNotFound) {
		return invalid("token", "this reset link is invalid, used or expired; ask for a new one")
	}
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

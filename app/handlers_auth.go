package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/account"
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

// normEmail validates an address and returns its canonical form (account.NormEmail).
func normEmail(field, raw string) (string, error) { return account.NormEmail(field, raw) }

func checkName(field, name string, required bool) (string, error) {
	return account.CheckName(field, name, required)
}

type authResponse struct {
	User  userJSON `json:"user"`
	Token string   `json:"token"`
}

// setSession sets a new session as the UI's cookie.
func (s *Server) setSession(c *fiber.Ctx, sess account.Session) {
	c.Cookie(&fiber.Cookie{
		Name: sessionCookie, Value: sess.Secret, Path: "/", Expires: sess.Expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: strings.HasPrefix(s.cfg.PublicURL(), "https://"),
	})
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
	out, err := s.account.Signup(c.UserContext(), account.SignupInput{Email: in.Email, Password: in.Password,
		Name: in.Name, InvitationToken: in.InvitationToken, Address: clientKey(c)})
	if err != nil {
		return err
	}
	if out.Pending {
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"user": userView(out.User), "pending": true})
	}
	s.setSession(c, out.Session)
	return c.Status(fiber.StatusCreated).JSON(signupResponse{authResponse{userView(out.User), out.Session.Secret}, out.WorkspaceID})
}

func (s *Server) login(c *fiber.Ctx) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u, sess, err := s.account.Login(c.UserContext(), in.Email, in.Password, clientKey(c))
	if errors.Is(err, account.ErrBadLogin) {
		return unauthenticated("wrong email or password")
	}
	if err != nil {
		return err
	}
	s.setSession(c, sess)
	return c.JSON(authResponse{userView(u), sess.Secret})
}

func (s *Server) logout(c *fiber.Ctx) error {
	id := identityOf(c)
	if err := s.account.Logout(c.UserContext(), id.user.ID, id.token.ID); err != nil {
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
	if err := s.account.VerifyEmail(c.UserContext(), in.Token); err != nil {
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
	if err := s.account.RequestPasswordReset(c.UserContext(), in.Email, clientKey(c)); err != nil {
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
	if err := s.account.ConfirmPasswordReset(c.UserContext(), in.Token, in.Password, clientKey(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

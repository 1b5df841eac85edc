package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/account"
	"quire/app/http/request"
)

func (s *Handlers) Health(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok", "version": s.Version})
}

// Ready is 200 while the database takes writes; Ollama's state is reported, not fatal.
func (s *Handlers) Ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	body := fiber.Map{"status": "ok", "database": "ok", "ollama": s.OllamaState(ctx)}
	if err := s.Store.Ping(ctx); err != nil {
		s.Log.Error("readiness: database not writable", "err", err)
		body["status"], body["database"] = "unavailable", "unwritable"
		return c.Status(fiber.StatusServiceUnavailable).JSON(body)
	}
	return c.JSON(body)
}

func (s *Handlers) OllamaState(ctx context.Context) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.Settings.Get().OllamaURL, "/")+"/api/version", nil)
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

func checkName(field, name string, required bool) (string, error) {
	return account.CheckName(field, name, required)
}

type authResponse struct {
	User  UserJSON `json:"user"`
	Token string   `json:"token"`
}

// setSession sets a new session as the UI's cookie.
func (s *Handlers) setSession(c *fiber.Ctx, sess account.Session) {
	c.Cookie(&fiber.Cookie{
		Name: request.SessionCookie, Value: sess.Secret, Path: "/", Expires: sess.Expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: strings.HasPrefix(s.Config.PublicURL(), "https://"),
	})
}

type signupResponse struct {
	authResponse
	WorkspaceID string `json:"workspace_id,omitempty"` // joined through invitation_token
}

func (s *Handlers) Signup(c *fiber.Ctx) error {
	var in struct {
		Email           string `json:"email"`
		Password        string `json:"password"`
		Name            string `json:"name"`
		InvitationToken string `json:"invitation_token"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.Account.Signup(c.UserContext(), account.SignupInput{Email: in.Email, Password: in.Password,
		Name: in.Name, InvitationToken: in.InvitationToken, Address: request.ClientKey(c)})
	if err != nil {
		return err
	}
	if out.Pending {
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"user": userView(out.User), "pending": true})
	}
	s.setSession(c, out.Session)
	return c.Status(fiber.StatusCreated).JSON(signupResponse{authResponse{userView(out.User), out.Session.Secret}, out.WorkspaceID})
}

func (s *Handlers) Login(c *fiber.Ctx) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	u, sess, err := s.Account.Login(c.UserContext(), in.Email, in.Password, request.ClientKey(c))
	if errors.Is(err, account.ErrBadLogin) {
		return request.Unauthenticated("wrong email or password")
	}
	if err != nil {
		return err
	}
	s.setSession(c, sess)
	return c.JSON(authResponse{userView(u), sess.Secret})
}

func (s *Handlers) Logout(c *fiber.Ctx) error {
	id := request.Identity(c)
	if err := s.Account.Logout(c.UserContext(), id.User.ID, id.Token.ID); err != nil {
		return err
	}
	c.ClearCookie(request.SessionCookie)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) VerifyEmail(c *fiber.Ctx) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.Account.VerifyEmail(c.UserContext(), in.Token); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// RequestPasswordReset always answers 204, whether or not the address has an
// account, so the endpoint cannot be used to discover who uses the instance.
func (s *Handlers) RequestPasswordReset(c *fiber.Ctx) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.Account.RequestPasswordReset(c.UserContext(), in.Email, request.ClientKey(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) ConfirmPasswordReset(c *fiber.Ctx) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.Account.ConfirmPasswordReset(c.UserContext(), in.Token, in.Password, request.ClientKey(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/store"
)

func (s *Handlers) GetMe(c *fiber.Ctx) error { return c.JSON(userView(request.User(c))) }

func (s *Handlers) PatchMe(c *fiber.Ctx) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	u := request.User(c)
	if in.Name != nil {
		name, err := s.Account.Rename(c.UserContext(), u, *in.Name)
		if err != nil {
			return err
		}
		u.Name = name
	}
	return c.JSON(userView(u))
}

func (s *Handlers) ChangePassword(c *fiber.Ctx) error {
	var in struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	id := request.Identity(c)
	keep := int64(0)
	if id.Token.Kind == store.TokenSession {
		keep = id.Token.ID // the session that changed it stays signed in
	}
	if err := s.Account.ChangePassword(c.UserContext(), id.User, in.CurrentPassword, in.NewPassword, keep, request.ClientKey(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) DeleteMe(c *fiber.Ctx) error {
	var in struct {
		CurrentPassword string `json:"current_password"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.Account.Delete(c.UserContext(), request.User(c), in.CurrentPassword, request.ClientKey(c)); err != nil {
		return err
	}
	c.ClearCookie(request.SessionCookie)
	s.Knowledge.SweepOrphans(false) // workspaces owned alone went with the account
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) ListTokens(c *fiber.Ctx) error {
	ts, err := s.Account.APIKeys(c.UserContext(), request.User(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(List[TokenJSON]{Items: MapSlice(ts, func(t *store.Token) TokenJSON { return tokenView(t, "") })})
}

func (s *Handlers) CreateToken(c *fiber.Ctx) error {
	var in struct {
		Name        string
		WorkspaceID string `json:"workspace_id"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	t, secret, err := s.Account.CreateAPIKey(c.UserContext(), request.User(c), in.Name, in.WorkspaceID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(tokenView(t, secret))
}

func (s *Handlers) DeleteToken(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return request.NotFound("API key")
	}
	if err := s.Account.DeleteAPIKey(c.UserContext(), request.User(c).ID, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

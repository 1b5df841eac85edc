package app

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/store"
)

func (s *Server) getMe(c *fiber.Ctx) error { return c.JSON(userView(userOf(c))) }

func (s *Server) patchMe(c *fiber.Ctx) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u := userOf(c)
	if in.Name != nil {
		name, err := s.account.Rename(c.UserContext(), u, *in.Name)
		if err != nil {
			return err
		}
		u.Name = name
	}
	return c.JSON(userView(u))
}

func (s *Server) changePassword(c *fiber.Ctx) error {
	var in struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	id := identityOf(c)
	keep := int64(0)
	if id.token.Kind == store.TokenSession {
		keep = id.token.ID // the session that changed it stays signed in
	}
	if err := s.account.ChangePassword(c.UserContext(), id.user, in.CurrentPassword, in.NewPassword, keep, clientKey(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) deleteMe(c *fiber.Ctx) error {
	var in struct {
		CurrentPassword string `json:"current_password"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.account.Delete(c.UserContext(), userOf(c), in.CurrentPassword, clientKey(c)); err != nil {
		return err
	}
	c.ClearCookie(sessionCookie)
	s.knowledge.SweepOrphans(false) // workspaces owned alone went with the account
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listTokens(c *fiber.Ctx) error {
	ts, err := s.account.APIKeys(c.UserContext(), userOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(list[tokenJSON]{Items: mapSlice(ts, func(t *store.Token) tokenJSON { return tokenView(t, "") })})
}

func (s *Server) createToken(c *fiber.Ctx) error {
	var in struct {
		Name        string
		WorkspaceID string `json:"workspace_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, secret, err := s.account.CreateAPIKey(c.UserContext(), userOf(c), in.Name, in.WorkspaceID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(tokenView(t, secret))
}

func (s *Server) deleteToken(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return notFound("API key")
	}
	if err := s.account.DeleteAPIKey(c.UserContext(), userOf(c).ID, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

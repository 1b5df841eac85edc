package app

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/auth"
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
		name, err := checkName("name", *in.Name, false)
		if err != nil {
			return err
		}
		if err := s.store.UpdateUserName(c.UserContext(), u.ID, name); err != nil {
			return err
		}
		u.Name = name
	}
	return c.JSON(userView(u))
}

// verifyCurrentPassword guards account-level changes against a borrowed session.
// Wrong guesses count like failed logins from the same address, so a borrowed
// session is no way around the login limit.
func (s *Server) verifyCurrentPassword(c *fiber.Ctx, u *store.User, pw string) error {
	key := "email:" + u.Email + "|" + clientKey(c)
	if ok, wait := s.loginFails.Take(key); !ok {
		return retryAfter(c, wait)
	}
	ok, err := auth.Hashing.Check(c.UserContext(), u.PasswordHash, pw)
	if err != nil {
		s.loginFails.Return(key)
		return hashingError(c, err)
	}
	if !ok {
		return invalid("current_password", "the current password is wrong")
	}
	s.loginFails.Return(key)
	return nil
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
	if err := checkPassword("new_password", in.NewPassword); err != nil {
		return err
	}
	if err := s.verifyCurrentPassword(c, id.user, in.CurrentPassword); err != nil {
		return err
	}
	hash, err := auth.Hashing.Hash(c.UserContext(), in.NewPassword)
	if err != nil {
		return hashingError(c, err)
	}
	// Every other session and every API key is revoked (store.SetPassword).
	keep := int64(0)
	if id.token.Kind == store.TokenSession {
		keep = id.token.ID // the session that changed it stays signed in
	}
	if err := s.store.SetPassword(c.UserContext(), id.user.ID, hash, keep); err != nil {
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
	u := userOf(c)
	if err := s.verifyCurrentPassword(c, u, in.CurrentPassword); err != nil {
		return err
	}
	err := s.store.DeleteUser(c.UserContext(), u.ID)
	if errors.Is(err, store.ErrConflict) {
		return conflict("you own a workspace that has other members; transfer its ownership or remove them first")
	}
	if err != nil {
		return err
	}
	c.ClearCookie(sessionCookie)
	s.knowledge.SweepOrphans(false) // workspaces owned alone went with the account
	s.log.Info("account deleted", "user_id", u.ID)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listTokens(c *fiber.Ctx) error {
	ts, err := s.store.ListAPIKeys(c.UserContext(), userOf(c).ID)
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
	name, err := checkName("name", in.Name, true)
	if err != nil {
		return err
	}
	u := userOf(c)
	if in.WorkspaceID != "" {
		ws, err := s.store.WorkspaceForUser(c.UserContext(), in.WorkspaceID, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return invalid("workspace_id", "you are not a member of that workspace")
		} else if err != nil {
			return err
		}
		if err := s.plan.APIAccess(c.UserContext(), ws.ID); err != nil {
			return err // a workspace key is for the /v1 API, which the plan must include
		}
	}
	secret, hash := auth.NewToken("qk_")
	t, err := s.store.CreateToken(c.UserContext(), u.ID, store.TokenAPIKey, name, hash, in.WorkspaceID, nil)
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
	if err := s.store.DeleteToken(c.UserContext(), userOf(c).ID, id); errors.Is(err, store.ErrNotFound) {
		return notFound("API key")
	} else if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

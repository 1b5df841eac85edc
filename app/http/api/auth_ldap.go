package api

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/app/identity"
)

// LDAPLogin signs in with a directory account ([ldap]).
func (s *Handlers) LDAPLogin(c *fiber.Ctx) error {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	res, err := s.Identity.LDAPLogin(c.UserContext(), in.Username, in.Password, request.ClientKey(c))
	if errors.Is(err, identity.ErrBadLogin) {
		return request.Unauthenticated("wrong username or password")
	}
	if err != nil {
		return err
	}
	if res.Pending {
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"user": userView(res.User), "pending": true})
	}
	s.setSession(c, res.Session)
	return c.JSON(authResponse{userView(res.User), res.Session.Secret})
}

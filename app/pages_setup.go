package app

import (
	"github.com/gofiber/fiber/v2"
)

// pageSetup is the first-run form behind the setup link: 410 once the
// instance has an administrator, 403 for any other token.
func (s *Server) pageSetup(c *fiber.Ctx) error {
	token := c.Query("token")
	if err := s.account.CheckSetupToken(c.UserContext(), token); err != nil {
		return err
	}
	return s.render(c, "setup", "Set up Quire", fiber.Map{
		"Token": token, "Models": s.setupChoices(c.UserContext()),
		"Policies": signupPolicies, "Policy": s.currentSettings().SignupPolicy,
	})
}

// pageSignup is the signup form, or why there is none yet: an instance
// without an administrator takes no signups (account.Service.Signup).
func (s *Server) pageSignup(c *fiber.Ctx) error {
	if identityOf(c) != nil {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	setUp, err := s.store.AdminExists(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, "signup", "Create account", fiber.Map{
		"Next": safeNext(c.Query("next")), "Policy": s.currentSettings().SignupPolicy, "SetUp": setUp,
	})
}

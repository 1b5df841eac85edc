package ui

import (
	"github.com/gofiber/fiber/v2"

	"quire/app/account"
	"quire/app/http/request"
)

// PageSetup is the first-run form behind the setup link: 410 once the
// instance has an administrator, 403 for any other token.
func (s *Pages) PageSetup(c *fiber.Ctx) error {
	token := c.Query("token")
	if err := s.Account.CheckSetupToken(c.UserContext(), token); err != nil {
		return err
	}
	return s.render(c, "setup", "Set up Quire", fiber.Map{
		"Token": token, "Models": s.api.SetupChoices(c.UserContext()),
		"Policies": account.SignupPolicies, "Policy": s.Settings.Get().SignupPolicy,
	})
}

// PageSignup is the signup form, or why there is none yet: an instance
// without an administrator takes no signups (account.Service.Signup).
func (s *Pages) PageSignup(c *fiber.Ctx) error {
	if request.Identity(c) != nil {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	setUp, err := s.Store.AdminExists(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, "signup", "Create account", fiber.Map{
		"Next": SafeNext(c.Query("next")), "Policy": s.Settings.Get().SignupPolicy, "SetUp": setUp,
	})
}

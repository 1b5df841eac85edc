package ui

import (
	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
)

// PageGroupRules is where workspace admins map directory groups to a role
// in the workspace or a place in a team.
func (s *Pages) PageGroupRules(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	rules, err := s.Store.ListGroupRules(c.UserContext(), ws.ID)
	if err != nil {
		return err
	}
	teams, err := s.Store.ListTeams(c.UserContext(), ws.ID)
	if err != nil {
		return err
	}
	return s.render(c, "group_rules", "Group rules · "+ws.Name, fiber.Map{"Rules": rules, "Teams": teams, "SSO": s.Identity.Providers()})
}

package api

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/app/identity"
	"quire/store"
)

// GroupRuleJSON is a workspace's rule for a directory group.
type GroupRuleJSON struct {
	ID        int64     `json:"id"`
	Group     string    `json:"group"`
	Role      *string   `json:"role"`    // "admin" or "member"; null for a team rule
	TeamID    *int64    `json:"team_id"` // null for a role rule
	TeamName  string    `json:"team_name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func groupRuleView(r *store.GroupRule) GroupRuleJSON {
	v := GroupRuleJSON{ID: r.ID, Group: r.Group, TeamName: r.TeamName, CreatedAt: r.CreatedAt}
	if r.TeamID != 0 {
		v.TeamID = &r.TeamID
	} else {
		v.Role = &r.Role
	}
	return v
}

func (s *Handlers) ListGroupRules(c *fiber.Ctx) error {
	rules, err := s.Store.ListGroupRules(c.UserContext(), request.Workspace(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(List[GroupRuleJSON]{Items: MapSlice(rules, groupRuleView)})
}

// maxGroupRules bounds one workspace's rules: each is compared at every sign-in.
const maxGroupRules = 500

func (s *Handlers) CreateGroupRule(c *fiber.Ctx) error {
	var in struct {
		Group  string  `json:"group"`
		Role   *string `json:"role"`
		TeamID *int64  `json:"team_id"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	group, err := identity.CheckGroupName(in.Group)
	if err != nil {
		return err
	}
	if (in.Role == nil) == (in.TeamID == nil) {
		return request.Invalid("role", "a rule gives either a role in the workspace (role) or a place in a team (team_id), not both")
	}
	role, team := "", int64(0)
	if in.Role != nil {
		if role = *in.Role; role != store.RoleAdmin && role != store.RoleMember {
			return request.Invalid("role", "role must be \"admin\" or \"member\" (the owner is never made by a rule)")
		}
	} else if team = *in.TeamID; team <= 0 {
		return request.Invalid("team_id", "team_id must be the id of a team of this workspace")
	}
	ws := request.Workspace(c)
	if rules, err := s.Store.ListGroupRules(c.UserContext(), ws.ID); err != nil {
		return err
	} else if len(rules) >= maxGroupRules {
		return request.Conflict("this workspace has %d group rules, the most it may have; delete some first", maxGroupRules)
	}
	r, err := s.Store.CreateGroupRule(c.UserContext(), ws.ID, group, role, team)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return request.Invalid("team_id", "there is no team %d in this workspace", team)
	case errors.Is(err, store.ErrConflict):
		return request.Conflict("this workspace already has that rule for %q", group)
	case err != nil:
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(groupRuleView(r))
}

func (s *Handlers) DeleteGroupRule(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("rule_id"), 10, 64)
	if err != nil || id <= 0 {
		return request.NotFound("group rule")
	}
	err = s.Store.DeleteGroupRule(c.UserContext(), request.Workspace(c).ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return request.NotFound("group rule")
	}
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

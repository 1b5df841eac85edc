package api

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/store"
)

func (s *Handlers) ListTeams(c *fiber.Ctx) error {
	teams, err := s.Store.ListTeams(c.UserContext(), request.Workspace(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(List[TeamJSON]{Items: MapSlice(teams, teamView)})
}

type teamInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	OwnerID     *int64  `json:"owner_id"` // PATCH only: hand the team to another workspace member
}

func (s *Handlers) CreateTeam(c *fiber.Ctx) error {
	var in teamInput
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return request.Invalid("name", "name must not be empty")
	}
	if in.OwnerID != nil {
		return request.Invalid("owner_id", "the creator owns a new team; change the owner afterwards")
	}
	name, desc, err := checkTeamInput(*in.Name, in.Description, "")
	if err != nil {
		return err
	}
	t, err := s.Store.CreateTeam(c.UserContext(), request.Workspace(c).ID, request.User(c).ID, name, desc)
	if errors.Is(err, store.ErrConflict) {
		return request.Conflict("a team named %q already exists in this workspace", name)
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(teamView(t))
}

func checkTeamInput(name string, desc *string, oldDesc string) (string, string, error) {
	n, err := checkName("name", name, true)
	if err != nil {
		return "", "", err
	}
	d := oldDesc
	if desc != nil {
		if len([]rune(*desc)) > 1000 {
			return "", "", request.Invalid("description", "description must be at most 1000 characters")
		}
		d = *desc
	}
	return n, d, nil
}

func (s *Handlers) GetTeam(c *fiber.Ctx) error {
	return c.JSON(teamView(request.Team(c)))
}

func (s *Handlers) PatchTeam(c *fiber.Ctx) error {
	var in teamInput
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	t := request.Team(c)
	name := t.Name
	if in.Name != nil {
		name = *in.Name
	}
	name, desc, err := checkTeamInput(name, in.Description, t.Description)
	if err != nil {
		return err
	}
	ws := request.Workspace(c)
	owner := t.OwnerID
	if in.OwnerID != nil {
		if _, err := s.Store.GetMember(c.UserContext(), ws.ID, *in.OwnerID); errors.Is(err, store.ErrNotFound) {
			return request.Invalid("owner_id", "the team owner must be a member of this workspace")
		} else if err != nil {
			return err
		}
		owner = *in.OwnerID
	}
	if err := s.Store.UpdateTeam(c.UserContext(), ws.ID, t.ID, name, desc, owner); errors.Is(err, store.ErrConflict) {
		return request.Conflict("a team named %q already exists in this workspace", name)
	} else if err != nil {
		return err
	}
	t, err = s.Store.GetTeam(c.UserContext(), ws.ID, t.ID)
	if err != nil {
		return err
	}
	return c.JSON(teamView(t))
}

func (s *Handlers) DeleteTeam(c *fiber.Ctx) error {
	if err := s.Store.DeleteTeam(c.UserContext(), request.Workspace(c).ID, request.Team(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) ListTeamMembers(c *fiber.Ctx) error {
	return c.JSON(teamView(request.Team(c)).members())
}

func (v TeamJSON) members() List[TeamMemberJSON] { return List[TeamMemberJSON]{Items: v.Members} }

func (s *Handlers) AddTeamMember(c *fiber.Ctx) error {
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	ws, t := request.Workspace(c), request.Team(c)
	err := s.Store.AddTeamMember(c.UserContext(), ws.ID, t.ID, in.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return request.Invalid("user_id", "only members of this workspace can join its teams")
	case errors.Is(err, store.ErrConflict):
		return request.Conflict("that person is already in %s", t.Name)
	case err != nil:
		return err
	}
	t, err = s.Store.GetTeam(c.UserContext(), ws.ID, t.ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(teamView(t))
}

func (s *Handlers) RemoveTeamMember(c *fiber.Ctx) error {
	uid, err := strconv.ParseInt(c.Params("user_id"), 10, 64)
	if err != nil {
		return request.NotFound("team member")
	}
	if err := s.Store.RemoveTeamMember(c.UserContext(), request.Workspace(c).ID, request.Team(c).ID, uid); errors.Is(err, store.ErrNotFound) {
		return request.NotFound("team member")
	} else if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

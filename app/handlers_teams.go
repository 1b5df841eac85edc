package app

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/store"
)

func teamOf(c *fiber.Ctx) *store.Team {
	return teamLocal.get(c)
}

func (s *Server) listTeams(c *fiber.Ctx) error {
	teams, err := s.store.ListTeams(c.UserContext(), workspaceOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(list[teamJSON]{Items: mapSlice(teams, teamView)})
}

type teamInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	OwnerID     *int64  `json:"owner_id"` // PATCH only: hand the team to another workspace member
}

func (s *Server) createTeam(c *fiber.Ctx) error {
	var in teamInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return invalid("name", "name must not be empty")
	}
	if in.OwnerID != nil {
		return invalid("owner_id", "the creator owns a new team; change the owner afterwards")
	}
	name, desc, err := checkTeamInput(*in.Name, in.Description, "")
	if err != nil {
		return err
	}
	t, err := s.store.CreateTeam(c.UserContext(), workspaceOf(c).ID, userOf(c).ID, name, desc)
	if errors.Is(err, store.ErrConflict) {
		return conflict("a team named %q already exists in this workspace", name)
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
			return "", "", invalid("description", "description must be at most 1000 characters")
		}
		d = *desc
	}
	return n, d, nil
}

func (s *Server) getTeam(c *fiber.Ctx) error {
	t, err := s.loadTeam(c, workspaceOf(c))
	if err != nil {
		return err
	}
	return c.JSON(teamView(t))
}

func (s *Server) patchTeam(c *fiber.Ctx) error {
	var in teamInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t := teamOf(c)
	name := t.Name
	if in.Name != nil {
		name = *in.Name
	}
	name, desc, err := checkTeamInput(name, in.Description, t.Description)
	if err != nil {
		return err
	}
	ws := workspaceOf(c)
	owner := t.OwnerID
	if in.OwnerID != nil {
		if _, err := s.store.GetMember(c.UserContext(), ws.ID, *in.OwnerID); errors.Is(err, store.ErrNotFound) {
			return invalid("owner_id", "the team owner must be a member of this workspace")
		} else if err != nil {
			return err
		}
		owner = *in.OwnerID
	}
	if err := s.store.UpdateTeam(c.UserContext(), ws.ID, t.ID, name, desc, owner); errors.Is(err, store.ErrConflict) {
		return conflict("a team named %q already exists in this workspace", name)
	} else if err != nil {
		return err
	}
	t, err = s.store.GetTeam(c.UserContext(), ws.ID, t.ID)
	if err != nil {
		return err
	}
	return c.JSON(teamView(t))
}

func (s *Server) deleteTeam(c *fiber.Ctx) error {
	if err := s.store.DeleteTeam(c.UserContext(), workspaceOf(c).ID, teamOf(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listTeamMembers(c *fiber.Ctx) error {
	t, err := s.loadTeam(c, workspaceOf(c))
	if err != nil {
		return err
	}
	return c.JSON(teamView(t).members())
}

func (v teamJSON) members() list[teamMemberJSON] { return list[teamMemberJSON]{Items: v.Members} }

func (s *Server) addTeamMember(c *fiber.Ctx) error {
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ws, t := workspaceOf(c), teamOf(c)
	err := s.store.AddTeamMember(c.UserContext(), ws.ID, t.ID, in.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return invalid("user_id", "only members of this workspace can join its teams")
	case errors.Is(err, store.ErrConflict):
		return conflict("that person is already in %s", t.Name)
	case err != nil:
		return err
	}
	t, err = s.store.GetTeam(c.UserContext(), ws.ID, t.ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(teamView(t))
}

func (s *Server) removeTeamMember(c *fiber.Ctx) error {
	uid, err := strconv.ParseInt(c.Params("user_id"), 10, 64)
	if err != nil {
		return notFound("team member")
	}
	if err := s.store.RemoveTeamMember(c.UserContext(), workspaceOf(c).ID, teamOf(c).ID, uid); errors.Is(err, store.ErrNotFound) {
		return notFound("team member")
	} else if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

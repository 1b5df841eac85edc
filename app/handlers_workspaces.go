package app

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/account"
	"quire/store"
)

func (s *Server) listWorkspaces(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	if ws := keyWorkspaceOf(c); ws != nil {
		// A bound key lists its own workspace only; it is all of the first page.
		rows := []store.Workspace{}
		if cursor == "" {
			rows = append(rows, *ws)
		}
		return c.JSON(page(rows, limit, func(w *store.Workspace) string { return w.ID }, workspaceView))
	}
	rows, err := s.store.ListWorkspaces(c.UserContext(), userOf(c).ID, cursor, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(w *store.Workspace) string { return w.ID }, workspaceView))
}

func (s *Server) createWorkspace(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	name, err := checkName("name", in.Name, true)
	if err != nil {
		return err
	}
	ws, err := s.store.CreateWorkspace(c.UserContext(), userOf(c).ID, name)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(workspaceView(ws))
}

// getWorkspace reports the workspace with the plan it is really on (with
// billing on, that follows its subscription, not the stored default).
func (s *Server) getWorkspace(c *fiber.Ctx) error {
	ws := workspaceOf(c)
	v := workspaceView(ws)
	if p, err := s.plan.Of(c.UserContext(), ws.ID); err == nil {
		v.Plan = p.Key
	}
	return c.JSON(v)
}

func (s *Server) patchWorkspace(c *fiber.Ctx) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ws := workspaceOf(c)
	if in.Name != nil {
		name, err := checkName("name", *in.Name, true)
		if err != nil {
			return err
		}
		if err := s.store.RenameWorkspace(c.UserContext(), ws.ID, name); err != nil {
			return err
		}
		ws.Name = name
	}
	return c.JSON(workspaceView(ws))
}

func (s *Server) deleteWorkspace(c *fiber.Ctx) error {
	ws := workspaceOf(c)
	if err := s.store.DeleteWorkspace(c.UserContext(), ws.ID); err != nil {
		return err
	}
	s.knowledge.SweepOrphans(false)
	s.log.Info("workspace deleted", "workspace_id", ws.ID, "by", userOf(c).ID)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) transferWorkspace(c *fiber.Ctx) error {
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ws := workspaceOf(c)
	err := s.store.TransferOwnership(c.UserContext(), ws.ID, in.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return invalid("user_id", "the new owner must be a member of this workspace")
	}
	if err != nil {
		return err
	}
	ws, err = s.store.WorkspaceForUser(c.UserContext(), ws.ID, userOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(workspaceView(ws))
}

func (s *Server) leaveWorkspace(c *fiber.Ctx) error {
	ws := workspaceOf(c)
	if ws.Role == store.RoleOwner {
		return conflict("the owner cannot leave; transfer ownership to another member first")
	}
	if err := s.store.RemoveMember(c.UserContext(), ws.ID, userOf(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listMembers(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	after, err := intCursor(cursor)
	if err != nil {
		return err
	}
	rows, err := s.store.ListMembers(c.UserContext(), workspaceOf(c).ID, after, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(m *store.Member) string { return strconv.FormatInt(m.UserID, 10) }, memberView))
}

// addMember brings a person into the workspace by email (account.AddMember):
// 202 with the invitation, as POST .../invitations gives, or, for an instance
// administrator adding an existing active account, 201 with the member.
func (s *Server) addMember(c *fiber.Ctx) error {
	var in struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.account.AddMember(c.UserContext(), workspaceOf(c).ID, userOf(c), in.Email, in.Role)
	if err != nil {
		return err
	}
	if out.Member != nil {
		return c.Status(fiber.StatusCreated).JSON(memberView(out.Member))
	}
	return c.Status(fiber.StatusAccepted).JSON(s.withLink(out.Invitation, out.Secret))
}

// targetMember loads the {user_id} member of the workspace, refusing the owner.
func (s *Server) targetMember(c *fiber.Ctx) (*store.Member, error) {
	uid, err := strconv.ParseInt(c.Params("user_id"), 10, 64)
	if err != nil {
		return nil, notFound("member")
	}
	m, err := s.store.GetMember(c.UserContext(), workspaceOf(c).ID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("member")
	}
	if err != nil {
		return nil, err
	}
	if m.Role == store.RoleOwner {
		return nil, forbidden("nobody can change or remove the owner; the owner can transfer ownership")
	}
	return m, nil
}

func (s *Server) patchMember(c *fiber.Ctx) error {
	var in struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := account.CheckAssignableRole(in.Role); err != nil {
		return err
	}
	m, err := s.targetMember(c)
	if err != nil {
		return err
	}
	if err := s.store.SetMemberRole(c.UserContext(), workspaceOf(c).ID, m.UserID, in.Role); err != nil {
		return err
	}
	m.Role = in.Role
	return c.JSON(memberView(m))
}

func (s *Server) removeMember(c *fiber.Ctx) error {
	m, err := s.targetMember(c)
	if err != nil {
		return err
	}
	if err := s.store.RemoveMember(c.UserContext(), workspaceOf(c).ID, m.UserID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

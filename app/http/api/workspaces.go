package api

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/store"
)

func (s *Handlers) ListWorkspaces(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	if ws := request.KeyWorkspace(c); ws != nil {
		// A bound key lists its own workspace only; it is all of the first page.
		rows := []store.Workspace{}
		if cursor == "" {
			rows = append(rows, *ws)
		}
		return c.JSON(page(rows, limit, func(w *store.Workspace) string { return w.ID }, WorkspaceView))
	}
	rows, err := s.Store.ListWorkspaces(c.UserContext(), request.User(c).ID, cursor, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(w *store.Workspace) string { return w.ID }, WorkspaceView))
}

func (s *Handlers) CreateWorkspace(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	name, err := checkName("name", in.Name, true)
	if err != nil {
		return err
	}
	ws, err := s.Store.CreateWorkspace(c.UserContext(), request.User(c).ID, name)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(WorkspaceView(ws))
}

// GetWorkspace reports the workspace with the plan it is really on (with
// billing on, that follows its subscription, not the stored default).
func (s *Handlers) GetWorkspace(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	v := WorkspaceView(ws)
	if p, err := s.Plan.Of(c.UserContext(), ws.ID); err == nil {
		v.Plan = p.Key
	}
	return c.JSON(v)
}

func (s *Handlers) PatchWorkspace(c *fiber.Ctx) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	ws := request.Workspace(c)
	if in.Name != nil {
		name, err := checkName("name", *in.Name, true)
		if err != nil {
			return err
		}
		if err := s.Store.RenameWorkspace(c.UserContext(), ws.ID, name); err != nil {
			return err
		}
		ws.Name = name
	}
	return c.JSON(WorkspaceView(ws))
}

func (s *Handlers) DeleteWorkspace(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	if err := s.Store.DeleteWorkspace(c.UserContext(), ws.ID); err != nil {
		return err
	}
	s.Knowledge.SweepOrphans(false)
	s.Log.Info("workspace deleted", "workspace_id", ws.ID, "by", request.User(c).ID)
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) TransferWorkspace(c *fiber.Ctx) error {
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	ws := request.Workspace(c)
	err := s.Store.TransferOwnership(c.UserContext(), ws.ID, in.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return request.Invalid("user_id", "the new owner must be a member of this workspace")
	}
	if err != nil {
		return err
	}
	ws, err = s.Store.WorkspaceForUser(c.UserContext(), ws.ID, request.User(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(WorkspaceView(ws))
}

func (s *Handlers) LeaveWorkspace(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	if ws.Role == store.RoleOwner {
		return request.Conflict("the owner cannot leave; transfer ownership to another member first")
	}
	if err := s.Store.RemoveMember(c.UserContext(), ws.ID, request.User(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) ListMembers(c *fiber.Ctx) error {
	limit, after, err := intPaging(c)
	if err != nil {
		return err
	}
	rows, err := s.Store.ListMembers(c.UserContext(), request.Workspace(c).ID, after, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(m *store.Member) string { return strconv.FormatInt(m.UserID, 10) }, memberView))
}

// AddMember brings a person into the workspace by email (account.AddMember):
// 202 with the invitation, as POST .../invitations gives, or, for an instance
// administrator adding an existing active account, 201 with the member.
func (s *Handlers) AddMember(c *fiber.Ctx) error {
	var in struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.Account.AddMember(c.UserContext(), request.Workspace(c).ID, request.User(c), in.Email, in.Role)
	if err != nil {
		return err
	}
	if out.Member != nil {
		return c.Status(fiber.StatusCreated).JSON(memberView(out.Member))
	}
	return c.Status(fiber.StatusAccepted).JSON(s.withLink(out.Invitation, out.Secret))
}

// targetMember loads the {user_id} member of the workspace, refusing the owner.
func (s *Handlers) PatchMember(c *fiber.Ctx) error {
	var in struct {
		Role string `json:"role"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	uid, err := memberParam(c)
	if err != nil {
		return err
	}
	m, err := s.Account.SetRole(c.UserContext(), request.Workspace(c).ID, uid, in.Role)
	if err != nil {
		return err
	}
	return c.JSON(memberView(m))
}

func (s *Handlers) RemoveMember(c *fiber.Ctx) error {
	uid, err := memberParam(c)
	if err != nil {
		return err
	}
	if err := s.Account.RemoveMember(c.UserContext(), request.Workspace(c).ID, uid); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// memberParam is the {user_id} of a member route.
func memberParam(c *fiber.Ctx) (int64, error) {
	uid, err := strconv.ParseInt(c.Params("user_id"), 10, 64)
	if err != nil {
		return 0, request.NotFound("member")
	}
	return uid, nil
}

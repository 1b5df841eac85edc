package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/account"
	"quire/app/http/request"
	"quire/store"
)

// InvitationWithLink is what an admin gets back: the link too, so it can be
// handed over in person on a site without mail.
type InvitationWithLink struct {
	InvitationJSON
	InviteURL string `json:"invite_url"`
	// Mailed is false when no mail server is configured: the mail only went
	// to the outbox, and the link must be handed over by the inviter.
	Mailed bool `json:"mailed"`
}

func (s *Handlers) inviteURL(secret string) string { return s.Account.InviteURL(secret) }

// GoneReason explains why an invitation cannot be used any more.
func GoneReason(i *store.Invitation) error { return account.GoneReason(i) }

func (s *Handlers) withLink(inv *store.Invitation, secret string) InvitationWithLink {
	return InvitationWithLink{invitationView(inv), s.inviteURL(secret), s.Config.SMTP.Host != ""}
}

func (s *Handlers) ListInvitations(c *fiber.Ctx) error {
	inv, err := s.Store.ListInvitations(c.UserContext(), request.Workspace(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(List[InvitationJSON]{Items: MapSlice(inv, invitationView)})
}

func (s *Handlers) CreateInvitation(c *fiber.Ctx) error {
	var in struct {
		Email  string `json:"email"`
		Role   string `json:"role"`
		TeamID *int64 `json:"team_id"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	var teamID int64
	if in.TeamID != nil {
		teamID = *in.TeamID
	}
	inv, secret, err := s.Account.Invite(c.UserContext(), request.Workspace(c).ID, request.User(c), in.Email, in.Role, teamID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(s.withLink(inv, secret))
}

func (s *Handlers) invitationParam(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return 0, request.NotFound("invitation")
	}
	return id, nil
}

func (s *Handlers) ResendInvitation(c *fiber.Ctx) error {
	id, err := s.invitationParam(c)
	if err != nil {
		return err
	}
	inv, secret, err := s.Account.Resend(c.UserContext(), request.Workspace(c).ID, request.User(c), id)
	if err != nil {
		return err
	}
	return c.JSON(s.withLink(inv, secret))
}

func (s *Handlers) CancelInvitation(c *fiber.Ctx) error {
	id, err := s.invitationParam(c)
	if err != nil {
		return err
	}
	if err := s.Account.Cancel(c.UserContext(), request.Workspace(c).ID, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// acceptInvitationToken: the mailed token proves that the caller reads mail
// at the invited address, so using it verifies the account's address.
func (s *Handlers) AcceptInvitationToken(c *fiber.Ctx) error {
	wsID, err := s.Account.AcceptByToken(c.UserContext(), request.User(c), c.Params("token"), request.ClientKey(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"workspace_id": wsID})
}

func (s *Handlers) DeclineInvitationToken(c *fiber.Ctx) error {
	if err := s.Account.DeclineByToken(c.UserContext(), request.User(c), c.Params("token"), request.ClientKey(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) ListMyInvitations(c *fiber.Ctx) error {
	inv, err := s.Account.Pending(c.UserContext(), request.User(c))
	if err != nil {
		return err
	}
	return c.JSON(List[InvitationJSON]{Items: MapSlice(inv, invitationView)})
}

func (s *Handlers) AcceptMyInvitation(c *fiber.Ctx) error {
	id, err := s.invitationParam(c)
	if err != nil {
		return err
	}
	wsID, err := s.Account.AcceptByID(c.UserContext(), request.User(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"workspace_id": wsID})
}

func (s *Handlers) DeclineMyInvitation(c *fiber.Ctx) error {
	id, err := s.invitationParam(c)
	if err != nil {
		return err
	}
	if err := s.Account.DeclineByID(c.UserContext(), request.User(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

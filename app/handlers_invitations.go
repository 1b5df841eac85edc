package app

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/account"
	"quire/store"
)

// invitationWithLink is what an admin gets back: the link too, so it can be
// handed over in person on a site without mail.
type invitationWithLink struct {
	invitationJSON
	InviteURL string `json:"invite_url"`
	// Mailed is false when no mail server is configured: the mail only went
	// to the outbox, and the link must be handed over by the inviter.
	Mailed bool `json:"mailed"`
}

func (s *Server) inviteURL(secret string) string { return s.account.InviteURL(secret) }

// goneReason explains why an invitation cannot be used any more.
func goneReason(i *store.Invitation) error { return account.GoneReason(i) }

func (s *Server) withLink(inv *store.Invitation, secret string) invitationWithLink {
	return invitationWithLink{invitationView(inv), s.inviteURL(secret), s.cfg.SMTP.Host != ""}
}

func (s *Server) listInvitations(c *fiber.Ctx) error {
	inv, err := s.store.ListInvitations(c.UserContext(), workspaceOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(list[invitationJSON]{Items: mapSlice(inv, invitationView)})
}

func (s *Server) createInvitation(c *fiber.Ctx) error {
	var in struct {
		Email  string `json:"email"`
		Role   string `json:"role"`
		TeamID *int64 `json:"team_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var teamID int64
	if in.TeamID != nil {
		teamID = *in.TeamID
	}
	inv, secret, err := s.account.Invite(c.UserContext(), workspaceOf(c).ID, userOf(c), in.Email, in.Role, teamID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(s.withLink(inv, secret))
}

func (s *Server) invitationParam(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return 0, notFound("invitation")
	}
	return id, nil
}

func (s *Server) resendInvitation(c *fiber.Ctx) error {
	id, err := s.invitationParam(c)
	if err != nil {
		return err
	}
	inv, secret, err := s.account.Resend(c.UserContext(), workspaceOf(c).ID, userOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(s.withLink(inv, secret))
}

func (s *Server) cancelInvitation(c *fiber.Ctx) error {
	id, err := s.invitationParam(c)
	if err != nil {
		return err
	}
	if err := s.account.Cancel(c.UserContext(), workspaceOf(c).ID, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// acceptInvitationToken: the mailed token proves that the caller reads mail
// at the invited address, so using it verifies the account's address.
func (s *Server) acceptInvitationToken(c *fiber.Ctx) error {
	wsID, err := s.account.AcceptByToken(c.UserContext(), userOf(c), c.Params("token"), clientKey(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"workspace_id": wsID})
}

func (s *Server) declineInvitationToken(c *fiber.Ctx) error {
	if err := s.account.DeclineByToken(c.UserContext(), userOf(c), c.Params("token"), clientKey(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listMyInvitations(c *fiber.Ctx) error {
	inv, err := s.account.Pending(c.UserContext(), userOf(c))
	if err != nil {
		return err
	}
	return c.JSON(list[invitationJSON]{Items: mapSlice(inv, invitationView)})
}

func (s *Server) acceptMyInvitation(c *fiber.Ctx) error {
	id, err := s.invitationParam(c)
	if err != nil {
		return err
	}
	wsID, err := s.account.AcceptByID(c.UserContext(), userOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"workspace_id": wsID})
}

func (s *Server) declineMyInvitation(c *fiber.Ctx) error {
	id, err := s.invitationParam(c)
	if err != nil {
		return err
	}
	if err := s.account.DeclineByID(c.UserContext(), userOf(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

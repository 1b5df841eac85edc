package app

import (
	"context"
	"errors"
	"fmt"
	"quire/app/account"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/auth"
	"quire/store"
)

// invitationWithLink is what an admin gets back: the link too, so it can be
// handed over in person on a site without mail.
type invitationWithLink struct {
	invitationJSON
	InviteURL string `json:"invite_url"`
}

func (s *Server) inviteURL(secret string) string { return s.cfg.PublicURL() + "/invite/" + secret }

func gone(what string) error { return account.Gone(what) }

// goneReason explains why an invitation cannot be used any more.
func goneReason(i *store.Invitation) error { return account.GoneReason(i) }

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
	email, err := checkPerson(in.Email, &in.Role)
	if err != nil {
		return err
	}
	var teamID int64
	if in.TeamID != nil && *in.TeamID != 0 {
		if _, err := s.store.GetTeam(c.UserContext(), workspaceOf(c).ID, *in.TeamID); errors.Is(err, store.ErrNotFound) {
			return invalid("team_id", "no such team in this workspace")
		} else if err != nil {
			return err
		}
		teamID = *in.TeamID
	}
	inv, err := s.invite(c, email, in.Role, teamID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(inv)
}

// invite records and mails an invitation of email into the request's workspace.
// The answer is the same whether or not an account uses the address.
func (s *Server) invite(c *fiber.Ctx, email, role string, teamID int64) (*invitationWithLink, error) {
	ctx, ws := c.UserContext(), workspaceOf(c)
	planSeats, err := s.plan.Seats(ctx, ws.ID)
	if err != nil {
		return nil, err // the plan's seats are taken
	}
	secret, hash := auth.NewToken("qi_")
	inv, err := s.store.CreateInvitation(ctx, ws.ID, email, role, teamID, userOf(c).ID, hash, time.Now().Add(s.cfg.InvitationTTL.Duration), planSeats)
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, conflict("%s is already a member or already invited; resend the pending invitation instead", email)
	case errors.Is(err, store.ErrSeatLimit):
		return nil, seatsExhausted()
	case err != nil:
		return nil, err
	}
	s.mailInvitation(ctx, inv, userOf(c), secret)
	return &invitationWithLink{invitationView(inv), s.inviteURL(secret)}, nil
}

func seatsExhausted() *apiError {
	return errorf(fiber.StatusPaymentRequired, "quota_exceeded", "every seat of this workspace's plan is taken (members plus pending invitations); remove someone or raise the limit")
}

func (s *Server) mailInvitation(ctx context.Context, inv *store.Invitation, inviter *store.User, secret string) {
	who := inviter.Name
	if who == "" {
		who = inviter.Email
	}
	team := ""
	if inv.TeamName != "" {
		team = fmt.Sprintf(" and its team %q", inv.TeamName)
	}
	body := fmt.Sprintf("Hello,\n\n%s invited you to join the workspace %q%s on Quire as %s.\n\nOpen this link to accept (it works until %s):\n\n%s\n\nIf you do not have an account yet, you can create one from that page with this email address.\n",
		who, inv.WorkspaceName, team, inv.Role, inv.ExpiresAt.UTC().Format("2 Jan 2006 15:04 MST"), s.inviteURL(secret))
	if err := s.mailer.Send(ctx, inv.Email, "You are invited to "+inv.WorkspaceName+" on Quire", body); err != nil {
		s.log.Error("invitation mail", "invitation_id", inv.ID, "err", err)
	}
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
	ctx, ws := c.UserContext(), workspaceOf(c)
	secret, hash := auth.NewToken("qi_")
	err = s.store.RenewInvitation(ctx, ws.ID, id, hash, time.Now().Add(s.cfg.InvitationTTL.Duration))
	if err != nil {
		return s.invitationStoreError(ctx, ws.ID, id, err)
	}
	inv, err := s.store.GetInvitation(ctx, ws.ID, id)
	if err != nil {
		return err
	}
	s.mailInvitation(ctx, inv, userOf(c), secret)
	return c.JSON(invitationWithLink{invitationView(inv), s.inviteURL(secret)})
}

func (s *Server) cancelInvitation(c *fiber.Ctx) error {
	id, err := s.invitationParam(c)
	if err != nil {
		return err
	}
	ws := workspaceOf(c)
	if err := s.store.CancelInvitation(c.UserContext(), ws.ID, id); err != nil {
		return s.invitationStoreError(c.UserContext(), ws.ID, id, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) invitationStoreError(ctx context.Context, wsID string, id int64, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("invitation")
	case errors.Is(err, store.ErrGone):
		inv, gerr := s.store.GetInvitation(ctx, wsID, id)
		if gerr != nil {
			return gone("is no longer pending")
		}
		return goneReason(inv)
	}
	return err
}

// invitationByToken resolves a mailed token for the signed-in invitee. Unknown
// tokens count against the caller's address, so tokens cannot be guessed in bulk.
func (s *Server) invitationByToken(c *fiber.Ctx) (*store.Invitation, error) {
	inv, err := s.account.InvitationByToken(c.UserContext(), c.Params("token"), clientKey(c))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("invitation")
	}
	if err != nil {
		return nil, err
	}
	return inv, s.checkInvitee(c, inv)
}

// checkInvitee: only the person the invitation was sent to may use it. Both
// addresses are canonical (store.CanonicalEmail), so they compare exactly.
func (s *Server) checkInvitee(c *fiber.Ctx, inv *store.Invitation) error {
	if u := userOf(c); u.Email != inv.Email {
		return forbidden("this invitation was sent to %s; sign in with that address to use it", inv.Email)
	}
	if inv.Status != store.InvitePending || inv.Expired() {
		return goneReason(inv)
	}
	return nil
}

func (s *Server) acceptInvitation(c *fiber.Ctx, inv *store.Invitation) error {
	err := s.store.AcceptInvitation(c.UserContext(), inv.ID, userOf(c).ID)
	if errors.Is(err, store.ErrGone) {
		return goneReason(inv)
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"workspace_id": inv.WorkspaceID})
}

func (s *Server) declineInvitation(c *fiber.Ctx, inv *store.Invitation) error {
	if err := s.store.DeclineInvitation(c.UserContext(), inv.ID); errors.Is(err, store.ErrGone) {
		return goneReason(inv)
	} else if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// The mailed token proves that the caller reads mail at the invited address:
// using it verifies the account's address.
func (s *Server) acceptInvitationToken(c *fiber.Ctx) error {
	inv, err := s.invitationByToken(c)
	if err != nil {
		return err
	}
	if err := s.acceptInvitation(c, inv); err != nil {
		return err
	}
	return s.markVerified(c)
}

func (s *Server) declineInvitationToken(c *fiber.Ctx) error {
	inv, err := s.invitationByToken(c)
	if err != nil {
		return err
	}
	if err := s.declineInvitation(c, inv); err != nil {
		return err
	}
	return s.markVerified(c)
}

func (s *Server) markVerified(c *fiber.Ctx) error {
	if u := userOf(c); !u.EmailVerified {
		return s.store.SetEmailVerified(c.UserContext(), u.ID)
	}
	return nil
}

// myPendingInvitations lists the invitations addressed to u, which only a
// verified address may see: anyone can sign up with an address they do not
// read, and must not learn or take what was sent to it.
func (s *Server) myPendingInvitations(ctx context.Context, u *store.User) ([]store.Invitation, error) {
	if !u.EmailVerified {
		return nil, nil
	}
	return s.store.PendingInvitationsFor(ctx, u.Email)
}

// myInvitation loads an invitation addressed to the caller by id (404 otherwise);
// without the mailed token that takes a verified address (403).
func (s *Server) myInvitation(c *fiber.Ctx) (*store.Invitation, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, notFound("invitation")
	}
	if !userOf(c).EmailVerified {
		return nil, forbidden("your email address is not verified yet: open the link in the invitation mail to answer it, or verify the address with the link in the verification mail first")
	}
	pending, err := s.store.PendingInvitationsFor(c.UserContext(), userOf(c).Email)
	if err != nil {
		return nil, err
	}
	for i := range pending {
		if pending[i].ID == id {
			return &pending[i], nil
		}
	}
	return nil, notFound("invitation")
}

func (s *Server) listMyInvitations(c *fiber.Ctx) error {
	inv, err := s.myPendingInvitations(c.UserContext(), userOf(c))
	if err != nil {
		return err
	}
	return c.JSON(list[invitationJSON]{Items: mapSlice(inv, invitationView)})
}

func (s *Server) acceptMyInvitation(c *fiber.Ctx) error {
	inv, err := s.myInvitation(c)
	if err != nil {
		return err
	}
	return s.acceptInvitation(c, inv)
}

func (s *Server) declineMyInvitation(c *fiber.Ctx) error {
	inv, err := s.myInvitation(c)
	if err != nil {
		return err
	}
	return s.declineInvitation(c, inv)
}

package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"quire/app/auth"
	"quire/app/fault"
	"quire/store"
)

// InviteURL is the mailed link of an invitation secret.
func (s *Service) InviteURL(secret string) string { return s.cfg.PublicURL + "/invite/" + secret }

// CheckPerson validates the {email, role} of someone being added or invited:
// it returns the normalised email and the role, member by default.
func CheckPerson(rawEmail, role string) (string, string, error) {
	email, err := NormEmail("email", rawEmail)
	if err != nil {
		return "", "", err
	}
	if role == "" {
		role = store.RoleMember
	}
	return email, role, CheckAssignableRole(role)
}

// CheckAssignableRole: roles an admin may give. Ownership moves only by transfer.
func CheckAssignableRole(role string) error {
	switch role {
	case store.RoleAdmin, store.RoleMember:
		return nil
	case store.RoleOwner:
		return fault.New(fault.Forbidden, "nobody can be made owner here; the owner transfers ownership instead")
	}
	return fault.Field("role", "role must be \"admin\" or \"member\"")
}

func seatsExhausted() error {
	return fault.New(fault.Quota, "every seat of this workspace's plan is taken (members plus pending invitations); remove someone or raise the limit")
}

func (s *Service) seats(ctx context.Context, wsID string) (int64, error) {
	if s.cfg.Seats == nil {
		return 0, nil
	}
	return s.cfg.Seats(ctx, wsID)
}

// Invite records and mails an invitation of rawEmail into the workspace, into
// one of its teams when teamID is not 0. The answer is the same whether or not
// an account uses the address. The secret is returned for the link.
func (s *Service) Invite(ctx context.Context, wsID string, inviter *store.User, rawEmail, role string, teamID int64) (*store.Invitation, string, error) {
	email, role, err := CheckPerson(rawEmail, role)
	if err != nil {
		return nil, "", err
	}
	if teamID != 0 {
		if _, err := s.st.GetTeam(ctx, wsID, teamID); errors.Is(err, store.ErrNotFound) {
			return nil, "", fault.Field("team_id", "no such team in this workspace")
		} else if err != nil {
			return nil, "", err
		}
	}
	return s.invite(ctx, wsID, inviter, email, role, teamID)
}

func (s *Service) invite(ctx context.Context, wsID string, inviter *store.User, email, role string, teamID int64) (*store.Invitation, string, error) {
	planSeats, err := s.seats(ctx, wsID)
	if err != nil {
		return nil, "", err // the plan's seats are taken
	}
	secret, hash := auth.NewToken("qi_")
	inv, err := s.st.CreateInvitation(ctx, wsID, email, role, teamID, inviter.ID, hash, time.Now().Add(s.cfg.InvitationTTL), planSeats)
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, "", fault.New(fault.Conflict, "%s is already a member or already invited; resend the pending invitation instead", email)
	case errors.Is(err, store.ErrSeatLimit):
		return nil, "", seatsExhausted()
	case err != nil:
		return nil, "", err
	}
	s.mailInvitation(ctx, inv, inviter, secret)
	return inv, secret, nil
}

func (s *Service) mailInvitation(ctx context.Context, inv *store.Invitation, inviter *store.User, secret string) {
	who := inviter.Name
	if who == "" {
		who = inviter.Email
	}
	team := ""
	if inv.TeamName != "" {
		team = fmt.Sprintf(" and its team %q", inv.TeamName)
	}
	body := fmt.Sprintf("Hello,\n\n%s invited you to join the workspace %q%s on Quire as %s.\n\nOpen this link to accept (it works until %s):\n\n%s\n\nIf you do not have an account yet, you can create one from that page with this email address.\n",
		who, inv.WorkspaceName, team, inv.Role, inv.ExpiresAt.UTC().Format("2 Jan 2006 15:04 MST"), s.InviteURL(secret))
	if err := s.send(ctx, inv.Email, "You are invited to "+inv.WorkspaceName+" on Quire", body); err != nil {
		s.log.Error("invitation mail", "invitation_id", inv.ID, "err", err)
	}
}

// Resend renews a pending invitation's token and expiry and mails it again.
func (s *Service) Resend(ctx context.Context, wsID string, inviter *store.User, id int64) (*store.Invitation, string, error) {
	secret, hash := auth.NewToken("qi_")
	if err := s.st.RenewInvitation(ctx, wsID, id, hash, time.Now().Add(s.cfg.InvitationTTL)); err != nil {
		return nil, "", s.invitationStoreError(ctx, wsID, id, err)
	}
	inv, err := s.st.GetInvitation(ctx, wsID, id)
	if err != nil {
		return nil, "", err
	}
	s.mailInvitation(ctx, inv, inviter, secret)
	return inv, secret, nil
}

// Cancel withdraws a pending invitation.
func (s *Service) Cancel(ctx context.Context, wsID string, id int64) error {
	if err := s.st.CancelInvitation(ctx, wsID, id); err != nil {
		return s.invitationStoreError(ctx, wsID, id, err)
	}
	return nil
}

func (s *Service) invitationStoreError(ctx context.Context, wsID string, id int64, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fault.New(fault.NotFound, "invitation not found")
	case errors.Is(err, store.ErrGone):
		inv, gerr := s.st.GetInvitation(ctx, wsID, id)
		if gerr != nil {
			return Gone("is no longer pending")
		}
		return GoneReason(inv)
	}
	return err
}

// invitee resolves a mailed token for the signed-in u: only the person the
// invitation was sent to may use it. Both addresses are canonical
// (store.CanonicalEmail), so they compare exactly.
func (s *Service) invitee(ctx context.Context, u *store.User, token, address string) (*store.Invitation, error) {
	inv, err := s.InvitationByToken(ctx, token, address)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "invitation not found")
	}
	if err != nil {
		return nil, err
	}
	if u.Email != inv.Email {
		return nil, fault.New(fault.Forbidden, "this invitation was sent to %s; sign in with that address to use it", inv.Email)
	}
	if inv.Status != store.InvitePending || inv.Expired() {
		return nil, GoneReason(inv)
	}
	return inv, nil
}

func (s *Service) accept(ctx context.Context, u *store.User, inv *store.Invitation) (string, error) {
	err := s.st.AcceptInvitation(ctx, inv.ID, u.ID)
	if errors.Is(err, store.ErrGone) {
		return "", GoneReason(inv)
	}
	return inv.WorkspaceID, err
}

func (s *Service) decline(ctx context.Context, inv *store.Invitation) error {
	if err := s.st.DeclineInvitation(ctx, inv.ID); errors.Is(err, store.ErrGone) {
		return GoneReason(inv)
	} else if err != nil {
		return err
	}
	return nil
}

// The mailed token proves that the caller reads mail at the invited address:
// using it verifies the account's address.
func (s *Service) markVerified(ctx context.Context, u *store.User) error {
	if !u.EmailVerified {
		return s.st.SetEmailVerified(ctx, u.ID)
	}
	return nil
}

// AcceptByToken joins u to the workspace of a mailed invitation and returns
// the workspace id. Unknown tokens count against address.
func (s *Service) AcceptByToken(ctx context.Context, u *store.User, token, address string) (string, error) {
	inv, err := s.invitee(ctx, u, token, address)
	if err != nil {
		return "", err
	}
	wsID, err := s.accept(ctx, u, inv)
	if err != nil {
		return "", err
	}
	return wsID, s.markVerified(ctx, u)
}

// DeclineByToken declines a mailed invitation. Unknown tokens count against address.
func (s *Service) DeclineByToken(ctx context.Context, u *store.User, token, address string) error {
	inv, err := s.invitee(ctx, u, token, address)
	if err != nil {
		return err
	}
	if err := s.decline(ctx, inv); err != nil {
		return err
	}
	return s.markVerified(ctx, u)
}

// Pending lists the invitations addressed to u, which only a verified address
// may see: anyone can sign up with an address they do not read, and must not
// learn or take what was sent to it.
func (s *Service) Pending(ctx context.Context, u *store.User) ([]store.Invitation, error) {
	if !u.EmailVerified {
		return nil, nil
	}
	return s.st.PendingInvitationsFor(ctx, u.Email)
}

// mine loads an invitation addressed to u by id (not found otherwise);
// without the mailed token that takes a verified address.
func (s *Service) mine(ctx context.Context, u *store.User, id int64) (*store.Invitation, error) {
	if !u.EmailVerified {
		return nil, fault.New(fault.Forbidden, "your email address is not verified yet: open the link in the invitation mail to answer it, or verify the address with the link in the verification mail first")
	}
	pending, err := s.st.PendingInvitationsFor(ctx, u.Email)
	if err != nil {
		return nil, err
	}
	for i := range pending {
		if pending[i].ID == id {
			return &pending[i], nil
		}
	}
	return nil, fault.New(fault.NotFound, "invitation not found")
}

// AcceptByID accepts an invitation addressed to u's verified address and
// returns the workspace id.
func (s *Service) AcceptByID(ctx context.Context, u *store.User, id int64) (string, error) {
	inv, err := s.mine(ctx, u, id)
	if err != nil {
		return "", err
	}
	return s.accept(ctx, u, inv)
}

// DeclineByID declines an invitation addressed to u's verified address.
func (s *Service) DeclineByID(ctx context.Context, u *store.User, id int64) error {
	inv, err := s.mine(ctx, u, id)
	if err != nil {
		return err
	}
	return s.decline(ctx, inv)
}

// Added is the outcome of AddMember: a member added at once, or an invitation
// (with its secret) that the person accepts.
type Added struct {
	Member     *store.Member
	Invitation *store.Invitation
	Secret     string
}

// AddMember brings a person into the workspace by email. A workspace admin can
// only invite: being added to a workspace needs the person's consent, and the
// answer must be the same whether or not an account uses the address, or the
// form would tell anyone with a workspace who has an account. An instance
// administrator, who sees every account anyway, adds an existing active
// account at once; any other address gets the invitation too.
func (s *Service) AddMember(ctx context.Context, wsID string, actor *store.User, rawEmail, role string) (*Added, error) {
	email, role, err := CheckPerson(rawEmail, role)
	if err != nil {
		return nil, err
	}
	if actor.IsAdmin {
		u, err := s.st.UserByEmail(ctx, email)
		if err == nil && !u.Disabled {
			m, err := s.addDirectly(ctx, wsID, u, role)
			if err != nil {
				return nil, err
			}
			return &Added{Member: m}, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	inv, secret, err := s.invite(ctx, wsID, actor, email, role, 0)
	if err != nil {
		return nil, err
	}
	return &Added{Invitation: inv, Secret: secret}, nil
}

func (s *Service) addDirectly(ctx context.Context, wsID string, u *store.User, role string) (*store.Member, error) {
	planSeats, err := s.seats(ctx, wsID)
	if err != nil {
		return nil, err // the plan's seats are taken
	}
	switch err := s.st.AddMemberWithinSeats(ctx, wsID, u.ID, role, planSeats); {
	case errors.Is(err, store.ErrConflict):
		return nil, fault.New(fault.Conflict, "%s is already a member of this workspace", u.Email)
	case errors.Is(err, store.ErrSeatLimit):
		return nil, seatsExhausted()
	case err != nil:
		return nil, err
	}
	return s.st.GetMember(ctx, wsID, u.ID)
}

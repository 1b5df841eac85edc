package account

import (
	"context"
	"errors"

	"quire/app/fault"
	"quire/store"
)

// member is a workspace member other than the owner: the owner's role and
// membership change only by transferring ownership.
func (s *Service) member(ctx context.Context, wsID string, userID int64) (*store.Member, error) {
	m, err := s.st.GetMember(ctx, wsID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "member not found")
	}
	if err != nil {
		return nil, err
	}
	if m.Role == store.RoleOwner {
		return nil, fault.New(fault.Forbidden, "nobody can change or remove the owner; the owner can transfer ownership")
	}
	return m, nil
}

// SetRole gives a member (not the owner) an assignable role.
func (s *Service) SetRole(ctx context.Context, wsID string, userID int64, role string) (*store.Member, error) {
	if err := CheckAssignableRole(role); err != nil {
		return nil, err
	}
	m, err := s.member(ctx, wsID, userID)
	if err != nil {
		return nil, err
	}
	if err := s.st.SetMemberRole(ctx, wsID, m.UserID, role); err != nil {
		return nil, err
	}
	m.Role = role
	return m, nil
}

// RemoveMember takes a member (not the owner) out of the workspace; what the
// store keeps of their work is said at store.RemoveMember.
func (s *Service) RemoveMember(ctx context.Context, wsID string, userID int64) error {
	m, err := s.member(ctx, wsID, userID)
	if err != nil {
		return err
	}
	return s.st.RemoveMember(ctx, wsID, m.UserID)
}

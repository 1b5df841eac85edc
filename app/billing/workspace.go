package billing

import (
	"context"
	"errors"
	"strings"

	"quire/store"
)

// WorkspacePlan returns the plan a workspace is on and the subscription that
// decides it (nil when it never had one). Without a live subscription the
// workspace is on the free plan.
func (s *Service) WorkspacePlan(ctx context.Context, wsID string) (Plan, *store.Subscription, error) {
	sub, err := s.store.WorkspaceSubscription(ctx, wsID)
	if errors.Is(err, store.ErrNotFound) {
		return Free(), nil, nil
	}
	if err != nil {
		return Plan{}, nil, err
	}
	if !Live(sub.Status) {
		return Free(), sub, nil
	}
	keys, products, err := s.store.SubscriptionFeatures(ctx, sub.ID)
	if err != nil {
		return Plan{}, nil, err
	}
	return FromFeatures(strings.Join(products, " + "), keys), sub, nil
}

// EnsureCustomer returns the user's Stripe customer, creating it on first use.
func (s *Service) EnsureCustomer(ctx context.Context, u *store.User) (string, error) {
	id, err := s.store.StripeCustomer(ctx, u.ID)
	if !errors.Is(err, store.ErrNotFound) {
		return id, err
	}
	if id, err = s.CreateCustomer(ctx, u.ID, u.Email, u.Name); err != nil {
		return "", err
	}
	if err := s.store.SaveStripeCustomer(ctx, u.ID, id); errors.Is(err, store.ErrConflict) {
		// A concurrent request saved one first; use it (the extra Stripe customer stays unused).
		return s.store.StripeCustomer(ctx, u.ID)
	} else if err != nil {
		return "", err
	}
	return id, nil
}

// FirstSubscription reports whether neither the customer nor the workspace
// ever had a subscription, which is when the configured trial applies: once per
// workspace, so handing a workspace to a new owner (a new customer) or
// cancelling and subscribing again does not start another trial.
func (s *Service) FirstSubscription(ctx context.Context, customerID, workspaceID string) (bool, error) {
	had, err := s.store.CustomerHasSubscribed(ctx, customerID)
	if err != nil || had {
		return false, err
	}
	had, err = s.store.WorkspaceHasSubscribed(ctx, workspaceID)
	return !had, err
}

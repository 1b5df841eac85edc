package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"quire/store"
)

// ErrBadSignature is a webhook whose Stripe-Signature does not verify.
var ErrBadSignature = errors.New("bad Stripe signature")

// HandleWebhook verifies and applies one Stripe event. Each event id is applied
// once (stripe_events); an event is recorded only after it was applied, so a
// failure makes Stripe retry it. Events Quire does not use are acknowledged.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, signature string) error {
	// Stripe sends events in the endpoint's API version, which may be newer than
	// stripe-go's; the fields Quire reads are stable across versions.
	ev, err := webhook.ConstructEventWithOptions(payload, signature, s.cfg.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	// stripe-go refuses signatures older than its tolerance but not ones from
	// the future, which a leaked secret could mint to be replayed for ever.
	if ts, ok := signedAt(signature); !ok || time.Until(ts) > webhook.DefaultTolerance {
		return fmt.Errorf("%w: the signature's timestamp is in the future", ErrBadSignature)
	}
	seen, err := s.store.StripeEventSeen(ctx, ev.ID)
	if err != nil || seen {
		return err
	}
	if err := s.apply(ctx, &ev); err != nil {
		return fmt.Errorf("stripe event %s (%s): %w", ev.ID, ev.Type, err)
	}
	return s.store.RecordStripeEvent(ctx, ev.ID, string(ev.Type), ev.Created)
}

// signedAt reads the t= timestamp of a Stripe-Signature header.
func signedAt(header string) (time.Time, bool) {
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return time.Unix(n, 0), err == nil
		}
	}
	return time.Time{}, false
}

func (s *Service) apply(ctx context.Context, ev *stripe.Event) error {
	raw := ev.Data.Raw
	t := string(ev.Type)
	switch {
	case strings.HasPrefix(t, "customer.subscription."):
		var sub stripe.Subscription
		if err := json.Unmarshal(raw, &sub); err != nil {
			return err
		}
		return s.applySubscription(ctx, &sub, raw, "", ev.Created)
	case t == string(stripe.EventTypeCheckoutSessionCompleted):
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(raw, &cs); err != nil {
			return err
		}
		return s.checkoutCompleted(ctx, &cs)
	case strings.HasPrefix(t, "product."):
		var p stripe.Product
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		return s.applyProduct(ctx, &p, ev.Type == stripe.EventTypeProductDeleted, ev.Created)
	case strings.HasPrefix(t, "price."):
		var p stripe.Price
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		return s.store.UpsertPrice(ctx, priceOf(&p, ev.Type == stripe.EventTypePriceDeleted), ev.Created)
	}
	return nil
}

// checkoutCompleted binds the new subscription to the workspace named by the
// session. The subscription is re-fetched: its current state is authoritative,
// whatever order the subscription's own events arrive in.
func (s *Service) checkoutCompleted(ctx context.Context, cs *stripe.CheckoutSession) error {
	if cs.Mode != stripe.CheckoutSessionModeSubscription || cs.Subscription == nil || cs.Subscription.ID == "" {
		return nil
	}
	sub, err := s.fetchSubscription(ctx, cs.Subscription.ID)
	if err != nil {
		return err
	}
	if cs.Customer != nil && cs.Customer.ID != "" {
		sub.Customer = cs.Customer
	}
	raw, _ := json.Marshal(sub)
	return s.applySubscription(ctx, sub, raw, cs.ClientReferenceID, time.Now().Unix())
}

// applySubscription stores a subscription at a version: the creation time of
// the event that carried it, or the time it was fetched.
func (s *Service) applySubscription(ctx context.Context, sub *stripe.Subscription, raw []byte, wsHint string, version int64) error {
	ws := sub.Metadata["workspace_id"]
	if ws == "" {
		ws = wsHint
	}
	out := store.Subscription{ID: sub.ID, WorkspaceID: ws, Status: string(sub.Status), CancelAtPeriodEnd: sub.CancelAtPeriodEnd,
		CurrentPeriodStart: unixTime(sub.CurrentPeriodStart), CurrentPeriodEnd: unixTime(sub.CurrentPeriodEnd), TrialEnd: unixTime(sub.TrialEnd)}
	if sub.Customer != nil {
		out.CustomerID = sub.Customer.ID
	}
	if out.CurrentPeriodEnd == nil {
		out.CurrentPeriodStart, out.CurrentPeriodEnd = itemPeriod(raw)
	}
	if sub.Items != nil {
		for _, it := range sub.Items.Data {
			if it.Price == nil || it.Price.ID == "" {
				continue
			}
			out.Items = append(out.Items, store.SubscriptionItem{ID: it.ID, Price: priceOf(it.Price, false), Quantity: it.Quantity})
		}
	}
	applied, err := s.store.UpsertSubscription(ctx, out, version)
	if err == nil && !applied {
		s.log.Debug("stripe: older subscription state ignored", "subscription", sub.ID, "version", version)
	}
	return err
}

// itemPeriod reads the billing period from the first item: API versions from
// 2025-03-31 moved current_period_* from the subscription to its items.
func itemPeriod(raw []byte) (start, end *time.Time) {
	var v struct {
		Items struct {
			Data []struct {
				Start int64 `json:"current_period_start"`
				End   int64 `json:"current_period_end"`
			} `json:"data"`
		} `json:"items"`
	}
	if json.Unmarshal(raw, &v) != nil || len(v.Items.Data) == 0 {
		return nil, nil
	}
	return unixTime(v.Items.Data[0].Start), unixTime(v.Items.Data[0].End)
}

// applyProduct stores a product and re-reads its entitlement features: Stripe
// sends no event when features are attached, so a product event (or a sync)
// is when Quire learns them.
func (s *Service) applyProduct(ctx context.Context, p *stripe.Product, deleted bool, version int64) error {
	if err := s.store.UpsertProduct(ctx, productOf(p, deleted), version); err != nil {
		return err
	}
	if deleted {
		return nil
	}
	return s.syncProductFeatures(ctx, p.ID)
}

func (s *Service) syncProductFeatures(ctx context.Context, productID string) error {
	fs, pfs, err := s.productFeatures(ctx, productID)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if err := s.store.UpsertFeature(ctx, f); err != nil {
			return err
		}
	}
	return s.store.SetProductFeatures(ctx, productID, pfs)
}

func productOf(p *stripe.Product, deleted bool) store.Product {
	return store.Product{ID: p.ID, Name: p.Name, Description: p.Description, Active: p.Active && !deleted && !p.Deleted, Metadata: p.Metadata}
}

func priceOf(p *stripe.Price, deleted bool) store.Price {
	out := store.Price{ID: p.ID, Active: p.Active && !deleted && !p.Deleted, Currency: string(p.Currency), UnitAmount: p.UnitAmount,
		Type: string(p.Type), IntervalCount: 1}
	if p.Product != nil {
		out.ProductID = p.Product.ID
	}
	if p.Recurring != nil {
		out.Interval, out.IntervalCount = string(p.Recurring.Interval), p.Recurring.IntervalCount
		if p.Recurring.TrialPeriodDays > 0 {
			out.TrialPeriodDays = p.Recurring.TrialPeriodDays
		}
	}
	if out.Type == "" {
		out.Type = "recurring"
	}
	return out
}

func unixTime(sec int64) *time.Time {
	if sec <= 0 {
		return nil
	}
	t := time.Unix(sec, 0).UTC()
	return &t
}

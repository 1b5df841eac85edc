package api

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/billing"
	"quire/app/config"
	"quire/app/http/request"
	"quire/app/plan"
	"quire/store"
)

// Billing is optional: without stripe.secret_key every workspace is on the
// self-hosted plan, the UI shows no billing and the billing API answers 404
// billing_disabled. With it, package plan resolves each workspace's plan from
// the Stripe mirror, and every gate asks it.

func billingDisabled() *request.APIError {
	return request.Errorf(fiber.StatusNotFound, "billing_disabled", "billing is not enabled on this instance (no Stripe keys are configured); every workspace is on the self-hosted plan")
}

// PlanLimitsJSON is what a plan allows; null means unlimited.
type PlanLimitsJSON struct {
	Seats       *int64  `json:"seats"`
	Documents   *int64  `json:"documents"`
	StorageMB   *int64  `json:"storage_mb"`
	Tokens      *int64  `json:"tokens"` // per calendar month
	Credit      *string `json:"credit"` // per calendar month
	PublicChats bool    `json:"public_chats"`
	APIAccess   bool    `json:"api_access"`
}

func limitOrNull(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func planLimitsView(p billing.Plan) PlanLimitsJSON {
	v := PlanLimitsJSON{Seats: limitOrNull(p.Seats), Documents: limitOrNull(p.Documents), StorageMB: limitOrNull(p.StorageMB),
		Tokens: limitOrNull(p.Tokens), PublicChats: p.PublicChats, APIAccess: p.APIAccess}
	if p.CreditMicros > 0 {
		c := config.FormatMicros(p.CreditMicros)
		v.Credit = &c
	}
	return v
}

type PriceJSON struct {
	ID            string `json:"id"`
	Currency      string `json:"currency"`
	UnitAmount    int64  `json:"unit_amount"` // minor units (cents)
	Interval      string `json:"interval"`
	IntervalCount int64  `json:"interval_count"`
}

type FeatureJSON struct {
	LookupKey string `json:"lookup_key"`
	Name      string `json:"name"`
}

type PlanJSON struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Prices      []PriceJSON    `json:"prices"`
	Features    []FeatureJSON  `json:"features"`
	Limits      PlanLimitsJSON `json:"limits"`
}

func PlanView(p *store.CatalogProduct) PlanJSON {
	v := PlanJSON{ID: p.ID, Name: p.Name, Description: p.Description, Prices: []PriceJSON{}, Features: []FeatureJSON{}}
	keys := make([]string, 0, len(p.Features))
	for _, pr := range p.Prices {
		v.Prices = append(v.Prices, PriceJSON{pr.ID, pr.Currency, pr.UnitAmount, pr.Interval, pr.IntervalCount})
	}
	for _, f := range p.Features {
		v.Features = append(v.Features, FeatureJSON{f.LookupKey, f.Name})
		keys = append(keys, f.LookupKey)
	}
	v.Limits = planLimitsView(billing.FromFeatures(p.Name, keys))
	return v
}

type SubscriptionJSON struct {
	ID                string     `json:"id"`
	Status            string     `json:"status"`
	PriceID           string     `json:"price_id"`
	CurrentPeriodEnd  *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	TrialEnd          *time.Time `json:"trial_end"`
}

func subscriptionView(sub *store.Subscription) *SubscriptionJSON {
	if sub == nil {
		return nil
	}
	v := &SubscriptionJSON{ID: sub.ID, Status: sub.Status, CurrentPeriodEnd: sub.CurrentPeriodEnd,
		CancelAtPeriodEnd: sub.CancelAtPeriodEnd, TrialEnd: sub.TrialEnd}
	if len(sub.Items) > 0 {
		v.PriceID = sub.Items[0].Price.ID
	}
	return v
}

// BillingPlans lists the plans on offer (GET /api/billing/plans).
func (s *Handlers) BillingPlans(c *fiber.Ctx) error {
	if s.Billing == nil {
		return billingDisabled()
	}
	cat, err := s.Store.Catalog(c.UserContext())
	if err != nil {
		return err
	}
	items := MapSlice(cat, PlanView)
	if items == nil {
		items = []PlanJSON{}
	}
	return c.JSON(List[PlanJSON]{Items: items})
}

// workspaceBillingView is the workspace's plan, subscription and usage.
type workspaceBillingView struct {
	Plan         fiber.Map         `json:"plan"`
	Subscription *SubscriptionJSON `json:"subscription"`
	Features     []string          `json:"features"`
	Limits       PlanLimitsJSON    `json:"limits"`
	Usage        fiber.Map         `json:"usage"`
	TrialDays    int               `json:"trial_days"` // what a first subscription gets
}

func (s *Handlers) LoadWorkspaceBilling(ctx context.Context, ws *store.Workspace) (*workspaceBillingView, error) {
	p, sub, err := s.Billing.WorkspacePlan(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	seats, err := s.Store.SeatsUsed(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	docs, bytes, err := s.Store.DocumentTotals(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	from, _ := plan.Period(time.Now())
	used, err := s.Store.PeriodUsage(ctx, ws.ID, from)
	if err != nil {
		return nil, err
	}
	features := p.Features
	if features == nil {
		features = []string{}
	}
	return &workspaceBillingView{
		Plan:         fiber.Map{"key": p.Key, "name": p.Name},
		Subscription: subscriptionView(sub),
		Features:     features,
		Limits:       planLimitsView(p),
		Usage: fiber.Map{"seats": seats, "documents": docs, "storage_bytes": bytes,
			"tokens": used.InputTokens + used.OutputTokens, "credit": config.FormatMicros(used.CostMicros)},
		TrialDays: s.Billing.TrialDays(),
	}, nil
}

// WorkspaceBilling is GET /api/workspaces/:ws/billing (members).
func (s *Handlers) WorkspaceBilling(c *fiber.Ctx) error {
	if s.Billing == nil {
		return billingDisabled()
	}
	v, err := s.LoadWorkspaceBilling(c.UserContext(), request.Workspace(c))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// providerFailed reports a failed Stripe call without leaking its details.
func (s *Handlers) providerFailed(err error) error {
	var pe *billing.ProviderError
	if errors.As(err, &pe) {
		s.Log.Error("stripe call failed", "err", err)
		return request.Errorf(fiber.StatusBadGateway, "billing_unavailable", "the payment provider did not answer as expected; try again in a minute")
	}
	return err
}

// BillingCheckout is POST /api/workspaces/:ws/billing/checkout (owner):
// {price_id} → {url} of a Stripe Checkout session in subscription mode.
func (s *Handlers) BillingCheckout(c *fiber.Ctx) error {
	if s.Billing == nil {
		return billingDisabled()
	}
	var in struct {
		PriceID string `json:"price_id"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	ctx, ws, u := c.UserContext(), request.Workspace(c), request.User(c)
	price, productActive, err := s.Store.GetPrice(ctx, in.PriceID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!price.Active || !productActive || price.Type != "recurring")) {
		return request.Invalid("price_id", "no plan on offer has the price %q; GET /api/billing/plans lists them", in.PriceID)
	}
	if err != nil {
		return err
	}
	if _, sub, err := s.Billing.WorkspacePlan(ctx, ws.ID); err != nil {
		return err
	} else if sub != nil && billing.Live(sub.Status) {
		return request.Conflict("this workspace already has a subscription (%s); change or cancel it in the customer portal", sub.Status)
	}
	customer, err := s.Billing.EnsureCustomer(ctx, u)
	if err != nil {
		return s.providerFailed(err)
	}
	trial := 0
	if first, err := s.Billing.FirstSubscription(ctx, customer, ws.ID); err != nil {
		return err
	} else if first {
		trial = s.Billing.TrialDays()
	}
	back := s.Config.PublicURL() + "/w/" + ws.ID + "/billing"
	url, err := s.Billing.CheckoutURL(ctx, billing.Checkout{CustomerID: customer, PriceID: price.ID, WorkspaceID: ws.ID, TrialDays: trial,
		SuccessURL: back + "?checkout=success", CancelURL: back + "?checkout=cancelled"})
	if err != nil {
		return s.providerFailed(err)
	}
	return c.JSON(fiber.Map{"url": url})
}

// BillingPortal is POST /api/workspaces/:ws/billing/portal (owner) → {url}.
// The portal belongs to whoever pays: the subscription's customer, else the owner.
func (s *Handlers) BillingPortal(c *fiber.Ctx) error {
	if s.Billing == nil {
		return billingDisabled()
	}
	ctx, ws := c.UserContext(), request.Workspace(c)
	_, sub, err := s.Billing.WorkspacePlan(ctx, ws.ID)
	if err != nil {
		return err
	}
	customer := ""
	if sub != nil {
		customer = sub.CustomerID
	}
	if customer == "" {
		if customer, err = s.Billing.EnsureCustomer(ctx, request.User(c)); err != nil {
			return s.providerFailed(err)
		}
	}
	url, err := s.Billing.PortalURL(ctx, customer, s.Config.PublicURL()+"/w/"+ws.ID+"/billing")
	if err != nil {
		return s.providerFailed(err)
	}
	return c.JSON(fiber.Map{"url": url})
}

// StripeWebhook is POST /api/stripe/webhook. It is Public: Stripe sends no
// cookie or token, so neither authentication nor CSRF applies; the signature
// over the raw body is the authentication.
func (s *Handlers) StripeWebhook(c *fiber.Ctx) error {
	if s.Billing == nil {
		return billingDisabled()
	}
	err := s.Billing.HandleWebhook(c.UserContext(), c.Body(), c.Get("Stripe-Signature"))
	if errors.Is(err, billing.ErrBadSignature) {
		return request.BadRequest("the Stripe-Signature header does not verify with the configured webhook secret")
	}
	if err != nil {
		return s.providerFailed(err) // Stripe retries on any non-2xx
	}
	return c.JSON(fiber.Map{"received": true})
}

package app

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/billing"
	"quire/app/config"
	"quire/app/plan"
	"quire/store"
)

// Billing is optional: without stripe.secret_key every workspace is on the
// self-hosted plan, the UI shows no billing and the billing API answers 404
// billing_disabled. With it, package plan resolves each workspace's plan from
// the Stripe mirror, and every gate asks it.

func init() {
	// Pages ask billingOn to show the Billing link; initBilling turns it on per server.
	funcs["billingOn"] = func() bool { return false }
	funcs["money"] = money
}

// money renders a Stripe amount in minor units, e.g. 2000 usd → "20.00 USD".
// (Zero-decimal currencies such as JPY are shown as if they had cents.)
func money(minor int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", minor/100, minor%100, strings.ToUpper(currency))
}

// initBilling wires the billing service when Stripe is configured.
func (s *Server) initBilling() {
	if !s.cfg.BillingEnabled() {
		return
	}
	st := s.cfg.Stripe
	s.billing = billing.New(billing.Config{SecretKey: st.SecretKey, WebhookSecret: st.WebhookSecret, APIURL: st.APIURL, TrialDays: st.TrialDays},
		s.store, s.log)
	on := template.FuncMap{"billingOn": func() bool { return true }}
	for _, t := range s.pages.sets {
		t.Funcs(on)
	}
}

// newPlan builds the plan service over the billing in use (none: self-hosted
// with the admin's limits).
func (s *Server) newPlan() *plan.Service {
	return plan.New(plan.Config{Store: s.store, Billing: s.billing, Prices: s.cfg.Prices, Logger: s.log,
		SelfHosted: func() (int64, int64) { st := s.currentSettings(); return st.TokenLimit, st.CreditLimitMicros }})
}

func billingDisabled() *apiError {
	return errorf(fiber.StatusNotFound, "billing_disabled", "billing is not enabled on this instance (no Stripe keys are configured); every workspace is on the self-hosted plan")
}

// planLimitsJSON is what a plan allows; null means unlimited.
type planLimitsJSON struct {
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

func planLimitsView(p billing.Plan) planLimitsJSON {
	v := planLimitsJSON{Seats: limitOrNull(p.Seats), Documents: limitOrNull(p.Documents), StorageMB: limitOrNull(p.StorageMB),
		Tokens: limitOrNull(p.Tokens), PublicChats: p.PublicChats, APIAccess: p.APIAccess}
	if p.CreditMicros > 0 {
		c := config.FormatMicros(p.CreditMicros)
		v.Credit = &c
	}
	return v
}

type priceJSON struct {
	ID            string `json:"id"`
	Currency      string `json:"currency"`
	UnitAmount    int64  `json:"unit_amount"` // minor units (cents)
	Interval      string `json:"interval"`
	IntervalCount int64  `json:"interval_count"`
}

type featureJSON struct {
	LookupKey string `json:"lookup_key"`
	Name      string `json:"name"`
}

type planJSON struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Prices      []priceJSON    `json:"prices"`
	Features    []featureJSON  `json:"features"`
	Limits      planLimitsJSON `json:"limits"`
}

func planView(p *store.CatalogProduct) planJSON {
	v := planJSON{ID: p.ID, Name: p.Name, Description: p.Description, Prices: []priceJSON{}, Features: []featureJSON{}}
	keys := make([]string, 0, len(p.Features))
	for _, pr := range p.Prices {
		v.Prices = append(v.Prices, priceJSON{pr.ID, pr.Currency, pr.UnitAmount, pr.Interval, pr.IntervalCount})
	}
	for _, f := range p.Features {
		v.Features = append(v.Features, featureJSON{f.LookupKey, f.Name})
		keys = append(keys, f.LookupKey)
	}
	v.Limits = planLimitsView(billing.FromFeatures(p.Name, keys))
	return v
}

type subscriptionJSON struct {
	ID                string     `json:"id"`
	Status            string     `json:"status"`
	PriceID           string     `json:"price_id"`
	CurrentPeriodEnd  *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	TrialEnd          *time.Time `json:"trial_end"`
}

func subscriptionView(sub *store.Subscription) *subscriptionJSON {
	if sub == nil {
		return nil
	}
	v := &subscriptionJSON{ID: sub.ID, Status: sub.Status, CurrentPeriodEnd: sub.CurrentPeriodEnd,
		CancelAtPeriodEnd: sub.CancelAtPeriodEnd, TrialEnd: sub.TrialEnd}
	if len(sub.Items) > 0 {
		v.PriceID = sub.Items[0].Price.ID
	}
	return v
}

// billingPlans lists the plans on offer (GET /api/billing/plans).
func (s *Server) billingPlans(c *fiber.Ctx) error {
	if s.billing == nil {
		return billingDisabled()
	}
	cat, err := s.store.Catalog(c.UserContext())
	if err != nil {
		return err
	}
	items := mapSlice(cat, planView)
	if items == nil {
		items = []planJSON{}
	}
	return c.JSON(list[planJSON]{Items: items})
}

// workspaceBillingView is the workspace's plan, subscription and usage.
type workspaceBillingView struct {
	Plan         fiber.Map         `json:"plan"`
	Subscription *subscriptionJSON `json:"subscription"`
	Features     []string          `json:"features"`
	Limits       planLimitsJSON    `json:"limits"`
	Usage        fiber.Map         `json:"usage"`
	TrialDays    int               `json:"trial_days"` // what a first subscription gets
}

func (s *Server) loadWorkspaceBilling(ctx context.Context, ws *store.Workspace) (*workspaceBillingView, error) {
	p, sub, err := s.billing.WorkspacePlan(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	seats, err := s.store.SeatsUsed(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	docs, bytes, err := s.store.DocumentTotals(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	from, _ := plan.Period(time.Now())
	used, err := s.store.PeriodUsage(ctx, ws.ID, from)
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
		TrialDays: s.billing.TrialDays(),
	}, nil
}

// workspaceBilling is GET /api/workspaces/:ws/billing (members).
func (s *Server) workspaceBilling(c *fiber.Ctx) error {
	if s.billing == nil {
		return billingDisabled()
	}
	v, err := s.loadWorkspaceBilling(c.UserContext(), workspaceOf(c))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// providerFailed reports a failed Stripe call without leaking its details.
func (s *Server) providerFailed(err error) error {
	var pe *billing.ProviderError
	if errors.As(err, &pe) {
		s.log.Error("stripe call failed", "err", err)
		return errorf(fiber.StatusBadGateway, "billing_unavailable", "the payment provider did not answer as expected; try again in a minute")
	}
	return err
}

// billingCheckout is POST /api/workspaces/:ws/billing/checkout (owner):
// {price_id} → {url} of a Stripe Checkout session in subscription mode.
func (s *Server) billingCheckout(c *fiber.Ctx) error {
	if s.billing == nil {
		return billingDisabled()
	}
	var in struct {
		PriceID string `json:"price_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, ws, u := c.UserContext(), workspaceOf(c), userOf(c)
	price, productActive, err := s.store.GetPrice(ctx, in.PriceID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!price.Active || !productActive || price.Type != "recurring")) {
		return invalid("price_id", "no plan on offer has the price %q; GET /api/billing/plans lists them", in.PriceID)
	}
	if err != nil {
		return err
	}
	if _, sub, err := s.billing.WorkspacePlan(ctx, ws.ID); err != nil {
		return err
	} else if sub != nil && billing.Live(sub.Status) {
		return conflict("this workspace already has a subscription (%s); change or cancel it in the customer portal", sub.Status)
	}
	customer, err := s.billing.EnsureCustomer(ctx, u)
	if err != nil {
		return s.providerFailed(err)
	}
	trial := 0
	if first, err := s.billing.FirstSubscription(ctx, customer, ws.ID); err != nil {
		return err
	} else if first {
		trial = s.billing.TrialDays()
	}
	back := s.cfg.PublicURL() + "/w/" + ws.ID + "/billing"
	url, err := s.billing.CheckoutURL(ctx, billing.Checkout{CustomerID: customer, PriceID: price.ID, WorkspaceID: ws.ID, TrialDays: trial,
		SuccessURL: back + "?checkout=success", CancelURL: back + "?checkout=cancelled"})
	if err != nil {
		return s.providerFailed(err)
	}
	return c.JSON(fiber.Map{"url": url})
}

// billingPortal is POST /api/workspaces/:ws/billing/portal (owner) → {url}.
// The portal belongs to whoever pays: the subscription's customer, else the owner.
func (s *Server) billingPortal(c *fiber.Ctx) error {
	if s.billing == nil {
		return billingDisabled()
	}
	ctx, ws := c.UserContext(), workspaceOf(c)
	_, sub, err := s.billing.WorkspacePlan(ctx, ws.ID)
	if err != nil {
		return err
	}
	customer := ""
	if sub != nil {
		customer = sub.CustomerID
	}
	if customer == "" {
		if customer, err = s.billing.EnsureCustomer(ctx, userOf(c)); err != nil {
			return s.providerFailed(err)
		}
	}
	url, err := s.billing.PortalURL(ctx, customer, s.cfg.PublicURL()+"/w/"+ws.ID+"/billing")
	if err != nil {
		return s.providerFailed(err)
	}
	return c.JSON(fiber.Map{"url": url})
}

// stripeWebhook is POST /api/stripe/webhook. It is Public: Stripe sends no
// cookie or token, so neither authentication nor CSRF applies; the signature
// over the raw body is the authentication.
func (s *Server) stripeWebhook(c *fiber.Ctx) error {
	if s.billing == nil {
		return billingDisabled()
	}
	err := s.billing.HandleWebhook(c.UserContext(), c.Body(), c.Get("Stripe-Signature"))
	if errors.Is(err, billing.ErrBadSignature) {
		return badRequest("the Stripe-Signature header does not verify with the configured webhook secret")
	}
	if err != nil {
		return s.providerFailed(err) // Stripe retries on any non-2xx
	}
	return c.JSON(fiber.Map{"received": true})
}

// pageBilling is /w/:ws/billing. Without billing there is no such page: the
// visitor lands on the workspace.
func (s *Server) pageBilling(c *fiber.Ctx) error {
	ws := workspaceOf(c)
	if s.billing == nil {
		// Said on the page asked for: sending people to the overview left them wondering where billing went.
		return s.render(c, "billing", "Billing · "+ws.Name, fiber.Map{"Off": true, "Plan": s.plan.OrFree(c.UserContext(), ws.ID).Name, "Admin": userOf(c).IsAdmin})
	}
	v, err := s.loadWorkspaceBilling(c.UserContext(), ws)
	if err != nil {
		return err
	}
	cat, err := s.store.Catalog(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, "billing", "Billing · "+ws.Name, fiber.Map{
		"Billing": v, "Plans": mapSlice(cat, planView), "Owner": ws.Role == store.RoleOwner,
		"Live": v.Subscription != nil && billing.Live(v.Subscription.Status), "Checkout": c.Query("checkout"),
	})
}

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
	"quire/store"
)

// Billing is optional: without stripe.secret_key every workspace is on the
// self-hosted plan, the UI shows no billing and the billing API answers 404
// billing_disabled. With it, planFor resolves each workspace's plan from the
// Stripe mirror and every gate below asks planFor.

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

func billingDisabled() *apiError {
	return errorf(fiber.StatusNotFound, "billing_disabled", "billing is not enabled on this instance (no Stripe keys are configured); every workspace is on the self-hosted plan")
}

func quotaExceeded(format string, a ...any) *apiError {
	return errorf(fiber.StatusPaymentRequired, "quota_exceeded", format, a...)
}

// upgradeHint ends a quota message with what a person can do about it.
func (s *Server) upgradeHint() string {
	if s.billing == nil {
		return "ask the instance administrator"
	}
	return "the workspace owner can change the plan on the Billing page"
}

// planFor is the one answer to "what may this workspace use?" for every gate.
func (s *Server) planFor(ctx context.Context, ws *store.Workspace) (billing.Plan, error) {
	if s.billing == nil {
		st := s.currentSettings()
		return billing.SelfHosted(st.TokenLimit, st.CreditLimitMicros), nil
	}
	p, _, err := s.billing.WorkspacePlan(ctx, ws.ID)
	return p, err
}

// seatsAllowed refuses a new member or invitation when the plan's seats
// (members plus pending invitations) are all taken, with a message naming the
// plan. It returns the plan's seats for the store to enforce again inside the
// transaction that adds the person (0 = unlimited), which closes the race
// between two simultaneous invitations.
func (s *Server) seatsAllowed(ctx context.Context, ws *store.Workspace) (int64, error) {
	p, err := s.planFor(ctx, ws)
	if err != nil || p.Seats == 0 {
		return 0, err
	}
	used, err := s.store.SeatsUsed(ctx, ws.ID)
	if err != nil {
		return 0, err
	}
	if used >= p.Seats {
		return 0, quotaExceeded("the %s plan includes %d seats and all are taken (members plus pending invitations); remove someone, cancel an invitation, or %s", p.Name, p.Seats, s.upgradeHint())
	}
	return p.Seats, nil
}

// publicChatsAllowed gates publishing a chat, and serving already published
// ones, on the plan.
func (s *Server) publicChatsAllowed(ctx context.Context, ws *store.Workspace) error {
	p, err := s.planFor(ctx, ws)
	if err != nil || p.PublicChats {
		return err
	}
	return quotaExceeded("the %s plan does not include public chat links; %s", p.Name, s.upgradeHint())
}

// apiAccessAllowed gates the OpenAI-compatible /v1 API and the creation of
// workspace-bound API keys on the plan.
func (s *Server) apiAccessAllowed(ctx context.Context, ws *store.Workspace) error {
	p, err := s.planFor(ctx, ws)
	if err != nil || p.APIAccess {
		return err
	}
	return quotaExceeded("the %s plan does not include API access; %s", p.Name, s.upgradeHint())
}

// documentsAllowedFor is the plan's gate on adding a document of extraBytes
// (the upload handler calls it through documentsAllowed before storing
// anything). It returns the plan's limits for the store to enforce again inside
// the transaction that adds the document, which closes the race between
// parallel uploads (documentLimitError words the store's refusal).
func (s *Server) documentsAllowedFor(ctx context.Context, ws *store.Workspace, extraBytes int64) (store.DocumentLimits, error) {
	p, err := s.planFor(ctx, ws)
	if err != nil || (p.Documents == 0 && p.StorageMB == 0) {
		return store.DocumentLimits{}, err
	}
	count, used, err := s.store.DocumentTotals(ctx, ws.ID)
	if err != nil {
		return store.DocumentLimits{}, err
	}
	if p.Documents > 0 && count+1 > p.Documents {
		return store.DocumentLimits{}, quotaExceeded("the %s plan holds %d documents and this workspace has %d; delete some or %s", p.Name, p.Documents, count, s.upgradeHint())
	}
	if limit := p.StorageMB << 20; p.StorageMB > 0 && used+extraBytes > limit {
		return store.DocumentLimits{}, quotaExceeded("the %s plan holds %d MB of documents; %s are used and this file needs %s more; delete some or %s",
			p.Name, p.StorageMB, humanBytes(used), humanBytes(extraBytes), s.upgradeHint())
	}
	return store.DocumentLimits{Documents: p.Documents, Bytes: p.StorageMB << 20}, nil
}

// documentLimitError words the store's in-transaction refusal of a document
// (another upload took the last place since documentsAllowedFor looked).
func (s *Server) documentLimitError(lim store.DocumentLimits, err error) error {
	switch {
	case errors.Is(err, store.ErrDocumentLimit):
		return quotaExceeded("this workspace's plan holds %d documents and they are all used; delete some or %s", lim.Documents, s.upgradeHint())
	case errors.Is(err, store.ErrStorageLimit):
		return quotaExceeded("this workspace's plan holds %d MB of documents and this file does not fit; delete some or %s", lim.Bytes>>20, s.upgradeHint())
	}
	return err
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
	from, _ := period(time.Now())
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
		return c.Redirect("/w/"+ws.ID, fiber.StatusSeeOther)
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

// planOrFree is planFor for callers without a context or an error path (the
// usage limits): a plan that cannot be read falls back to the free plan, so a
// database hiccup never lifts limits.
func (s *Server) planOrFree(ws *store.Workspace) billing.Plan {
	p, err := s.planFor(context.Background(), ws)
	if err != nil {
		s.log.Error("read the workspace's plan", "workspace_id", ws.ID, "err", err)
		return billing.Free()
	}
	return p
}

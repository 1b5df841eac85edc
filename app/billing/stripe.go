package billing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/form"

	"quire/store"
)

// Config is what the billing service needs from Quire's configuration.
type Config struct {
	SecretKey     string
	WebhookSecret string
	APIURL        string       // "" = Stripe itself; tests point it at stripe-mock
	TrialDays     int          // trial of a customer's first subscription (0 = none)
	HTTPClient    *http.Client // nil = a client with a 30 s timeout
}

// Service talks to Stripe and keeps the store's mirror of it.
type Service struct {
	cfg   Config
	api   *client.API
	store *store.Store
	log   *slog.Logger
}

// New builds the service. Each service has its own Stripe backends, so two
// servers in one process (tests) never share global stripe-go state.
func New(cfg Config, st *store.Store, log *slog.Logger) *Service {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelError},
	}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(cfg.APIURL)
	}
	api := client.New(cfg.SecretKey, stripe.NewBackendsWithConfig(bc))
	return &Service{cfg: cfg, api: api, store: st, log: log}
}

// TrialDays is the trial a customer's first subscription gets.
func (s *Service) TrialDays() int { return s.cfg.TrialDays }

// ProviderError is a failed Stripe call, kept apart so the HTTP layer can say
// that the payment provider, not the request, is the problem.
type ProviderError struct {
	Op  string
	Err error
}

func (e *ProviderError) Error() string { return fmt.Sprintf("stripe %s: %v", e.Op, e.Err) }
func (e *ProviderError) Unwrap() error { return e.Err }

func provider(op string, err error) error {
	if err == nil {
		return nil
	}
	return &ProviderError{op, err}
}

// CreateCustomer creates the Stripe customer of a Quire user.
func (s *Service) CreateCustomer(ctx context.Context, userID int64, email, name string) (string, error) {
	p := &stripe.CustomerParams{Email: stripe.String(email)}
	if name != "" {
		p.Name = stripe.String(name)
	}
	p.Context = ctx
	p.AddMetadata("quire_user_id", fmt.Sprint(userID))
	c, err := s.api.Customers.New(p)
	if err != nil {
		return "", provider("create customer", err)
	}
	return c.ID, nil
}

// Checkout is one subscription purchase for a workspace.
type Checkout struct {
	CustomerID  string
	PriceID     string
	WorkspaceID string
	TrialDays   int
	SuccessURL  string
	CancelURL   string
}

// CheckoutURL opens a Stripe Checkout session in subscription mode. The
// workspace id travels as client_reference_id and as subscription metadata,
// so every later subscription event names its workspace.
func (s *Service) CheckoutURL(ctx context.Context, in Checkout) (string, error) {
	sub := &stripe.CheckoutSessionSubscriptionDataParams{Metadata: map[string]string{"workspace_id": in.WorkspaceID}}
	if in.TrialDays > 0 {
		sub.TrialPeriodDays = stripe.Int64(int64(in.TrialDays))
	}
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(in.CustomerID),
		ClientReferenceID: stripe.String(in.WorkspaceID),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(in.PriceID), Quantity: stripe.Int64(1)}},
		SubscriptionData:  sub,
		SuccessURL:        stripe.String(in.SuccessURL),
		CancelURL:         stripe.String(in.CancelURL),
	}
	p.Context = ctx
	p.AddMetadata("workspace_id", in.WorkspaceID)
	cs, err := s.api.CheckoutSessions.New(p)
	if err != nil {
		return "", provider("create checkout session", err)
	}
	return cs.URL, nil
}

// PortalURL opens the Stripe customer portal (card, invoices, cancellation).
func (s *Service) PortalURL(ctx context.Context, customerID, returnURL string) (string, error) {
	p := &stripe.BillingPortalSessionParams{Customer: stripe.String(customerID), ReturnURL: stripe.String(returnURL)}
	p.Context = ctx
	ps, err := s.api.BillingPortalSessions.New(p)
	if err != nil {
		return "", provider("create portal session", err)
	}
	return ps.URL, nil
}

// productFeatureList is GET /v1/products/{id}/features, which stripe-go v76
// has no typed client for (it arrived in v78).
type productFeatureList struct {
	stripe.APIResource
	stripe.ListMeta
	Data []struct {
		ID                 string                     `json:"id"`
		EntitlementFeature stripe.EntitlementsFeature `json:"entitlement_feature"`
	} `json:"data"`
}

// productFeatures lists the entitlement features attached to a product.
func (s *Service) productFeatures(ctx context.Context, productID string) ([]store.Feature, []store.ProductFeature, error) {
	var fs []store.Feature
	var pfs []store.ProductFeature
	after := ""
	for {
		q := &form.Values{}
		q.Add("limit", "100")
		if after != "" {
			q.Add("starting_after", after)
		}
		var page productFeatureList
		path := "/v1/products/" + url.PathEscape(productID) + "/features"
		if err := s.api.Products.B.CallRaw(http.MethodGet, path, s.cfg.SecretKey, q, &stripe.Params{Context: ctx}, &page); err != nil {
			return nil, nil, provider("list product features", err)
		}
		for _, d := range page.Data {
			f := d.EntitlementFeature
			if d.ID == "" || f.ID == "" || f.LookupKey == "" {
				continue // not a usable attachment
			}
			fs = append(fs, store.Feature{ID: f.ID, LookupKey: f.LookupKey, Name: f.Name, Active: f.Active})
			pfs = append(pfs, store.ProductFeature{ID: d.ID, FeatureID: f.ID})
			after = d.ID
		}
		if !page.HasMore || len(page.Data) == 0 || after == "" {
			return fs, pfs, nil
		}
	}
}

// fetchSubscription reads a subscription's current state from Stripe.
func (s *Service) fetchSubscription(ctx context.Context, id string) (*stripe.Subscription, error) {
	p := &stripe.SubscriptionParams{}
	p.Context = ctx
	sub, err := s.api.Subscriptions.Get(id, p)
	return sub, provider("retrieve subscription", err)
}

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stripe/stripe-go/v76/webhook"

	"quire/app/billing/stripemocktest"
)

// stripeAway records the browser's attempts to leave for Stripe (any https
// URL: Quire itself is served over http on loopback) and blocks them, so the
// test sees where the page sends people without depending on the internet.
type stripeAway struct {
	mu   sync.Mutex
	urls []string
}

func (s *stripeAway) listen(ctx context.Context) chromedp.Action {
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			s.mu.Lock()
			s.urls = append(s.urls, e.Request.URL)
			s.mu.Unlock()
			go chromedp.Run(ctx, fetch.FailRequest(e.RequestID, network.ErrorReasonBlockedByClient))
		}
	})
	return fetch.Enable().WithPatterns([]*fetch.RequestPattern{{URLPattern: "https://*"}})
}

func (s *stripeAway) reset() {
	s.mu.Lock()
	s.urls = nil
	s.mu.Unlock()
}

// wait returns the first blocked URL that starts with prefix.
func (s *stripeAway) wait(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, u := range s.urls {
			if strings.HasPrefix(u, prefix) {
				s.mu.Unlock()
				return u
			}
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the page never went to %s… (saw %v)", prefix, s.urls)
	return ""
}

// The billing page with Stripe configured (stripe-mock): the catalogue comes
// from `quire stripe sync`, Subscribe leads to Stripe Checkout, a signed
// webhook turns the subscription on, and the owner reaches the portal.
func TestBrowserBillingCheckoutAndPortal(t *testing.T) {
	mock := stripemocktest.Start(t)
	ctx := browser(t)
	const whsec = "whsec_e2e"
	env := []string{"QUIRE_STRIPE_SECRET_KEY=sk_test_e2e", "QUIRE_STRIPE_WEBHOOK_SECRET=" + whsec, "QUIRE_STRIPE_API_URL=" + mock}
	dataDir := t.TempDir()

	// First import, before the server starts: stripe-mock's sample product and price.
	sync := exec.Command(binary, "stripe", "sync", "--data-dir", dataDir)
	sync.Env = append(sync.Environ(), env...)
	if out, err := sync.CombinedOutput(); err != nil || !strings.Contains(string(out), "synced 1 products") {
		t.Fatalf("quire stripe sync: %v\n%s", err, out)
	}
	in := start(t, dataDir, env...)

	auth := struct{ Token string }{in.setupAdmin("payer@example.com", "pay-the-bills", "Payer")}
	var ws struct{ ID string }
	if st := in.api("POST", "/api/workspaces", auth.Token, map[string]string{"name": "Paying Team"}, &ws); st != 201 {
		t.Fatalf("create workspace: %d", st)
	}
	var plans struct {
		Items []struct {
			ID, Name string
			Prices   []struct{ ID string }
		}
	}
	if st := in.api("GET", "/api/billing/plans", auth.Token, nil, &plans); st != 200 || len(plans.Items) != 1 || len(plans.Items[0].Prices) != 1 {
		t.Fatalf("plans after sync: %d %+v", st, plans)
	}
	priceID := plans.Items[0].Prices[0].ID

	away := &stripeAway{}
	run(t, ctx, "intercept", away.listen(ctx))
	loginAs(t, ctx, in, "payer@example.com", "pay-the-bills")
	var plan string
	run(t, ctx, "billing page",
		chromedp.Click(`nav a[href="/w/`+ws.ID+`/billing"]`, chromedp.NodeVisible),
		waitPath(ctx, func(p string) bool { return p == "/w/"+ws.ID+"/billing" }),
		chromedp.Text(`#plan-name`, &plan),
	)
	if plan != "Free" {
		t.Errorf("plan before subscribing: %q", plan)
	}
	shot(ctx, t, "billing-free")

	run(t, ctx, "subscribe", chromedp.Click(`button[data-price="`+priceID+`"]`, chromedp.NodeVisible))
	checkout := away.wait(t, "https://checkout.stripe.com/")
	if !strings.Contains(checkout, "cs_test_") {
		t.Errorf("checkout URL %q is not stripe-mock's sample session", checkout)
	}

	// Stripe reports the subscription; the page shows it and the plan.
	end := time.Now().Add(14 * 24 * time.Hour).Unix()
	obj := map[string]any{"id": "sub_e2e", "object": "subscription", "customer": "cus_e2e", "status": "trialing",
		"current_period_end": end, "cancel_at_period_end": false, "metadata": map[string]string{"workspace_id": ws.ID},
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_e2e", "object": "subscription_item", "quantity": 1,
			"price": map[string]any{"id": priceID, "object": "price", "product": plans.Items[0].ID, "active": true, "currency": "usd", "type": "recurring"}}}}}
	payload, _ := json.Marshal(map[string]any{"id": "evt_e2e_1", "object": "event", "type": "customer.subscription.created",
		"created": time.Now().Unix(), "api_version": "2023-10-16", "data": map[string]any{"object": obj}})
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: whsec})
	req, _ := http.NewRequest("POST", in.URL+"/api/stripe/webhook", strings.NewReader(string(payload)))
	req.Header.Set("Stripe-Signature", sp.Header)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("webhook: %v %v", err, res)
	}
	res.Body.Close()

	var status string
	run(t, ctx, "subscribed page",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/billing"),
		chromedp.Text(`#sub-status`, &status, chromedp.NodeVisible),
		chromedp.Text(`#plan-name`, &plan),
	)
	if status != "trialing" || plan != plans.Items[0].Name {
		t.Errorf("after the webhook: status %q plan %q", status, plan)
	}
	shot(ctx, t, "billing-subscribed")
	away.reset()
	run(t, ctx, "portal", chromedp.Click(`#portal button`, chromedp.NodeVisible))
	if u := away.wait(t, "https://"); !strings.Contains(u, "session") {
		t.Errorf("portal URL %q", u)
	}
}

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"quire/app/auth"
	"quire/app/billing"
	"quire/app/billing/stripemocktest"
	"quire/app/config"
	"quire/app/http/api"
	"quire/app/http/request"
	"quire/store"
)

// Billing tests run Quire against stripe-mock (Stripe's API mock) and post
// webhooks signed with stripe-go's own helper to the real handler. stripe-mock
// answers fixed samples, so the tests assert on what Quire sent (recorded on
// the way out) and stored, never on echoed fields.

const (
	testWebhookSecret = "whsec_quire_test"
	walkPriceID       = "price_walk"
	proProduct        = "prod_pro"
	proPrice          = "price_pro_monthly"
)

type billingServer struct {
	*testServer
	rec *stripemocktest.Recorder
}

func newBillingServer(t *testing.T) *billingServer {
	t.Helper()
	url := stripemocktest.Start(t)
	ts := newTestServer(t, func(c *config.Config) {
		c.Stripe = config.Stripe{SecretKey: "sk_test_quire", WebhookSecret: testWebhookSecret, APIURL: url, TrialDays: 14}
	})
	rec := &stripemocktest.Recorder{}
	// Same service as initBilling builds, with a transport that records requests.
	ts.srv.billing = billing.New(billing.Config{SecretKey: "sk_test_quire", WebhookSecret: testWebhookSecret, APIURL: url,
		TrialDays: 14, HTTPClient: rec.Client()}, ts.store, ts.srv.log)
	ts.rewire()
	seedCatalog(t, ts.store)
	return &billingServer{ts, rec}
}

// seedCatalog stores two plans as a sync would: "Walk" (no features, for the
// route walk) and "Pro" (generous limits, public chats, API access).
func seedCatalog(t *testing.T, st *store.Store) {
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			t.Helper()
			t.Fatal(err)
		}
	}
	must(st.UpsertProduct(ctx, store.Product{ID: "prod_walk", Name: "Walk", Active: true}, 1))
	must(st.UpsertPrice(ctx, store.Price{ID: walkPriceID, ProductID: "prod_walk", Active: true, Currency: "usd", UnitAmount: 500, Type: "recurring", Interval: "month"}, 1))
	must(st.UpsertProduct(ctx, store.Product{ID: proProduct, Name: "Pro", Description: "For teams", Active: true}, 1))
	must(st.UpsertPrice(ctx, store.Price{ID: proPrice, ProductID: proProduct, Active: true, Currency: "usd", UnitAmount: 2000, Type: "recurring", Interval: "month"}, 1))
	var pfs []store.ProductFeature
	for i, key := range []string{"quire_seats_10", "quire_documents_unlimited", "quire_storage_mb_unlimited", "quire_tokens_unlimited", "quire_public_chats", "quire_api_access"} {
		id := fmt.Sprintf("feat_%d", i)
		must(st.UpsertFeature(ctx, store.Feature{ID: id, LookupKey: key, Name: key, Active: true}))
		pfs = append(pfs, store.ProductFeature{ID: "prodft_" + id, FeatureID: id})
	}
	must(st.SetProductFeatures(ctx, proProduct, pfs))
}

var eventSeq atomic.Int64

// event is a Stripe event envelope around obj.
func event(id, typ string, created int64, obj any) []byte {
	if id == "" {
		id = fmt.Sprintf("evt_test_%d", eventSeq.Add(1))
	}
	raw, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": "2099-01-01", "created": created,
		"type": typ, "livemode": false, "data": map[string]any{"object": obj}})
	return raw
}

func subscriptionObj(id, wsID, status string, periodEnd int64, priceID, productID string) map[string]any {
	return map[string]any{"id": id, "object": "subscription", "customer": "cus_test_owner", "status": status,
		"cancel_at_period_end": false, "current_period_start": periodEnd - 30*86400, "current_period_end": periodEnd,
		"metadata": map[string]string{"workspace_id": wsID},
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_" + id, "object": "subscription_item", "quantity": 1,
			"price": map[string]any{"id": priceID, "object": "price", "product": productID, "active": true, "currency": "usd",
				"unit_amount": 2000, "type": "recurring", "recurring": map[string]any{"interval": "month", "interval_count": 1}}}}}}
}

type billingJSON struct {
	Plan         struct{ Key, Name string }
	Subscription *api.SubscriptionJSON
	Features     []string
	Limits       api.PlanLimitsJSON
}

func (b *billingServer) billingOf(ws api.WorkspaceJSON, u user) billingJSON {
	b.t.Helper()
	var out billingJSON
	b.must(200, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/billing", token: u.token}).json(&out)
	return out
}

// Without Stripe keys nothing about billing shows and nothing is limited.
func TestBillingDisabledIsSelfHostedAndUnlimited(t *testing.T) {
	ts := newTestServer(t)
	owner := ts.signup("owner")
	ws := ts.createWorkspace(owner, "Home")
	for _, r := range []req{
		{method: "GET", path: "/api/billing/plans"},
		{method: "GET", path: "/api/workspaces/" + ws.ID + "/billing"},
		{method: "POST", path: "/api/workspaces/" + ws.ID + "/billing/checkout", body: map[string]string{"price_id": "price_x"}},
		{method: "POST", path: "/api/workspaces/" + ws.ID + "/billing/portal"},
	} {
		r.token = owner.token
		if res := ts.must(404, r); res.errCode() != "billing_disabled" {
			t.Errorf("%s %s: code %q, want billing_disabled", r.method, r.path, res.errCode())
		}
	}
	if res := ts.must(404, req{method: "POST", path: "/api/stripe/webhook", body: "{}"}); res.errCode() != "billing_disabled" {
		t.Errorf("webhook: code %q", res.errCode())
	}
	if page := ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/billing", token: owner.token}); !strings.Contains(string(page.Body), "Billing is not enabled") {
		t.Error("the billing page does not say that billing is off")
	}
	if page := ts.must(200, req{method: "GET", path: "/w/" + ws.ID, token: owner.token}); strings.Contains(string(page.Body), "/billing\"") {
		t.Error("the workspace page links to billing although billing is off")
	}

	// More members than any plan's seats, a public chat, a workspace key, big documents.
	for i := range 5 {
		ts.addMember(ws, owner, ts.quickUser(fmt.Sprintf("m%d", i)), "member")
	}
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: owner.token, body: map[string]string{"email": uniqueEmail("inv")}})
	var ch api.ChatJSON
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/chats", token: owner.token, body: map[string]string{"name": "c"}}).json(&ch)
	ts.must(200, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/chats/" + ch.ID + "/public", token: owner.token, body: map[string]bool{"enabled": true}})
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: owner.token, body: map[string]string{"name": "k", "workspace_id": ws.ID}})
	w, _ := ts.store.WorkspaceByID(t.Context(), ws.ID)
	if _, err := ts.srv.plan.Documents(t.Context(), w.ID, 10<<30); err != nil {
		t.Errorf("documents gate without billing: %v", err)
	}
	var lim map[string]any
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/usage/limits", token: owner.token}).json(&lim)
	if lim["plan"] != "self_hosted" || lim["token_limit"] != nil || lim["credit_limit"] != nil {
		t.Errorf("usage limits without billing: %v", lim)
	}
}

func TestBillingWebhookSignatureCatalogAndIdempotency(t *testing.T) {
	b := newBillingServer(t)
	ctx := t.Context()
	now := time.Now().Unix()

	t.Run("bad signature is 400 and changes nothing", func(t *testing.T) {
		payload := event("", "price.updated", now, map[string]any{"id": proPrice, "object": "price", "product": proProduct, "active": false, "currency": "usd", "type": "recurring"})
		sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_wrong"})
		res := b.do(req{method: "POST", path: "/api/stripe/webhook", body: string(payload), headers: map[string]string{"Stripe-Signature": sp.Header, "Content-Type": "application/json"}})
		if res.Status != 400 || res.errCode() != "invalid_request" {
			t.Fatalf("bad signature: %d %s", res.Status, res.Body)
		}
		b.must(400, req{method: "POST", path: "/api/stripe/webhook", body: string(payload)}) // no signature at all
		// A correctly signed event dated a day ahead (a leaked secret minting replayable events) is refused.
		future := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret, Timestamp: time.Now().Add(24 * time.Hour)})
		b.must(400, req{method: "POST", path: "/api/stripe/webhook", body: string(payload), headers: map[string]string{"Stripe-Signature": future.Header, "Content-Type": "application/json"}})
		if p, _, _ := b.store.GetPrice(ctx, proPrice); !p.Active {
			t.Error("an unsigned event deactivated a price")
		}
	})

	t.Run("unknown events are acknowledged", func(t *testing.T) {
		b.must(200, b.webhookReq(event("", "invoice.paid", now, map[string]any{"id": "in_1", "object": "invoice"})))
	})

	t.Run("product and price events; deletions deactivate", func(t *testing.T) {
		b.must(200, b.webhookReq(event("", "product.created", now, map[string]any{"id": "prod_new", "object": "product", "name": "Team", "active": true})))
		if _, ok := b.rec.Last("GET", "/v1/products/prod_new/features"); !ok {
			t.Error("a product event did not re-read the product's features")
		}
		b.must(200, b.webhookReq(event("", "price.created", now, map[string]any{"id": "price_new", "object": "price", "product": "prod_new", "active": true,
			"currency": "eur", "unit_amount": 900, "type": "recurring", "recurring": map[string]any{"interval": "year", "interval_count": 1}})))
		p, active, err := b.store.GetPrice(ctx, "price_new")
		if err != nil || !active || p.Currency != "eur" || p.UnitAmount != 900 || p.Interval != "year" {
			t.Fatalf("stored price %+v (product active %v): %v", p, active, err)
		}
		b.must(200, b.webhookReq(event("", "price.deleted", now+1, map[string]any{"id": "price_new", "object": "price", "product": "prod_new", "active": true, "currency": "eur", "type": "recurring"})))
		if p, _, err := b.store.GetPrice(ctx, "price_new"); err != nil || p.Active {
			t.Errorf("deleted price: %+v %v (want kept, inactive)", p, err)
		}
		b.must(200, b.webhookReq(event("", "product.deleted", now+1, map[string]any{"id": "prod_new", "object": "product", "name": "Team", "active": true, "deleted": true})))
		if _, active, err := b.store.GetPrice(ctx, "price_new"); err != nil || active {
			t.Errorf("deleted product: active %v, err %v (want kept, inactive)", active, err)
		}
	})

	t.Run("a replayed event is applied once", func(t *testing.T) {
		owner := b.signup("owner")
		ws := b.createWorkspace(owner, "Replay")
		payload := event("evt_checkout_once", "checkout.session.completed", now, map[string]any{"id": "cs_test_1", "object": "checkout.session",
			"mode": "subscription", "subscription": "sub_from_checkout", "customer": "cus_test_owner", "client_reference_id": ws.ID})
		b.must(200, b.webhookReq(payload))
		b.must(200, b.webhookReq(payload))
		if n := b.rec.Count("GET", "/v1/subscriptions/sub_from_checkout"); n != 1 {
			t.Errorf("the replayed checkout event fetched the subscription %d times, want 1", n)
		}
		sub, err := b.store.GetSubscription(ctx, "sub_from_checkout")
		if err != nil || sub.WorkspaceID != ws.ID || sub.CustomerID != "cus_test_owner" {
			t.Fatalf("subscription from checkout: %+v %v", sub, err)
		}
		if seen, _ := b.store.StripeEventSeen(ctx, "evt_checkout_once"); !seen {
			t.Error("event not recorded in stripe_events")
		}
	})
}

func (b *billingServer) webhookReq(payload []byte) req {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret})
	return req{method: "POST", path: "/api/stripe/webhook", body: string(payload), headers: map[string]string{"Stripe-Signature": sp.Header, "Content-Type": "application/json"}}
}

func TestBillingSubscriptionOrderAndStatuses(t *testing.T) {
	b := newBillingServer(t)
	owner := b.signup("owner")
	member := b.quickUser("member")
	ws := b.createWorkspace(owner, "Paid")
	b.addMember(ws, owner, member, "member")
	now := time.Now().Unix()
	end := now + 30*86400

	if got := b.billingOf(ws, member); got.Plan.Key != "free" || got.Subscription != nil || *got.Limits.Seats != 3 {
		t.Fatalf("before subscribing: %+v", got)
	}
	b.must(200, b.webhookReq(event("", "customer.subscription.created", now, subscriptionObj("sub_1", ws.ID, "trialing", end, proPrice, proProduct))))
	got := b.billingOf(ws, member)
	if got.Plan.Key != "paid" || got.Plan.Name != "Pro" || got.Subscription == nil || got.Subscription.Status != "trialing" ||
		got.Subscription.PriceID != proPrice || got.Subscription.CurrentPeriodEnd == nil || got.Subscription.CurrentPeriodEnd.Unix() != end {
		t.Fatalf("after subscription.created: %+v %+v", got, got.Subscription)
	}
	if *got.Limits.Seats != 10 || got.Limits.Tokens != nil || !got.Limits.PublicChats || !got.Limits.APIAccess || len(got.Features) != 6 {
		t.Errorf("Pro limits: %+v features %v", got.Limits, got.Features)
	}

	// Newer: past_due (still access). Then an older "active" arrives late: ignored.
	b.must(200, b.webhookReq(event("", "customer.subscription.updated", now+100, subscriptionObj("sub_1", ws.ID, "past_due", end, proPrice, proProduct))))
	b.must(200, b.webhookReq(event("", "customer.subscription.updated", now+50, subscriptionObj("sub_1", ws.ID, "active", end, proPrice, proProduct))))
	if got := b.billingOf(ws, member); got.Subscription.Status != "past_due" || got.Plan.Key != "paid" {
		t.Errorf("after an out-of-order older event: status %s plan %s, want past_due on paid", got.Subscription.Status, got.Plan.Key)
	}

	// Cancelled at period end: still paid, flagged. Then deleted: free plan.
	obj := subscriptionObj("sub_1", ws.ID, "active", end, proPrice, proProduct)
	obj["cancel_at_period_end"] = true
	b.must(200, b.webhookReq(event("", "customer.subscription.updated", now+200, obj)))
	if got := b.billingOf(ws, member); !got.Subscription.CancelAtPeriodEnd || got.Plan.Key != "paid" {
		t.Errorf("cancel at period end: %+v", got.Subscription)
	}
	for _, st := range []string{"unpaid", "canceled"} {
		b.must(200, b.webhookReq(event("", "customer.subscription.updated", now+300, subscriptionObj("sub_1", ws.ID, st, end, proPrice, proProduct))))
		if got := b.billingOf(ws, member); got.Plan.Key != "free" || got.Subscription.Status != st {
			t.Errorf("status %s: plan %s (want free)", st, got.Plan.Key)
		}
	}
}

func TestBillingCheckoutAndPortal(t *testing.T) {
	b := newBillingServer(t)
	owner := b.signup("owner")
	ws := b.createWorkspace(owner, "Shop")

	var plans api.List[api.PlanJSON]
	b.must(200, req{method: "GET", path: "/api/billing/plans", token: owner.token}).json(&plans)
	var pro *api.PlanJSON
	for i := range plans.Items {
		if plans.Items[i].ID == proProduct {
			pro = &plans.Items[i]
		}
	}
	if pro == nil || len(pro.Prices) != 1 || pro.Prices[0].ID != proPrice || len(pro.Features) != 6 || !pro.Limits.APIAccess {
		t.Fatalf("plans: %+v", plans.Items)
	}

	res := b.must(400, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/billing/checkout", token: owner.token, body: map[string]string{"price_id": "price_nope"}})
	if res.errField() != "price_id" {
		t.Errorf("unknown price: %s", res.Body)
	}

	var out struct{ URL string }
	b.must(200, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/billing/checkout", token: owner.token, body: map[string]string{"price_id": proPrice}}).json(&out)
	if !strings.HasPrefix(out.URL, "https://checkout.stripe.com/") {
		t.Errorf("checkout url %q", out.URL)
	}
	cust, ok := b.rec.Last("POST", "/v1/customers")
	if !ok || cust.Form.Get("email") != owner.Email || cust.Form.Get("metadata[quire_user_id]") != fmt.Sprint(owner.ID) {
		t.Errorf("customer creation sent %v", cust.Form)
	}
	cs, _ := b.rec.Last("POST", "/v1/checkout/sessions")
	customerID, err := b.store.StripeCustomer(t.Context(), owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"mode": "subscription", "line_items[0][price]": proPrice, "line_items[0][quantity]": "1",
		"client_reference_id": ws.ID, "customer": customerID, "subscription_data[metadata][workspace_id]": ws.ID,
		"subscription_data[trial_period_days]": "14", "success_url": b.cfg.PublicURL() + "/w/" + ws.ID + "/billing?checkout=success"} {
		if got := cs.Form.Get(k); got != want {
			t.Errorf("checkout session %s = %q, want %q", k, got, want)
		}
	}

	// The customer is reused; once it has had a subscription there is no second trial.
	ended := subscriptionObj("sub_old", ws.ID, "canceled", time.Now().Unix(), proPrice, proProduct)
	ended["customer"] = customerID
	b.must(200, b.webhookReq(event("", "customer.subscription.deleted", time.Now().Unix(), ended)))
	b.must(200, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/billing/checkout", token: owner.token, body: map[string]string{"price_id": proPrice}})
	if n := b.rec.Count("POST", "/v1/customers"); n != 1 {
		t.Errorf("%d customers created, want 1", n)
	}
	if cs, _ := b.rec.Last("POST", "/v1/checkout/sessions"); cs.Form.Has("subscription_data[trial_period_days]") {
		t.Errorf("second subscription got a trial: %v", cs.Form)
	}
	// The trial is once per workspace: a new owner (a new Stripe customer) gets none either.
	heir := b.quickUser("heir")
	if err := b.store.AddMember(t.Context(), ws.ID, heir.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	b.must(200, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/transfer", token: owner.token, body: map[string]int64{"user_id": heir.ID}})
	b.must(200, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/billing/checkout", token: heir.token, body: map[string]string{"price_id": proPrice}})
	if cs, _ := b.rec.Last("POST", "/v1/checkout/sessions"); cs.Form.Get("customer") == customerID || cs.Form.Has("subscription_data[trial_period_days]") {
		t.Errorf("the new owner's checkout (a new customer) got a second trial for the workspace: %v", cs.Form)
	}
	b.must(200, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/transfer", token: heir.token, body: map[string]int64{"user_id": owner.ID}})

	// A live subscription is managed in the portal, not bought twice.
	live := subscriptionObj("sub_live", ws.ID, "active", time.Now().Unix()+86400, proPrice, proProduct)
	live["customer"] = customerID
	b.must(200, b.webhookReq(event("", "customer.subscription.created", time.Now().Unix(), live)))
	b.must(409, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/billing/checkout", token: owner.token, body: map[string]string{"price_id": proPrice}})

	var portal struct{ URL string }
	b.must(200, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/billing/portal", token: owner.token}).json(&portal)
	ps, _ := b.rec.Last("POST", "/v1/billing_portal/sessions")
	if portal.URL == "" || ps.Form.Get("customer") != customerID || ps.Form.Get("return_url") != b.cfg.PublicURL()+"/w/"+ws.ID+"/billing" {
		t.Errorf("portal: url %q, sent %v", portal.URL, ps.Form)
	}

	// The page shows the plan and, for the owner, the portal button.
	page := string(b.must(200, req{method: "GET", path: "/w/" + ws.ID + "/billing", token: owner.token}).Body)
	for _, want := range []string{`id="sub-status">active<`, `data-billing="/api/workspaces/` + ws.ID + `/billing/portal"`, "Pro"} {
		if !strings.Contains(page, want) {
			t.Errorf("billing page lacks %q", want)
		}
	}
}

// Every gate asks the plan: free plan limits bite, Pro lifts them, a
// subscription that ends brings them back.
func TestBillingGates(t *testing.T) {
	b := newBillingServer(t)
	ctx := t.Context()
	owner := b.signup("owner")
	ws := b.createWorkspace(owner, "Gated")
	wsRow, _ := b.store.WorkspaceByID(ctx, ws.ID)
	var ch api.ChatJSON
	b.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/chats", token: owner.token, body: map[string]string{"name": "c"}}).json(&ch)
	keySecret, keyHash := auth.NewToken("qk_")
	if _, err := b.store.CreateToken(ctx, owner.ID, store.TokenAPIKey, "old key", keyHash, ws.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.RecordUsage(ctx, store.Usage{WorkspaceID: ws.ID, UserID: owner.ID, Kind: "chat", Model: "m", InputTokens: 60_000, OutputTokens: 40_000}); err != nil {
		t.Fatal(err)
	}

	quota := func(name string, res response) {
		t.Helper()
		if res.Status != 402 || res.errCode() != "quota_exceeded" {
			t.Errorf("%s: %d %s, want 402 quota_exceeded", name, res.Status, res.Body)
		}
	}
	checkFree := func() {
		t.Helper()
		// Seats: the owner plus two fit in the free plan's three; the next is refused,
		// whether added directly or invited.
		quota("add a 4th member", b.do(req{method: "POST", path: "/api/workspaces/" + ws.ID + "/members", token: owner.token, body: map[string]string{"email": b.quickUser("extra").Email}}))
		quota("invite a 4th member", b.do(req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: owner.token, body: map[string]string{"email": uniqueEmail("inv")}}))
		quota("publish a chat", b.do(req{method: "POST", path: "/api/workspaces/" + ws.ID + "/chats/" + ch.ID + "/public", token: owner.token, body: map[string]bool{"enabled": true}}))
		quota("create a workspace key", b.do(req{method: "POST", path: "/api/me/tokens", token: owner.token, body: map[string]string{"name": "k", "workspace_id": ws.ID}}))
		// /v1 answers a plan's refusal as OpenAI does: 429 insufficient_quota.
		if res := b.do(req{method: "GET", path: "/v1/models", token: keySecret}); res.Status != 429 || res.errCode() != "insufficient_quota" {
			t.Errorf("use /v1 with a workspace key: %d %s, want 429 insufficient_quota", res.Status, res.Body)
		}
		if _, err := b.srv.plan.Reserve(ctx, ws.ID, "m", 1, 1); err == nil || request.ToAPIError(err).Status != 402 {
			t.Errorf("tokens over the free plan's 100000: %v", err)
		}
		if _, err := b.srv.plan.Documents(ctx, wsRow.ID, 101<<20); err == nil || request.ToAPIError(err).Code != "quota_exceeded" {
			t.Errorf("101 MB document on the free plan's 100 MB: %v", err)
		}
	}
	b.addMember(ws, owner, b.quickUser("two"), "member")
	b.addMember(ws, owner, b.quickUser("three"), "member")
	checkFree()
	if _, err := b.srv.plan.Documents(ctx, wsRow.ID, 1<<20); err != nil {
		t.Errorf("a small document on the free plan: %v", err)
	}

	now := time.Now().Unix()
	b.must(200, b.webhookReq(event("", "customer.subscription.created", now, subscriptionObj("sub_gate", ws.ID, "active", now+86400, proPrice, proProduct))))
	b.addMember(ws, owner, b.quickUser("four"), "member")
	b.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: owner.token, body: map[string]string{"email": uniqueEmail("inv")}})
	b.must(200, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/chats/" + ch.ID + "/public", token: owner.token, body: map[string]bool{"enabled": true}})
	b.must(201, req{method: "POST", path: "/api/me/tokens", token: owner.token, body: map[string]string{"name": "k", "workspace_id": ws.ID}})
	if res := b.do(req{method: "GET", path: "/v1/models", token: keySecret}); res.Status == 402 || res.Status == 403 {
		t.Errorf("/v1 on Pro: %d %s", res.Status, res.Body)
	}
	if _, err := b.srv.plan.Reserve(ctx, ws.ID, "m", 1, 1); err != nil {
		t.Errorf("tokens on Pro (unlimited): %v", err)
	}
	if _, err := b.srv.plan.Documents(ctx, wsRow.ID, 5<<30); err != nil {
		t.Errorf("5 GB document on Pro (unlimited storage): %v", err)
	}

	// The subscription ends: back to the free plan, and the published link stops working.
	b.must(200, b.webhookReq(event("", "customer.subscription.deleted", now+10, subscriptionObj("sub_gate", ws.ID, "canceled", now+86400, proPrice, proProduct))))
	checkFree()
	if pub, err := b.store.GetChat(ctx, ws.ID, ch.ID); err == nil && pub.PublicID != "" {
		b.must(404, req{method: "GET", path: "/api/public/chats/" + pub.PublicID})
	} else {
		t.Errorf("published chat: %v", err)
	}
}

// The route walk for the billing routes with billing on (the main walk runs
// with billing off, where allowed callers get 404 billing_disabled).
func TestBillingRouteWalk(t *testing.T) {
	b := newBillingServer(t)
	for _, r := range b.srv.Routes() {
		if !strings.Contains(r.Path, "billing") && !strings.Contains(r.Path, "stripe") {
			continue
		}
		r.Access = accessSpec[r.Method+" "+r.Path]
		for _, role := range roles {
			w := newWorld(b.testServer)
			caller := w.callerAs(b.testServer, role)
			rq := req{method: r.Method, path: w.fillPath(t, b.testServer, r.Path, caller), body: w.body(r.Method, r.Path, caller)}
			if caller != nil {
				rq.token = caller.token
			}
			res := b.do(rq)
			denied, want := expect(r, role)
			switch {
			case denied && res.Status != want:
				t.Errorf("%s %s as %s: status %d, want %d (%s)", r.Method, r.Path, role, res.Status, want, res.Body)
			case !denied && (res.Status == 401 || res.Status == 403 || res.Status == 404 || res.Status >= 500):
				t.Errorf("%s %s as %s: allowed caller got %d: %s", r.Method, r.Path, role, res.Status, res.Body)
			}
		}
	}
}

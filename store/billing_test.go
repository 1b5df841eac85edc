package store

import (
	"testing"
	"time"
)

// The mirror only moves forward, keeps deleted things as inactive, and stores
// a subscription whose price it has not seen yet.
func TestBillingMirrorVersionsAndPlaceholders(t *testing.T) {
	s, ctx := openTest(t), t.Context()
	u, err := s.CreateUser(ctx, "payer@example.com", "Payer", "x", true)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := s.CreateWorkspace(ctx, u.ID, "Paid")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(720 * time.Hour).UTC().Truncate(time.Second)
	sub := Subscription{ID: "sub_1", WorkspaceID: ws.ID, CustomerID: "cus_1", Status: "active", CurrentPeriodEnd: &end,
		Items: []SubscriptionItem{{ID: "si_1", Quantity: 1, Price: Price{ID: "price_unseen", ProductID: "prod_unseen", Active: true, Currency: "usd", Type: "recurring", Interval: "month"}}}}
	if ok, err := s.UpsertSubscription(ctx, sub, 200); err != nil || !ok {
		t.Fatalf("first upsert: %v %v", ok, err)
	}
	older := sub
	older.Status, older.WorkspaceID = "incomplete", ""
	if ok, err := s.UpsertSubscription(ctx, older, 100); err != nil || ok {
		t.Fatalf("an older version was applied: %v %v", ok, err)
	}
	newer := sub
	newer.Status, newer.WorkspaceID = "past_due", "" // no workspace in the event: keep the stored one
	if ok, err := s.UpsertSubscription(ctx, newer, 300); err != nil || !ok {
		t.Fatalf("newer upsert: %v %v", ok, err)
	}
	got, err := s.WorkspaceSubscription(ctx, ws.ID)
	if err != nil || got.Status != "past_due" || got.WorkspaceID != ws.ID || !got.CurrentPeriodEnd.Equal(end) ||
		len(got.Items) != 1 || got.Items[0].Price.ID != "price_unseen" || got.Items[0].Price.ProductID != "prod_unseen" {
		t.Fatalf("stored %+v: %v", got, err)
	}
	if had, _ := s.CustomerHasSubscribed(ctx, "cus_1"); !had {
		t.Error("customer with a subscription reported as new")
	}

	// The product's own event fills the placeholder; deletion deactivates, never deletes.
	if err := s.UpsertProduct(ctx, Product{ID: "prod_unseen", Name: "Pro", Active: true}, 400); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertProduct(ctx, Product{ID: "prod_unseen", Name: "Pro", Active: false}, 500); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertProduct(ctx, Product{ID: "prod_unseen", Name: "Stale", Active: true}, 450); err != nil {
		t.Fatal(err)
	}
	if _, active, err := s.GetPrice(ctx, "price_unseen"); err != nil || active {
		t.Errorf("product after deletion: active %v, %v", active, err)
	}
	if cat, _ := s.Catalog(ctx); len(cat) != 0 {
		t.Errorf("an inactive product is on offer: %+v", cat)
	}
	if err := s.UpsertFeature(ctx, Feature{ID: "feat_1", LookupKey: "quire_api_access", Name: "API", Active: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetProductFeatures(ctx, "prod_unseen", []ProductFeature{{ID: "pf_1", FeatureID: "feat_1"}}); err != nil {
		t.Fatal(err)
	}
	keys, names, err := s.SubscriptionFeatures(ctx, "sub_1")
	if err != nil || len(keys) != 1 || keys[0] != "quire_api_access" || len(names) != 1 || names[0] != "Pro" {
		t.Errorf("features %v of %v: %v", keys, names, err)
	}

	// Events are recorded once.
	for range 2 {
		if err := s.RecordStripeEvent(ctx, "evt_1", "x", 1); err != nil {
			t.Fatal(err)
		}
	}
	if seen, _ := s.StripeEventSeen(ctx, "evt_1"); !seen {
		t.Error("event not seen")
	}
}

package billing

import (
	"context"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// SyncReport counts what a sync imported.
type SyncReport struct {
	Products, Prices, Features, Subscriptions int
}

// Sync imports the whole catalogue (products with their features, prices) and
// every subscription from Stripe: the first import of `quire stripe sync`, and
// a repair after missed webhooks. Fetched state is versioned "now", so events
// older than the sync that arrive later cannot undo it.
func (s *Service) Sync(ctx context.Context) (SyncReport, error) {
	var r SyncReport
	now := time.Now().Unix()

	pl := &stripe.ProductListParams{}
	pl.Context = ctx
	products := s.api.Products.List(pl)
	for products.Next() {
		p := products.Product()
		if err := s.store.UpsertProduct(ctx, productOf(p, false), now); err != nil {
			return r, err
		}
		fs, pfs, err := s.productFeatures(ctx, p.ID)
		if err != nil {
			return r, err
		}
		for _, f := range fs {
			if err := s.store.UpsertFeature(ctx, f); err != nil {
				return r, err
			}
		}
		if err := s.store.SetProductFeatures(ctx, p.ID, pfs); err != nil {
			return r, err
		}
		r.Products++
		r.Features += len(fs)
	}
	if err := products.Err(); err != nil {
		return r, provider("list products", err)
	}

	prl := &stripe.PriceListParams{}
	prl.Context = ctx
	prices := s.api.Prices.List(prl)
	for prices.Next() {
		if err := s.store.UpsertPrice(ctx, priceOf(prices.Price(), false), now); err != nil {
			return r, err
		}
		r.Prices++
	}
	if err := prices.Err(); err != nil {
		return r, provider("list prices", err)
	}

	sl := &stripe.SubscriptionListParams{Status: stripe.String("all")}
	sl.Context = ctx
	subs := s.api.Subscriptions.List(sl)
	for subs.Next() {
		sub := subs.Subscription()
		if err := s.applySubscription(ctx, sub, nil, "", now); err != nil {
			return r, err
		}
		r.Subscriptions++
	}
	if err := subs.Err(); err != nil {
		return r, provider("list subscriptions", err)
	}
	return r, nil
}

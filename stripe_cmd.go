package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"quire/app/billing"
)

// stripeSync is `quire stripe sync`: the first import of the Stripe catalogue
// (products with their entitlement features, prices) and every subscription.
// Webhooks keep the mirror current afterwards; running it again is harmless.
func stripeSync(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("stripe sync", flag.ContinueOnError)
	cfg, st, err := openStore(fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	if !cfg.BillingEnabled() {
		return errors.New("billing is off: set stripe.secret_key (QUIRE_STRIPE_SECRET_KEY) and stripe.webhook_secret first")
	}
	svc := billing.New(billing.Config{SecretKey: cfg.Stripe.SecretKey, WebhookSecret: cfg.Stripe.WebhookSecret, APIURL: cfg.Stripe.APIURL,
		TrialDays: cfg.Stripe.TrialDays}, st, newLogger(cfg))
	r, err := svc.Sync(context.Background())
	if err != nil {
		return fmt.Errorf("stripe sync: %w", err)
	}
	fmt.Fprintf(stdout, "synced %d products (%d features), %d prices, %d subscriptions from Stripe\n", r.Products, r.Features, r.Prices, r.Subscriptions)
	return nil
}

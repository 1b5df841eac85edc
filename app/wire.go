package app

import (
	"context"

	"quire/app/billing"
	"quire/app/ops"
	"quire/app/plan"
)

// initBilling wires the billing service when Stripe is configured.
func (s *Server) initBilling() {
	if !s.cfg.BillingEnabled() {
		return
	}
	st := s.cfg.Stripe
	s.billing = billing.New(billing.Config{SecretKey: st.SecretKey, WebhookSecret: st.WebhookSecret, APIURL: st.APIURL, TrialDays: st.TrialDays},
		s.store, s.log)
}

// newPlan builds the plan service over the billing in use (none: self-hosted
// with the admin's limits).
func (s *Server) newPlan() *plan.Service {
	return plan.New(plan.Config{Store: s.store, Billing: s.billing, Prices: s.cfg.Prices, Logger: s.log,
		SelfHosted: func() (int64, int64) { st := s.currentSettings(); return st.TokenLimit, st.CreditLimitMicros }})
}

// startOps wires the operations kit: the backups folder and its schedule.
func (s *Server) startOps(ctx context.Context) {
	s.backups = &ops.Backups{
		Dir:    s.cfg.BackupsDir(),
		Source: ops.Source{Store: s.store, FilesDir: s.cfg.FilesDir(), Version: Version},
		Log:    s.log,
	}
	s.backups.Schedule(ctx, s.cfg.BackupInterval.Duration, s.cfg.BackupKeep)
}

// Package plan answers "what may this workspace use?" for every gate: its
// plan (the Stripe plan when billing is on, else the self-hosted plan with
// the instance admin's limits), what a model call costs, the reservation of a
// call's estimated usage before it runs and its settlement after, and the
// seat, document, API and public-chat gates. Refusals are fault.Quota with a
// message that says what a person can do about them.
package plan

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"quire/app/units"

	"quire/app/billing"
	"quire/app/config"
	"quire/app/fault"
	"quire/store"
)

// Config is what a Service needs.
type Config struct {
	Store *store.Store
	// Billing is the Stripe billing; nil when billing is off.
	Billing *billing.Service
	// SelfHosted returns the admin's monthly limits of the self-hosted plan
	// (0 = unlimited); they change at run time.
	SelfHosted func() (tokens, creditMicros int64)
	// Prices price model calls; unlisted models are free (local models).
	Prices map[string]config.Price
	Logger *slog.Logger
}

// Service is the plan use cases.
type Service struct {
	cfg Config
	st  *store.Store
	log *slog.Logger
}

// New returns the plan service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{cfg: cfg, st: cfg.Store, log: cfg.Logger}
}

// Of is the workspace's plan.
func (s *Service) Of(ctx context.Context, wsID string) (billing.Plan, error) {
	if s.cfg.Billing == nil {
		tokens, credit := s.cfg.SelfHosted()
		return billing.SelfHosted(tokens, credit), nil
	}
	p, _, err := s.cfg.Billing.WorkspacePlan(ctx, wsID)
	return p, err
}

// OrFree is Of for callers without an error path (the usage limits): a plan
// that cannot be read falls back to the free plan, so a database hiccup never
// lifts limits.
func (s *Service) OrFree(ctx context.Context, wsID string) billing.Plan {
	p, err := s.Of(ctx, wsID)
	if err != nil {
		s.log.Error("read the workspace's plan", "workspace_id", wsID, "err", err)
		return billing.Free()
	}
	return p
}

// UpgradeHint ends a quota message with what a person can do about it.
func (s *Service) UpgradeHint() string {
	if s.cfg.Billing == nil {
		return "ask the instance administrator"
	}
	return "the workspace owner can change the plan on the Billing page"
}

func (s *Service) refuse(format string, a ...any) error {
	return fault.New(fault.Quota, format, a...)
}

// Seats refuses a new member or invitation when the plan's seats (members
// plus pending invitations) are all taken. It returns the plan's seats for
// the store to enforce again inside the transaction that adds the person
// (0 = unlimited), which closes the race between two simultaneous invitations.
func (s *Service) Seats(ctx context.Context, wsID string) (int64, error) {
	p, err := s.Of(ctx, wsID)
	if err != nil || p.Seats == 0 {
		return 0, err
	}
	used, err := s.st.SeatsUsed(ctx, wsID)
	if err != nil {
		return 0, err
	}
	if used >= p.Seats {
		return 0, s.refuse("the %s plan includes %d seats and all are taken (members plus pending invitations); remove someone, cancel an invitation, or %s", p.Name, p.Seats, s.UpgradeHint())
	}
	return p.Seats, nil
}

// PublicChats gates publishing a chat, and serving already published ones.
func (s *Service) PublicChats(ctx context.Context, wsID string) error {
	p, err := s.Of(ctx, wsID)
	if err != nil || p.PublicChats {
		return err
	}
	return s.refuse("the %s plan does not include public chat links; %s", p.Name, s.UpgradeHint())
}

// APIAccess gates the OpenAI-compatible /v1 API and the creation of
// workspace-bound API keys.
func (s *Service) APIAccess(ctx context.Context, wsID string) error {
	p, err := s.Of(ctx, wsID)
	if err != nil || p.APIAccess {
		return err
	}
	return s.refuse("the %s plan does not include API access; %s", p.Name, s.UpgradeHint())
}

// Documents gates adding a document of extraBytes before anything is stored.
// It returns the plan's limits for the store to enforce again inside the
// transaction that adds the document, which closes the race between parallel
// uploads (DocumentLimitError words the store's refusal).
func (s *Service) Documents(ctx context.Context, wsID string, extraBytes int64) (store.DocumentLimits, error) {
	p, err := s.Of(ctx, wsID)
	if err != nil || (p.Documents == 0 && p.StorageMB == 0) {
		return store.DocumentLimits{}, err
	}
	count, used, err := s.st.DocumentTotals(ctx, wsID)
	if err != nil {
		return store.DocumentLimits{}, err
	}
	if p.Documents > 0 && count+1 > p.Documents {
		return store.DocumentLimits{}, s.refuse("the %s plan holds %d documents and this workspace has %d; delete some or %s", p.Name, p.Documents, count, s.UpgradeHint())
	}
	if limit := p.StorageMB << 20; p.StorageMB > 0 && used+extraBytes > limit {
		return store.DocumentLimits{}, s.refuse("the %s plan holds %d MB of documents; %s are used and this file needs %s more; delete some or %s",
			p.Name, p.StorageMB, units.Bytes(used), units.Bytes(extraBytes), s.UpgradeHint())
	}
	return store.DocumentLimits{Documents: p.Documents, Bytes: p.StorageMB << 20}, nil
}

// DocumentLimitError words the store's in-transaction refusal of a document
// (another upload took the last place since Documents looked).
func (s *Service) DocumentLimitError(lim store.DocumentLimits, err error) error {
	switch {
	case errors.Is(err, store.ErrDocumentLimit):
		return s.refuse("this workspace's plan holds %d documents and they are all used; delete some or %s", lim.Documents, s.UpgradeHint())
	case errors.Is(err, store.ErrStorageLimit):
		return s.refuse("this workspace's plan holds %d MB of documents and this file does not fit; delete some or %s", lim.Bytes>>20, s.UpgradeHint())
	}
	return err
}

// Limits is what a workspace's plan allows per period (0 = unlimited).
type Limits struct {
	Plan        string
	TokenLimit  int64
	CreditLimit int64 // micro-units
}

// LimitsOf returns the workspace's monthly model limits.
func (s *Service) LimitsOf(ctx context.Context, wsID string) Limits {
	p := s.OrFree(ctx, wsID)
	return Limits{Plan: p.Key, TokenLimit: p.Tokens, CreditLimit: p.CreditMicros}
}

// Period is the accounting month of now, in UTC.
func Period(now time.Time) (time.Time, time.Time) {
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

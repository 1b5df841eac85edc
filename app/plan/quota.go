package plan

import (
	"context"
	"errors"
	"time"

	"quire/app/config"
	"quire/store"
)

// Cost prices a call from the configured table in micro-units; unlisted
// models are free.
func (s *Service) Cost(model string, input, output int) int64 {
	p, ok := s.cfg.Prices[model]
	if !ok {
		return 0
	}
	in, _ := config.Micros(p.InputPerMillion) // validated at start
	out, _ := config.Micros(p.OutputPerMillion)
	// Round half up to the micro-unit; int64 holds tokens × price easily.
	return (int64(input)*in + int64(output)*out + 500_000) / 1_000_000
}

// reservationTTL bounds how long a reservation counts if its call never
// settles it (the process died mid-reply); replies are capped by their token
// budget, so a live one ends well within it.
const reservationTTL = time.Hour

// Hold is a reservation of a call's estimated usage; the zero Hold holds
// nothing (the plan has no limit).
type Hold struct {
	WorkspaceID string
	ID          int64
}

// Reserve holds the estimated usage of one model call (input and output
// tokens, priced) against the workspace's plan before the call starts, so
// parallel calls cannot together pass the limit: fault.Quota when used +
// reserved + estimate would. Settle or Release the hold afterwards.
func (s *Service) Reserve(ctx context.Context, wsID, model string, input, output int) (Hold, error) {
	lim := s.LimitsOf(ctx, wsID)
	if lim.TokenLimit == 0 && lim.CreditLimit == 0 {
		return Hold{}, nil
	}
	from, to := Period(time.Now())
	id, err := s.st.ReserveUsage(ctx, wsID, store.Allowance{Since: from, Tokens: lim.TokenLimit, CreditMicros: lim.CreditLimit},
		store.Hold{Tokens: int64(input + output), CostMicros: s.Cost(model, input, output), TTL: reservationTTL})
	var qe *store.QuotaError
	if !errors.As(err, &qe) {
		return Hold{WorkspaceID: wsID, ID: id}, err
	}
	resets := to.Format("2 January")
	left := max(qe.Limit-qe.Used-qe.Reserved, 0)
	if qe.Credit {
		return Hold{}, s.refuse("this workspace's %s monthly credit has %s left and this call could cost up to %s; the allowance renews on %s",
			config.FormatMicros(lim.CreditLimit), config.FormatMicros(left), config.FormatMicros(qe.Want), resets)
	}
	return Hold{}, s.refuse("this workspace has %d of its %d tokens for this month left and this call could use up to %d (lower max_tokens to ask for less); the allowance renews on %s",
		left, lim.TokenLimit, qe.Want, resets)
}

// Call is one finished model call to account for.
type Call struct {
	WorkspaceID                   string
	Kind                          string // store.UsageChat, store.UsageTitle, store.UsageEmbedding
	Model                         string
	UserID                        int64
	ChatID, MessageID, DocumentID string
	Input, Output                 int
	Duration                      time.Duration
}

// Settle writes the usage row of the call held by h, in the workspace's and
// user's totals; the row replaces the reservation in the same transaction. A
// call that used nothing only gives its reservation back. Accounting never
// fails the work it accounts for, so errors are logged, not returned.
func (s *Service) Settle(ctx context.Context, h Hold, c Call) {
	ctx = context.WithoutCancel(ctx)
	if c.Input+c.Output == 0 {
		s.Release(ctx, h)
		return
	}
	_, err := s.st.RecordUsage(ctx, store.Usage{
		WorkspaceID: c.WorkspaceID, UserID: c.UserID, ChatSessionID: c.ChatID, MessageID: c.MessageID, DocumentID: c.DocumentID,
		Kind: c.Kind, Model: c.Model, InputTokens: c.Input, OutputTokens: c.Output, Duration: c.Duration,
		CostMicros: s.Cost(c.Model, c.Input, c.Output), ReservationID: h.ID,
	})
	if err != nil {
		s.log.Error("record AI usage", "kind", c.Kind, "model", c.Model, "err", err)
	}
}

// Release gives back a reservation whose call did not run.
func (s *Service) Release(ctx context.Context, h Hold) {
	if h.ID == 0 {
		return
	}
	if err := s.st.ReleaseUsage(context.WithoutCancel(ctx), h.WorkspaceID, h.ID); err != nil {
		s.log.Error("release usage reservation", "workspace_id", h.WorkspaceID, "err", err)
	}
}

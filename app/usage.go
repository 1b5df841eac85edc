package app

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/config"
	"quire/store"
)

// costMicros prices a call from the configured table; unlisted models are free.
func (s *Server) costMicros(model string, input, output int) int64 {
	p, ok := s.cfg.Prices[model]
	if !ok {
		return 0
	}
	in, _ := config.Micros(p.InputPerMillion) // validated at start
	out, _ := config.Micros(p.OutputPerMillion)
	// Round half up to the micro-unit; int64 holds tokens × price easily.
	return (int64(input)*in + int64(output)*out + 500_000) / 1_000_000
}

// recordAICall writes the usage row of one model call and updates the user's
// and workspace's totals; the row replaces the call's reservation (hold). A
// call that used nothing only gives its reservation back. Accounting never
// fails the user's request.
func (s *Server) recordAICall(ctx context.Context, call aiCall) {
	if call.input+call.output == 0 {
		s.releaseQuota(ctx, call.wsID, call.hold)
		return
	}
	_, err := s.store.RecordUsage(ctx, store.Usage{
		WorkspaceID: call.wsID, UserID: call.userID, ChatSessionID: call.chatID, MessageID: call.messageID, DocumentID: call.documentID,
		Kind: call.kind, Model: call.model, InputTokens: call.input, OutputTokens: call.output, Duration: call.duration,
		CostMicros: s.costMicros(call.model, call.input, call.output), ReservationID: call.hold,
	})
	if err != nil {
		s.log.Error("record AI usage", "kind", call.kind, "model", call.model, "err", err)
	}
}

// releaseQuota gives back a reservation whose call used nothing.
func (s *Server) releaseQuota(ctx context.Context, wsID string, hold int64) {
	if hold == 0 {
		return
	}
	if err := s.store.ReleaseUsage(ctx, wsID, hold); err != nil {
		s.log.Error("release usage reservation", "workspace_id", wsID, "err", err)
	}
}

// limits is what a workspace's plan allows per period (0 = unlimited).
type limits struct {
	Plan        string
	TokenLimit  int64
	CreditLimit int64 // micro-units
}

// limitsFor returns the workspace's plan limits (planFor): the self-hosted
// plan's, set by the instance admin (unlimited unless set), or with billing on
// the Stripe plan's.
func (s *Server) limitsFor(ws *store.Workspace) limits {
	p := s.planOrFree(ws)
	return limits{Plan: p.Key, TokenLimit: p.Tokens, CreditLimit: p.CreditMicros}
}

// period is the current accounting month, in UTC.
func period(now time.Time) (time.Time, time.Time) {
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

// reservationTTL bounds how long a reservation counts if its call never
// settles it (the process died mid-reply); replies are capped by their token
// budget, so a live one ends well within it.
const reservationTTL = time.Hour

// reserveQuota holds the estimated usage of one model call (input and output
// tokens, priced) against the workspace's plan before the call starts, so
// parallel calls cannot together pass the limit: 402 quota_exceeded when
// used + reserved + estimate would. It returns the reservation to settle
// through aiCall.hold (0 when the plan has no limit).
func (s *Server) reserveQuota(ctx context.Context, wsID, model string, input, output int) (int64, error) {
	ws, err := s.store.WorkspaceByID(ctx, wsID)
	if err != nil {
		return 0, err
	}
	lim := s.limitsFor(ws)
	if lim.TokenLimit == 0 && lim.CreditLimit == 0 {
		return 0, nil
	}
	from, to := period(time.Now())
	id, err := s.store.ReserveUsage(ctx, wsID, store.Allowance{Since: from, Tokens: lim.TokenLimit, CreditMicros: lim.CreditLimit},
		store.Hold{Tokens: int64(input + output), CostMicros: s.costMicros(model, input, output), TTL: reservationTTL})
	var qe *store.QuotaError
	if !errors.As(err, &qe) {
		return id, err
	}
	resets := to.Format("2 January")
	left := max(qe.Limit-qe.Used-qe.Reserved, 0)
	if qe.Credit {
		return 0, errorf(fiber.StatusPaymentRequired, "quota_exceeded", "this workspace's %s monthly credit has %s left and this call could cost up to %s; the allowance renews on %s",
			config.FormatMicros(lim.CreditLimit), config.FormatMicros(left), config.FormatMicros(qe.Want), resets)
	}
	return 0, errorf(fiber.StatusPaymentRequired, "quota_exceeded", "this workspace has %d of its %d tokens for this month left and this call could use up to %d (lower max_tokens to ask for less); the allowance renews on %s",
		left, lim.TokenLimit, qe.Want, resets)
}

type usagePointJSON struct {
	Key          string `json:"key"`
	Label        string `json:"label"`
	Calls        int64  `json:"calls"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	Cost         string `json:"cost"`
}

func usagePointView(p *store.UsagePoint) usagePointJSON {
	return usagePointJSON{p.Key, p.Label, p.Calls, p.InputTokens, p.OutputTokens, config.FormatMicros(p.CostMicros)}
}

func (s *Server) myUsage(c *fiber.Ctx) error {
	u := userOf(c)
	tot, err := s.store.UserCosts(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	by, err := s.store.UsageByWorkspace(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"total_cost": config.FormatMicros(tot.CostMicros), "input_tokens": tot.InputTokens, "output_tokens": tot.OutputTokens,
		"by_workspace": mapSlice(by, usagePointView)})
}

// usageRange reads ?from=&to= (RFC 3339 or YYYY-MM-DD; default: the last 30 days).
func usageRange(c *fiber.Ctx) (time.Time, time.Time, error) {
	parse := func(field, v string, def time.Time) (time.Time, error) {
		if v == "" {
			return def, nil
		}
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, nil
			}
		}
		return time.Time{}, invalid(field, "%s must be a date like 2026-01-31 or an RFC 3339 time", field)
	}
	now := time.Now().UTC()
	to, err := parse("to", c.Query("to"), now.Add(time.Minute))
	if err != nil {
		return to, to, err
	}
	from, err := parse("from", c.Query("from"), to.AddDate(0, 0, -30))
	if err != nil {
		return from, to, err
	}
	if !from.Before(to) {
		return from, to, invalid("from", "from must be before to")
	}
	return from, to, nil
}

func (s *Server) workspaceUsage(c *fiber.Ctx) error {
	from, to, err := usageRange(c)
	if err != nil {
		return err
	}
	groupBy := c.Query("group_by", "day")
	if groupBy != "day" && groupBy != "model" && groupBy != "user" {
		return invalid("group_by", "group_by must be day, model or user")
	}
	series, err := s.store.UsageSeries(c.UserContext(), workspaceOf(c).ID, from, to, groupBy)
	if err != nil {
		return err
	}
	var cost, in, out int64
	for _, p := range series {
		cost, in, out = cost+p.CostMicros, in+p.InputTokens, out+p.OutputTokens
	}
	return c.JSON(fiber.Map{"from": from, "to": to, "group_by": groupBy, "total_cost": config.FormatMicros(cost),
		"input_tokens": in, "output_tokens": out, "series": mapSlice(series, usagePointView)})
}

func (s *Server) usageLimits(c *fiber.Ctx) error {
	ws := workspaceOf(c)
	lim := s.limitsFor(ws)
	from, to := period(time.Now())
	used, err := s.store.PeriodUsage(c.UserContext(), ws.ID, from)
	if err != nil {
		return err
	}
	out := fiber.Map{"plan": lim.Plan, "period_start": from, "period_end": to,
		"credit_limit": nil, "credit_used": config.FormatMicros(used.CostMicros),
		"token_limit": nil, "tokens_used": used.InputTokens + used.OutputTokens}
	if lim.CreditLimit > 0 {
		out["credit_limit"] = config.FormatMicros(lim.CreditLimit)
	}
	if lim.TokenLimit > 0 {
		out["token_limit"] = lim.TokenLimit
	}
	return c.JSON(out)
}

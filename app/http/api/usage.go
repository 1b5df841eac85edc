package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/config"
	"quire/app/http/request"
	"quire/app/plan"
	"quire/store"
)

type UsagePointJSON struct {
	Key          string `json:"key"`
	Label        string `json:"label"`
	Calls        int64  `json:"calls"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	Cost         string `json:"cost"`
}

func usagePointView(p *store.UsagePoint) UsagePointJSON {
	return UsagePointJSON{p.Key, p.Label, p.Calls, p.InputTokens, p.OutputTokens, config.FormatMicros(p.CostMicros)}
}

func (s *Handlers) MyUsage(c *fiber.Ctx) error {
	u := request.User(c)
	tot, err := s.Store.UserCosts(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	by, err := s.Store.UsageByWorkspace(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"total_cost": config.FormatMicros(tot.CostMicros), "input_tokens": tot.InputTokens, "output_tokens": tot.OutputTokens,
		"by_workspace": MapSlice(by, usagePointView)})
}

// UsageRange reads ?from=&to= (RFC 3339 or YYYY-MM-DD; default: the last 30 days).
func UsageRange(c *fiber.Ctx) (time.Time, time.Time, error) {
	parse := func(field, v string, def time.Time) (time.Time, error) {
		if v == "" {
			return def, nil
		}
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, nil
			}
		}
		return time.Time{}, request.Invalid(field, "%s must be a date like 2026-01-31 or an RFC 3339 time", field)
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
		return from, to, request.Invalid("from", "from must be before to")
	}
	return from, to, nil
}

func (s *Handlers) WorkspaceUsage(c *fiber.Ctx) error {
	from, to, err := UsageRange(c)
	if err != nil {
		return err
	}
	groupBy := c.Query("group_by", "day")
	if groupBy != "day" && groupBy != "model" && groupBy != "user" {
		return request.Invalid("group_by", "group_by must be day, model or user")
	}
	series, err := s.Store.UsageSeries(c.UserContext(), request.Workspace(c).ID, from, to, groupBy)
	if err != nil {
		return err
	}
	var cost, in, out int64
	for _, p := range series {
		cost, in, out = cost+p.CostMicros, in+p.InputTokens, out+p.OutputTokens
	}
	return c.JSON(fiber.Map{"from": from, "to": to, "group_by": groupBy, "total_cost": config.FormatMicros(cost), "currency": s.Config.Currency(),
		"input_tokens": in, "output_tokens": out, "series": MapSlice(series, usagePointView)})
}

func (s *Handlers) UsageLimits(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	lim := s.Plan.LimitsOf(c.UserContext(), ws.ID)
	from, to := plan.Period(time.Now())
	used, err := s.Store.PeriodUsage(c.UserContext(), ws.ID, from)
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

package store

import (
	"context"
	"fmt"
	"time"
)

// UsagePoint is one bucket of a usage series.
type UsagePoint struct {
	Key          string // day (YYYY-MM-DD), model name, or user id
	Label        string // display name (the user's name for by-user series)
	Calls        int64
	InputTokens  int64
	OutputTokens int64
	CostMicros   int64
}

// UsageSeries sums a workspace's ai_usage rows in [from, to) grouped by "day",
// "model" or "user".
func (s *Store) UsageSeries(ctx context.Context, wsID string, from, to time.Time, groupBy string) ([]UsagePoint, error) {
	var key, label, join string
	switch groupBy {
	case "day":
		key, label = "substr(a.created_at, 1, 10)", "substr(a.created_at, 1, 10)"
	case "model":
		key, label = "a.model", "a.model"
	case "user":
		key, label = "coalesce(a.user_id, 0)", "coalesce(nullif(u.name, ''), u.email, 'deleted user')"
		join = "LEFT JOIN users u ON u.id = a.user_id"
	default:
		return nil, fmt.Errorf("unknown grouping %q", groupBy)
	}
	// key/label/join are constants chosen above; every value is bound.
	rows, err := s.r.QueryContext(ctx, `SELECT `+key+`, `+label+`, count(*), sum(a.input_tokens), sum(a.output_tokens), sum(a.cost_micros)
		FROM ai_usage a `+join+` WHERE a.workspace_id = ? AND a.created_at >= ? AND a.created_at < ?
		GROUP BY 1 ORDER BY 1`, wsID, formatTime(from), formatTime(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UsagePoint
	for rows.Next() {
		var p UsagePoint
		var k any
		if err := rows.Scan(&k, &p.Label, &p.Calls, &p.InputTokens, &p.OutputTokens, &p.CostMicros); err != nil {
			return nil, err
		}
		p.Key = fmt.Sprint(k)
		out = append(out, p)
	}
	return out, rows.Err()
}

// UsageByWorkspace is the user's usage split by workspace (for /api/me/usage).
func (s *Store) UsageByWorkspace(ctx context.Context, userID int64) ([]UsagePoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT coalesce(a.workspace_id, ''), coalesce(w.name, ''), count(*), sum(a.input_tokens), sum(a.output_tokens), sum(a.cost_micros)
		FROM ai_usage a LEFT JOIN workspaces w ON w.id = a.workspace_id WHERE a.user_id = ? GROUP BY 1 ORDER BY 2`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UsagePoint
	for rows.Next() {
		var p UsagePoint
		if err := rows.Scan(&p.Key, &p.Label, &p.Calls, &p.InputTokens, &p.OutputTokens, &p.CostMicros); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PeriodUsage sums a workspace's usage since from (for plan limits).
func (s *Store) PeriodUsage(ctx context.Context, wsID string, from time.Time) (CostTotals, error) {
	var c CostTotals
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(cost_micros), 0), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0)
		FROM ai_usage WHERE workspace_id = ? AND created_at >= ?`, wsID, formatTime(from)).Scan(&c.CostMicros, &c.InputTokens, &c.OutputTokens)
	return c, err
}

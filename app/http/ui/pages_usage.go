package ui

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/api"
	"quire/app/http/request"
	"quire/app/units"
	"quire/store"
)

// The usage page's charts are drawn on the server: inline SVG and HTML with
// no script and no style attributes (the CSP allows neither inline); colours
// and type sizes come from CSS classes. Every bar carries its exact values
// in a tooltip (<title>), and the tables below give them to screen readers.

// measure is what a chart shows of a usage point.
type measure struct {
	axis  string                        // the axis title, e.g. "Tokens" or "Cost (EUR)"
	value func(store.UsagePoint) int64  // the bar's height
	tick  func(v, step int64) string    // an axis value, short; step is the distance between ticks
	exact func(store.UsagePoint) string // the tooltip: every number of the point
}

func tokenMeasure() measure {
	return measure{
		axis:  "Tokens",
		value: func(p store.UsagePoint) int64 { return p.InputTokens + p.OutputTokens },
		tick:  func(v, _ int64) string { return shortCount(v) },
		exact: func(p store.UsagePoint) string {
			return fmt.Sprintf("%s tokens (%s in, %s out) in %s", units.Thousands(p.InputTokens+p.OutputTokens),
				units.Thousands(p.InputTokens), units.Thousands(p.OutputTokens), plural(p.Calls, "call", "calls"))
		},
	}
}

func costMeasure(currency string) measure {
	axis := "Cost"
	if currency != "" {
		axis += " (" + currency + ")"
	}
	return measure{
		axis:  axis,
		value: func(p store.UsagePoint) int64 { return p.CostMicros },
		tick:  moneyTick,
		exact: func(p store.UsagePoint) string {
			return fmt.Sprintf("%s in %s", units.Money(p.CostMicros, currency), plural(p.Calls, "call", "calls"))
		},
	}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return units.Thousands(n) + " " + many
}

// moneyTick writes an amount (micro-units) on a money axis with as many
// decimals as the step needs, two at least, the same on every tick: 0.00001,
// 0.00002, not 0.00 and 0.00002.
func moneyTick(v, step int64) string {
	decimals := 6
	for d := step; decimals > 2 && d%10 == 0; d /= 10 {
		decimals--
	}
	whole := units.Thousands(v / 1_000_000)
	return whole + "." + fmt.Sprintf("%06d", v%1_000_000)[:decimals]
}

// shortCount writes an axis value compactly: 950, 1.5k, 12k, 3.2M.
func shortCount(v int64) string {
	switch {
	case v >= 1_000_000:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(v)/1e6), ".0") + "M"
	case v >= 1_000:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(v)/1e3), ".0") + "k"
	}
	return fmt.Sprint(v)
}

// niceStep is a round step (1, 2, 2.5 or 5 × 10ⁿ) that divides [0, max]
// into at most four intervals.
func niceStep(max int64) int64 {
	if max <= 0 {
		return 1
	}
	raw := float64(max) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step := m * mag; step >= raw {
			return int64(math.Max(1, math.Ceil(step)))
		}
	}
	return int64(math.Ceil(10 * mag))
}

// fillDays gives every day of [from, to) its point, zero when nothing was
// used, so that the day axis is a calendar. A period longer than a year is
// left as it is (only the days with usage).
func fillDays(points []store.UsagePoint, from, to time.Time) []store.UsagePoint {
	first := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	if to.Sub(first) > 366*24*time.Hour {
		return points
	}
	byDay := make(map[string]store.UsagePoint, len(points))
	for _, p := range points {
		byDay[p.Key] = p
	}
	var out []store.UsagePoint
	for d := first; d.Before(to); d = d.AddDate(0, 0, 1) {
		key := d.Format("2006-01-02")
		p, ok := byDay[key]
		if !ok {
			p = store.UsagePoint{Key: key, Label: key}
		}
		out = append(out, p)
	}
	return out
}

// dayChart draws a measure per day as vertical bars over a value axis with
// round ticks and grid lines, twice: wide, and narrow for a phone (CSS shows
// one), so that the labels keep a readable size without the chart scrolling.
func dayChart(title string, points []store.UsagePoint, m measure, empty string) template.HTML {
	maxV := int64(0)
	for _, p := range points {
		maxV = max(maxV, m.value(p))
	}
	if maxV == 0 {
		return template.HTML(`<p class="empty">` + template.HTMLEscapeString(empty) + `</p>`)
	}
	return template.HTML(drawDays("wide", 720, 8, title, points, m, maxV) + drawDays("narrow", 360, 4, title, points, m, maxV))
}

// drawDays is one day chart w units wide with at most labels day labels.
func drawDays(class string, w, labels int, title string, points []store.UsagePoint, m measure, maxV int64) string {
	const h, left, right, top, bottom = 260, 64, 12, 30, 30
	step := niceStep(maxV)
	top4 := step * ((maxV + step - 1) / step)
	plotH := float64(h - top - bottom)
	y := func(v int64) float64 { return float64(top) + plotH - float64(v)/float64(top4)*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart %s" viewBox="0 0 %d %d" role="img" aria-label="%s">`, class, w, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text class="axis-title" x="%d" y="16">%s</text>`, 4, template.HTMLEscapeString(m.axis))
	for v := int64(0); v <= top4; v += step {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, left, y(v), w-right, y(v))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, left-8, y(v), template.HTMLEscapeString(m.tick(v, step)))
	}
	slot := float64(w-left-right) / float64(len(points))
	bw := math.Min(40, math.Max(2, slot*0.7)) // a lone bar should not fill the chart
	every := int(math.Ceil(float64(len(points)) / float64(labels)))
	for i, p := range points {
		v := m.value(p)
		x := float64(left) + float64(i)*slot + (slot-bw)/2
		when := dayLabel(p.Key, "Mon 2 Jan 2006")
		fmt.Fprintf(&b, `<g class="point"><title>%s: %s</title><rect class="hit" x="%.1f" y="%d" width="%.1f" height="%.0f"/>`,
			template.HTMLEscapeString(when), template.HTMLEscapeString(m.exact(p)), float64(left)+float64(i)*slot, top, slot, plotH)
		if v > 0 {
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x, y(v), bw, float64(top)+plotH-y(v))
		}
		b.WriteString(`</g>`)
		if i%every == 0 {
			fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+bw/2, h-8, template.HTMLEscapeString(dayLabel(p.Key, "2 Jan")))
		}
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, left, y(0), w-right, y(0))
	b.WriteString(`</svg>`)
	return b.String()
}

func dayLabel(key, layout string) string {
	t, err := time.Parse("2006-01-02", key)
	if err != nil {
		return key
	}
	return t.Format(layout)
}

// rankChart lists points (models, people) with a bar each, largest first as
// the store orders them: full names that wrap, exact values beside the bar.
func rankChart(title string, points []store.UsagePoint, m measure, empty string) template.HTML {
	const shown = 10
	maxV := int64(0)
	for _, p := range points {
		maxV = max(maxV, m.value(p))
	}
	if maxV == 0 {
		return template.HTML(`<p class="empty">` + template.HTMLEscapeString(empty) + `</p>`)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<ul class="rank-chart" aria-label="%s">`, template.HTMLEscapeString(title))
	for i, p := range points {
		if i == shown {
			fmt.Fprintf(&b, `<li class="muted small">and %d more in the table below</li>`, len(points)-shown)
			break
		}
		v := m.value(p)
		exact := template.HTMLEscapeString(m.exact(p))
		fmt.Fprintf(&b, `<li title="%s"><span class="rank-label">%s</span>`, exact, template.HTMLEscapeString(cmp.Or(p.Label, p.Key)))
		fmt.Fprintf(&b, `<svg class="rank-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true"><rect class="track" width="100" height="10"/><rect class="bar" width="%.2f" height="10"/></svg>`,
			math.Max(0.5, float64(v)/float64(maxV)*100))
		fmt.Fprintf(&b, `<span class="rank-value">%s</span></li>`, exact)
	}
	b.WriteString(`</ul>`)
	return template.HTML(b.String())
}

// usageRow is a line of the usage tables, formatted for reading.
type usageRow struct {
	Label, Calls, Input, Output, Cost, CostExact string
}

func usageRows(points []store.UsagePoint, currency string) []usageRow {
	out := make([]usageRow, len(points))
	for i, p := range points {
		out[i] = usageRow{Label: cmp.Or(p.Label, p.Key), Calls: units.Thousands(p.Calls), Input: units.Thousands(p.InputTokens),
			Output: units.Thousands(p.OutputTokens), Cost: units.Money(p.CostMicros, currency), CostExact: api.ExactMoney(p.CostMicros, currency)}
	}
	return out
}

func (s *Pages) PageUsage(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	from, to, err := api.UsageRange(c)
	if err != nil {
		return err
	}
	currency := s.Config.Currency()
	tokens, cost := tokenMeasure(), costMeasure(currency)
	free := "Nothing to show: every call in this period was free."
	if currency == "" {
		free = "Nothing to show: no prices are set, so every model is free."
	}
	data := fiber.Map{"From": from, "To": to, "Currency": currency}
	var total store.UsagePoint
	for _, g := range []string{"day", "model", "user"} {
		series, err := s.Store.UsageSeries(c.UserContext(), ws.ID, from, to, g)
		if err != nil {
			return err
		}
		switch g {
		case "day":
			for _, p := range series {
				total.Calls += p.Calls
				total.InputTokens += p.InputTokens
				total.OutputTokens += p.OutputTokens
				total.CostMicros += p.CostMicros
			}
			days := fillDays(series, from, to)
			data["Tokens_day"] = dayChart("Tokens by day", days, tokens, "No usage in this period.")
			data["Cost_day"] = dayChart("Cost by day", days, cost, free)
		default:
			data["Tokens_"+g] = rankChart("Tokens by "+g, series, tokens, "No usage in this period.")
			data["Rows_"+g] = usageRows(series, currency)
		}
	}
	data["Total"] = usageRows([]store.UsagePoint{total}, currency)[0]
	lim := s.Plan.LimitsOf(c.UserContext(), ws.ID)
	data["Limits"] = lim
	data["LimitCost"] = units.Money(lim.CreditLimit, currency)
	return s.render(c, "usage", "Usage · "+ws.Name, data)
}

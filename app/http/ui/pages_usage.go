package ui

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/gofiber/fiber/v2"

	"quire/app/config"
	"quire/app/http/api"
	"quire/app/http/request"
	"quire/store"
)

// barChart draws a horizontal-axis bar chart as inline SVG (no JavaScript, no
// styles: the CSP allows neither inline; colours come from CSS classes).
func barChart(title string, points []store.UsagePoint, value func(store.UsagePoint) float64, format func(float64) string) template.HTML {
	const w, h, pad, labelH = 640, 220, 40, 40
	if len(points) == 0 {
		return template.HTML(`<p class="empty">No usage in this period.</p>`)
	}
	maxV := 0.0
	for _, p := range points {
		maxV = math.Max(maxV, value(p))
	}
	if maxV == 0 {
		return template.HTML(`<p class="empty">Nothing to show: every call in this period was free.</p>`)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h+labelH, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, pad, h, w, h)
	slot := float64(w-pad) / float64(len(points))
	bw := math.Min(48, math.Max(2, slot*0.7)) // a lone bar should not fill the chart
	for i, p := range points {
		v := value(p)
		bh := v / maxV * float64(h-20)
		x := float64(pad) + float64(i)*slot + (slot-bw)/2
		label := template.HTMLEscapeString(p.Label)
		fmt.Fprintf(&b, `<g><title>%s: %s</title><rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></g>`, label, format(v), x, float64(h)-bh, bw, bh)
		if len(points) <= 16 || i%int(math.Ceil(float64(len(points))/16)) == 0 {
			short := []rune(p.Label)
			if len(short) > 12 {
				short = append(short[:11], '…')
			}
			fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+bw/2, h+16, template.HTMLEscapeString(string(short)))
		}
	}
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="12" text-anchor="end">%s</text>`, pad-4, format(maxV))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (s *Pages) PageUsage(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	from, to, err := api.UsageRange(c)
	if err != nil {
		return err
	}
	tokens := func(p store.UsagePoint) float64 { return float64(p.InputTokens + p.OutputTokens) }
	cost := func(p store.UsagePoint) float64 { return float64(p.CostMicros) }
	fmtTokens := func(v float64) string { return fmt.Sprintf("%.0f tokens", v) }
	fmtCost := func(v float64) string { return config.FormatMicros(int64(v)) }
	data := fiber.Map{"From": from, "To": to}
	var total store.UsagePoint
	for _, g := range []string{"day", "model", "user"} {
		series, err := s.Store.UsageSeries(c.UserContext(), ws.ID, from, to, g)
		if err != nil {
			return err
		}
		data["Tokens_"+g] = barChart("Tokens by "+g, series, tokens, fmtTokens)
		data["Cost_"+g] = barChart("Cost by "+g, series, cost, fmtCost)
		data["Rows_"+g] = series
		if g == "day" {
			for _, p := range series {
				total.Calls += p.Calls
				total.InputTokens += p.InputTokens
				total.OutputTokens += p.OutputTokens
				total.CostMicros += p.CostMicros
			}
		}
	}
	data["Total"] = total
	data["TotalCost"] = config.FormatMicros(total.CostMicros)
	lim := s.Plan.LimitsOf(c.UserContext(), ws.ID)
	data["Limits"] = lim
	data["LimitCost"] = config.FormatMicros(lim.CreditLimit)
	return s.render(c, "usage", "Usage · "+ws.Name, data)
}

package ui

import (
	"strings"
	"testing"
	"time"

	"quire/store"
)

func TestChartAxesAreRound(t *testing.T) {
	for max, want := range map[int64]int64{1: 1, 7: 2, 54: 20, 100: 25, 999: 250, 1_234_567: 500_000} {
		if got := niceStep(max); got != want {
			t.Errorf("niceStep(%d) = %d, want %d", max, got, want)
		}
	}
	for _, c := range []struct {
		v, step int64
		want    string
	}{{0, 10, "0.00000"}, {20, 10, "0.00002"}, {0, 250_000, "0.00"}, {1_500_000, 250_000, "1.50"}, {2_500_000_000, 500_000_000, "2,500.00"}} {
		if got := moneyTick(c.v, c.step); got != c.want {
			t.Errorf("moneyTick(%d, %d) = %q, want %q", c.v, c.step, got, c.want)
		}
	}
	for v, want := range map[int64]string{950: "950", 1500: "1.5k", 12_000: "12k", 3_200_000: "3.2M"} {
		if got := shortCount(v); got != want {
			t.Errorf("shortCount(%d) = %q, want %q", v, got, want)
		}
	}
}

// The day chart is a calendar: days without usage are there with no bar,
// and the axis shows round values with every bar's exact numbers on hover.
func TestDayChartFillsTheCalendar(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	days := fillDays([]store.UsagePoint{{Key: "2026-11-03", InputTokens: 1200, OutputTokens: 34, Calls: 2}}, from, from.AddDate(0, 0, 7))
	if len(days) != 7 || days[2].InputTokens != 1200 || days[0].Key != "2026-11-01" {
		t.Fatalf("filled days %+v", days)
	}
	svg := string(dayChart("Tokens by day", days, tokenMeasure(), "none"))
	for _, want := range []string{"Tue 3 Nov 2026: 1,234 tokens (1,200 in, 34 out) in 2 calls", ">1.5k<", ">0<", ">1 Nov<", `class="axis-title"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("the day chart lacks %q", want)
		}
	}
	if strings.Count(svg, `<svg`) != 2 || strings.Count(svg, `class="bar"`) != 2 {
		t.Errorf("want a wide and a narrow chart with one bar each (days without usage have none): %d bars", strings.Count(svg, `class="bar"`))
	}
	if long := fillDays(nil, from.AddDate(-3, 0, 0), from); len(long) != 0 {
		t.Errorf("a three-year period was filled with %d days", len(long))
	}
}

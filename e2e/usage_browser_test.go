package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"quire/app/llm/ollamatest"
)

// The usage page reads like a report: a value axis with round ticks, labels
// a person can read at 1280 and 390 px, every model's full name, exact
// values on hover, money in the price table's currency, and a CSV download.
func TestBrowserUsageIsReadable(t *testing.T) {
	ctx := browser(t)
	o := ollamatest.StartShared(t)
	conf := filepath.Join(t.TempDir(), "quire.toml")
	os.WriteFile(conf, []byte(`[prices."`+o.ChatModel+`"]
input_per_million = "0.40"
output_per_million = "1.20"
currency = "EUR"
`), 0o600)
	in := start(t, "", "QUIRE_OLLAMA_URL="+o.URL, "QUIRE_CONFIG="+conf)
	var su struct{ Token string }
	su.Token = in.setupAdmin("ada@example.com", "analytical-engine", "Ada")
	in.api("PATCH", "/api/admin/settings", su.Token, map[string]string{"ollama_url": o.URL, "default_chat_model": o.ChatModel, "default_embedding_model": o.EmbedModel}, nil)
	var ws, chat struct{ ID string }
	in.api("POST", "/api/workspaces", su.Token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats", su.Token, map[string]string{"name": "Costs"}, &chat)
	if code := in.api("POST", "/api/workspaces/"+ws.ID+"/chats/"+chat.ID+"/messages", su.Token, map[string]string{"content": "How much does this cost?"}, nil); code != 201 {
		t.Fatalf("ask: %d", code)
	}
	doc := filepath.Join(t.TempDir(), "prices.md")
	os.WriteFile(doc, []byte("# Prices\n\nEvery answer costs a little; embeddings are free here."), 0o644)

	consoleErrors := watchConsole(ctx, t)
	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	run(t, ctx, "an embedded document gives the second model",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/documents"),
		chromedp.SetUploadFiles(`#file-input`, []string{doc}),
		chromedp.WaitVisible(`#uploads li.ready`),
	)
	var models []string
	var yTicks int
	var cost, tooltip, csvHead string
	var tickHeight float64
	run(t, ctx, "read the usage page",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/usage"),
		chromedp.WaitVisible(`.chart.wide`),
		chromedp.Evaluate(`[...document.querySelectorAll('.rank-chart')[0].querySelectorAll('.rank-label')].map(e => e.textContent)`, &models),
		chromedp.Evaluate(`document.querySelectorAll('.chart')[0].querySelectorAll('text.tick[text-anchor="end"]').length`, &yTicks),
		chromedp.Text(`#usage-cost strong`, &cost),
		chromedp.Evaluate(`[...document.querySelectorAll('.chart g.point title')].map(e => e.textContent).find(s => !s.includes(': 0 tokens')) || ''`, &tooltip),
		chromedp.Evaluate(`Math.min(...[...document.querySelectorAll('.chart text.tick')].filter(e => e.getClientRects().length).map(e => e.getBoundingClientRect().height))`, &tickHeight),
		chromedp.Evaluate(`fetch(document.getElementById('csv-model').href).then(r => r.headers.get('Content-Disposition') + '\n' + r.status)`, &csvHead,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	if strings.Join(models, "|") != o.ChatModel+"|"+o.EmbedModel && strings.Join(models, "|") != o.EmbedModel+"|"+o.ChatModel {
		t.Errorf("the model chart names %q, want the full names %s and %s", models, o.ChatModel, o.EmbedModel)
	}
	if yTicks < 3 {
		t.Errorf("the day chart has %d values on its axis", yTicks)
	}
	if !strings.HasPrefix(cost, "EUR ") || strings.Contains(cost, "0.000000") {
		t.Errorf("the cost reads %q", cost)
	}
	if !strings.Contains(tooltip, " in, ") || !strings.Contains(tooltip, "call") {
		t.Errorf("a bar's tooltip reads %q, want exact tokens in and out and calls", tooltip)
	}
	if tickHeight < 11 {
		t.Errorf("axis labels are %.1f px high at 1280 px", tickHeight)
	}
	if !strings.Contains(csvHead, "attachment;") || !strings.HasSuffix(csvHead, "200") {
		t.Errorf("the CSV download answers %q", csvHead)
	}
	run(t, ctx, "at 390 px", emulation.SetDeviceMetricsOverride(390, 844, 1, true),
		chromedp.Evaluate(`Math.min(...[...document.querySelectorAll('.chart text.tick')].filter(e => e.getClientRects().length).map(e => e.getBoundingClientRect().height))`, &tickHeight))
	if tickHeight < 10 {
		t.Errorf("axis labels are %.1f px high at 390 px", tickHeight)
	}
	run(t, ctx, "back", desktop())
	themedShots(ctx, t, "usage")
	if errs := consoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors: %v", errs)
	}
}

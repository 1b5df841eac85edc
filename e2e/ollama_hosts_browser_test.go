package e2e

import (
	"net"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"quire/app/llm/ollamatest"
)

// Administration → Models lists the pool's hosts: the admin adds a second
// real Ollama and an unreachable one from the keyboard, sees each host's
// status and models, changes a weight and removes a host; the page fits a
// phone and the console stays clean.
func TestBrowserAdminOllamaHosts(t *testing.T) {
	ctx := browser(t)
	errs := watchConsole(ctx, t)
	in, o, token := startWithOllama(t)
	if code := in.api("POST", "/api/workspaces", token, map[string]string{"name": "Ops"}, nil); code != 201 {
		t.Fatalf("workspace: %d", code)
	}
	second := ollamatest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")

	add := func(url, label string) {
		run(t, ctx, "add host "+url,
			chromedp.Navigate(in.URL+"/admin/models"),
			chromedp.Focus(`#add-host input[name=url]`),
			chromedp.SendKeys(`#add-host input[name=url]`, url),
			chromedp.SendKeys(`#add-host input[name=label]`, label),
			afterReload(chromedp.KeyEvent("\r")),
		)
	}
	add(second.URL, "GPU box")
	add(dead, "")
	var rows []string
	run(t, ctx, "hosts table", chromedp.Evaluate(`[...document.querySelectorAll('#ollama-hosts tbody tr')].map(r => r.dataset.host + ' ' + r.dataset.status + ' ' + r.textContent.replace(/\s+/g, ' '))`, &rows))
	if len(rows) != 3 || !strings.Contains(rows[0], "primary") || !strings.HasPrefix(rows[1], second.URL+" up") || !strings.Contains(rows[1], "GPU box") ||
		!strings.Contains(rows[1], "quire-tiny-chat") || !strings.HasPrefix(rows[2], dead+" down") || !strings.Contains(rows[2], "connection refused") {
		t.Fatalf("hosts rows:\n%s", strings.Join(rows, "\n"))
	}
	var options []string
	run(t, ctx, "pull targets", chromedp.Evaluate(`[...document.querySelectorAll('#pull select[name=host] option')].map(o => o.textContent)`, &options))
	if len(options) != 4 || options[0] != "every host" || options[2] != "GPU box" {
		t.Errorf("pull targets %v", options)
	}
	themedShots(ctx, t, "admin-models-hosts")
	for _, w := range []int64{390, 1280} {
		run(t, ctx, "viewport", viewport(w, 900))
		checkWidth(t, ctx, layoutPage{"admin-models-hosts", "/admin/models"})
	}

	sel := `tr[data-host="` + second.URL + `"] form.host-edit`
	var weight string
	run(t, ctx, "edit weight",
		chromedp.SetValue(sel+` input[name=weight]`, "7"),
		afterReload(chromedp.Click(sel+` button[type=submit]`)),
		chromedp.Value(sel+` input[name=weight]`, &weight),
	)
	if weight != "7" {
		t.Errorf("weight after saving: %q", weight)
	}
	run(t, ctx, "remove the dead host",
		afterReload(chromedp.Click(`tr[data-host="`+dead+`"] form[data-method=DELETE] button`)),
		chromedp.Evaluate(`[...document.querySelectorAll('#ollama-hosts tbody tr')].map(r => r.dataset.host)`, &rows),
	)
	if len(rows) != 2 || strings.Join(rows, " ") != o.URL+" "+second.URL {
		t.Errorf("hosts after removing %s: %v", dead, rows)
	}
	if e := errs(); len(e) > 0 {
		t.Fatalf("console errors: %v", e)
	}
}

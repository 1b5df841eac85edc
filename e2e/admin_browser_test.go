package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitJS polls a JavaScript condition.
func waitJS(expr string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var ok bool
			if err := chromedp.Evaluate(expr, &ok).Do(ctx); err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w", expr, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

type adminSettings struct {
	OllamaURL             string            `json:"ollama_url"`
	DefaultChatModel      string            `json:"default_chat_model"`
	DefaultEmbeddingModel string            `json:"default_embedding_model"`
	Locked                map[string]string `json:"locked"`
}

// With Ollama down, Administration → Models says so in a sentence, keeps both
// default models (saving cannot wipe them), and a failed pull shows a
// sentence with a bar that shows the failure. The sidebar keeps the workspace.
func TestBrowserAdminModelsWithOllamaDown(t *testing.T) {
	ctx := browser(t)
	errs := watchConsole(ctx, t)
	in := start(t, "")
	token, wsID := owner(t, in)
	if code := in.api("PATCH", "/api/admin/settings", token, map[string]string{"default_chat_model": "llama3.2", "default_embedding_model": "nomic-embed-text"}, nil); code != 200 {
		t.Fatalf("settings %d", code)
	}
	loginAs(t, ctx, in, "ops@example.com", "password-1")

	var notice, body, selected string
	run(t, ctx, "models page",
		chromedp.Navigate(in.URL+"/w/"+wsID),
		chromedp.Click(`a[href="/admin"]`),
		waitPath(ctx, func(p string) bool { return p == "/admin" }),
		chromedp.Click(`nav.tabs a[href="/admin/models"]`),
		chromedp.WaitVisible(`#models-unreachable`),
		chromedp.Text(`#models-unreachable`, &notice),
		chromedp.Text(`main`, &body),
		chromedp.Evaluate(`document.querySelector('#ws-menu a[aria-current="page"]')?.getAttribute('href') ?? ''`, &selected),
	)
	if !strings.Contains(notice, "cannot be reached") || strings.Contains(body, "dial tcp") || !strings.Contains(body, "llama3.2") || !strings.Contains(body, "nomic-embed-text") {
		t.Fatalf("models page with Ollama down:\n%s", body)
	}
	if selected != "/w/"+wsID {
		t.Errorf("the workspace switcher shows %q in the admin area, want the workspace just visited", selected)
	}
	// Whatever form the page offers, saving it keeps the defaults.
	run(t, ctx, "save defaults", chromedp.Evaluate(`document.getElementById('model-defaults')?.requestSubmit(); true`, nil), chromedp.Sleep(700*time.Millisecond))
	var st adminSettings
	in.api("GET", "/api/admin/settings", token, nil, &st)
	if st.DefaultChatModel != "llama3.2" || st.DefaultEmbeddingModel != "nomic-embed-text" {
		t.Fatalf("the defaults were changed with Ollama down: %+v", st)
	}
	themedShots(ctx, t, "admin-models-ollama-down")

	var status, statusClass string
	var value, max float64
	run(t, ctx, "failed pull",
		chromedp.SendKeys(`#pull input[name=name]`, "llama3.2"),
		chromedp.Click(`#pull button[type=submit]`),
		waitJS(`document.getElementById('pull-progress').classList.contains('failed')`),
		chromedp.Text(`#pull-status`, &status),
		chromedp.Evaluate(`document.getElementById('pull-status').className`, &statusClass),
		chromedp.Evaluate(`document.getElementById('pull-progress').value`, &value),
		chromedp.Evaluate(`document.getElementById('pull-progress').max`, &max),
	)
	if !strings.Contains(status, "Ollama cannot be reached") || strings.Contains(status, "dial tcp") || strings.Contains(status, "http://") || !strings.Contains(statusClass, "error") || value != max {
		t.Fatalf("failed pull: status %q (class %q), bar %v/%v", status, statusClass, value, max)
	}
	themedShots(ctx, t, "admin-models-pull-failed")
	if e := errs(); len(e) > 0 {
		t.Fatalf("console errors: %v", e)
	}
}

// The settings page shows a configured Ollama URL read-only with where it is
// set; after a restart with another URL, that URL is the one in use, although
// the admin saved the form before.
func TestBrowserAdminSettingsConfiguredURL(t *testing.T) {
	ctx := browser(t)
	errs := watchConsole(ctx, t)
	dir := t.TempDir()
	in := start(t, dir)
	_, wsID := owner(t, in)
	loginAs(t, ctx, in, "ops@example.com", "password-1")

	var source string
	var readonly bool
	run(t, ctx, "save settings",
		chromedp.Navigate(in.URL+"/w/"+wsID),
		chromedp.Navigate(in.URL+"/admin/settings"),
		chromedp.Text(`#ollama-url-source`, &source),
		chromedp.Evaluate(`document.querySelector('input[name=ollama_url]').readOnly`, &readonly),
		chromedp.SetValue(`select[name=signup_policy]`, "invite_only"),
		chromedp.Click(`main button[type=submit]`),
		chromedp.WaitVisible(`#settings-saved`),
	)
	if !readonly || !strings.Contains(source, "set by --ollama-url") {
		t.Fatalf("configured URL: readonly %v, source %q", readonly, source)
	}
	themedShots(ctx, t, "admin-settings")

	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	again := start(t, dir, "QUIRE_OLLAMA_URL=http://127.0.0.1:2")
	var url, policy string
	run(t, ctx, "settings after restart",
		// Cookies are not bound to a port: the session from before the restart still holds.
		chromedp.Navigate(again.URL+"/admin/settings"),
		chromedp.Value(`input[name=ollama_url]`, &url),
		chromedp.Text(`#ollama-url-source`, &source),
		chromedp.Value(`select[name=signup_policy]`, &policy),
	)
	if url != "http://127.0.0.1:2" || !strings.Contains(source, "set by QUIRE_OLLAMA_URL") || policy != "invite_only" {
		t.Fatalf("after restarting with QUIRE_OLLAMA_URL: url %q, source %q, policy %q", url, source, policy)
	}
	if e := errs(); len(e) > 0 {
		t.Fatalf("console errors: %v", e)
	}
}

// Without a mail server, inviting says the mail only reached the outbox and
// offers the link to copy; the outbox link opens the invitation; the jobs page
// names documents; billing says it is off; the overview names the plan.
func TestBrowserInviteOutboxJobsBilling(t *testing.T) {
	ctx := browser(t)
	errs := watchConsole(ctx, t)
	in := start(t, "")
	token, wsID := owner(t, in)
	if code, body := in.uploadFile(token, wsID, "Quarterly report.txt", []byte("Revenue grew in the third quarter.")); code != 202 {
		t.Fatalf("upload %d %s", code, body)
	}
	loginAs(t, ctx, in, "ops@example.com", "password-1")

	var plan string
	run(t, ctx, "overview", chromedp.Navigate(in.URL+"/w/"+wsID), chromedp.Text(`#plan-name`, &plan))
	if plan != "Self-hosted" {
		t.Errorf("overview plan %q", plan)
	}
	themedShots(ctx, t, "workspace-overview")

	var notice string
	run(t, ctx, "invite",
		chromedp.Navigate(in.URL+"/w/"+wsID+"/members"),
		chromedp.SendKeys(`#invite input[name=email]`, "newcomer@example.com"),
		chromedp.Click(`#invite button[type=submit]`),
		chromedp.WaitVisible(`#invite-link`),
		chromedp.Text(`#invite-link`, &notice),
		chromedp.Click(`#invite-link button[data-copy]`),
		waitJS(`/Copied|Selected/.test(document.querySelector('#invite-link button[data-copy]').textContent)`),
	)
	if !strings.Contains(notice, "not mailed") || strings.Contains(notice, "Invitation sent") || !strings.Contains(notice, in.URL+"/invite/") {
		t.Fatalf("invite notice %q", notice)
	}
	themedShots(ctx, t, "members-invited")

	run(t, ctx, "outbox link",
		chromedp.Navigate(in.URL+"/admin/outbox"),
		chromedp.WaitVisible(`article.mail pre a[href^="`+in.URL+`/invite/"]`),
	)
	themedShots(ctx, t, "admin-outbox")
	run(t, ctx, "open the link",
		chromedp.Click(`article.mail pre a[href^="`+in.URL+`/invite/"]`),
		waitPath(ctx, func(p string) bool { return strings.HasPrefix(p, "/invite/") }),
	)
	themedShots(ctx, t, "invite")

	var jobs string
	run(t, ctx, "jobs", chromedp.Navigate(in.URL+"/admin/jobs"), chromedp.Text(`#jobs`, &jobs))
	if !strings.Contains(jobs, "Quarterly report") || !strings.Contains(jobs, "Ops") {
		t.Fatalf("jobs page:\n%s", jobs)
	}
	themedShots(ctx, t, "admin-jobs")

	var billing string
	run(t, ctx, "billing", chromedp.Navigate(in.URL+"/w/"+wsID+"/billing"), chromedp.Text(`main`, &billing))
	var path string
	run(t, ctx, "where", chromedp.Evaluate(`location.pathname`, &path))
	if path != "/w/"+wsID+"/billing" || !strings.Contains(billing, "Billing is not enabled") {
		t.Fatalf("billing off: at %s:\n%s", path, billing)
	}
	themedShots(ctx, t, "billing-off")
	if e := errs(); len(e) > 0 {
		t.Fatalf("console errors: %v", e)
	}
}

// One's own admin box is not offered (the refusal could only confuse): the
// own row says "administrator", every other row has its box.
func TestBrowserAdminOwnAdminBox(t *testing.T) {
	ctx := browser(t)
	errs := watchConsole(ctx, t)
	in := start(t, "")
	token, _ := owner(t, in)
	if code := in.api("POST", "/api/admin/users", token, map[string]any{"email": "grace@example.com", "name": "Grace"}, nil); code != 201 {
		t.Fatalf("create user: %d", code)
	}
	loginAs(t, ctx, in, "ops@example.com", "password-1")
	var ownBoxes, otherBoxes int
	var ownRow string
	run(t, ctx, "the users page",
		chromedp.Navigate(in.URL+"/admin"),
		chromedp.WaitVisible(`#users`),
		chromedp.Evaluate(`[...document.querySelectorAll('#users tr')].filter(tr => tr.textContent.includes('ops@example.com') && tr.querySelector('input[name=is_admin]')).length`, &ownBoxes),
		chromedp.Evaluate(`[...document.querySelectorAll('#users tr')].filter(tr => tr.textContent.includes('grace@example.com') && tr.querySelector('input[name=is_admin]')).length`, &otherBoxes),
		chromedp.Evaluate(`[...document.querySelectorAll('#users tr')].find(tr => tr.textContent.includes('ops@example.com'))?.textContent ?? ''`, &ownRow),
	)
	if ownBoxes != 0 || otherBoxes != 1 || !strings.Contains(ownRow, "administrator") {
		t.Fatalf("own row has %d admin boxes (%q), another row %d", ownBoxes, ownRow, otherBoxes)
	}
	themedShots(ctx, t, "admin-users")
	if e := errs(); len(e) > 0 {
		t.Fatalf("console errors: %v", e)
	}
}

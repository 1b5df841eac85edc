package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The audit log pages in the real binary and browser: a workspace admin's
// page and Administration → Audit log list what happened, filter from the
// keyboard, fit 390 px, keep the console clean, and `quire audit verify`
// passes on the live data dir.
func TestBrowserAuditPages(t *testing.T) {
	chromiumPath(t)
	in := start(t, "")
	token := in.setupAdmin("ada@example.com", "analytical-engine", "Ada")
	var ws struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme"}, &ws)
	if code, _ := in.uploadFile(token, ws.ID, "quarterly-plan-with-a-rather-long-name-for-the-narrow-screen.md", []byte("# Plan\n\nNumbers.")); code != 202 {
		t.Fatalf("upload: %d", code)
	}
	in.api("POST", "/api/workspaces/"+ws.ID+"/invitations", token, map[string]string{"email": "grace@example.com", "role": "admin"}, nil)
	in.api("POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "wrong"}, nil)

	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := browser(t)
			errs := watchConsole(ctx, t)
			run(t, ctx, "viewport", viewport(width, 844))
			loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
			wsPage := layoutPage{"audit-workspace", "/w/" + ws.ID + "/audit"}
			var rows string
			run(t, ctx, "workspace audit", chromedp.Navigate(in.URL+wsPage.path), chromedp.WaitReady(`#audit-rows`),
				chromedp.Text(`#audit-rows tbody`, &rows))
			for _, want := range []string{"document.uploaded", "invitation.created", "workspace.created"} {
				if !strings.Contains(rows, want) {
					t.Fatalf("workspace audit lacks %s: %s", want, rows)
				}
			}
			if strings.Contains(rows, "auth.login") {
				t.Fatal("the workspace page shows instance sign-ins")
			}
			checkWidth(t, ctx, wsPage)
			shots(t, ctx, wsPage, int(width))

			// Keyboard: the person field, then the action, filtered with Enter.
			run(t, ctx, "filter from the keyboard", chromedp.Focus(`input[name=actor]`, chromedp.ByQuery), press(kb.Tab),
				chromedp.KeyEvent("document."), press(kb.Enter), chromedp.WaitReady(`#audit-rows`), chromedp.Text(`#audit-rows tbody`, &rows))
			if !strings.Contains(rows, "document.uploaded") || strings.Contains(rows, "invitation.created") {
				t.Fatalf("filtered by document.: %s", rows)
			}

			adminPage := layoutPage{"audit-admin", "/admin/audit"}
			run(t, ctx, "admin audit", chromedp.Navigate(in.URL+adminPage.path), chromedp.WaitReady(`#audit-rows`), chromedp.Text(`#audit-rows tbody`, &rows))
			if !strings.Contains(rows, "auth.login_failed") || !strings.Contains(rows, "auth.login") {
				t.Fatalf("admin audit lacks sign-ins: %s", rows)
			}
			checkWidth(t, ctx, adminPage)
			shots(t, ctx, adminPage, int(width))

			bad := layoutPage{"audit-bad-filter", "/w/" + ws.ID + "/audit?from=yesterday"}
			var msg string
			run(t, ctx, "a bad filter", chromedp.Navigate(in.URL+bad.path), chromedp.WaitReady(`#audit-error`), chromedp.Text(`#audit-error`, &msg))
			if !strings.Contains(msg, "from is a date") {
				t.Fatalf("bad filter message %q", msg)
			}
			if width == 390 {
				shots(t, ctx, bad, int(width))
			}
			if e := errs(); len(e) > 0 {
				t.Fatalf("console errors: %v", e)
			}
		})
	}
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium; tests skip without it locally, never in CI.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("QUIRE_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required in CI (apt-get install chromium)")
	}
	t.Skip("chromium not installed: apt-get install chromium")
	return ""
}

// browser starts a headless Chromium with the flags this offline machine needs.
func browser(t *testing.T) context.Context {
	// Not t.TempDir: Chromium's helpers may still write to the profile as the test ends.
	profile, err := os.MkdirTemp("", "quire-chromium")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc(); os.RemoveAll(profile) })
	// Accept confirm() dialogs (remove member, delete…) as a person clicking OK.
	chromedp.ListenTarget(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(true))
		}
	})
	return ctx
}

// shot saves a screenshot when QUIRE_SCREENSHOTS names a folder (for looking at the UI).
func shot(ctx context.Context, t *testing.T, name string) {
	dir := os.Getenv("QUIRE_SCREENSHOTS")
	if dir == "" {
		return
	}
	var buf []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)); err == nil {
		os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	}
}

func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// waitPath waits until the browser's location path satisfies ok. Asking
// for the location while the page navigates (a form's redirect) can fail
// with "Inspected target navigated or closed": that is asked again.
func waitPath(ctx context.Context, ok func(string) bool) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var p string
		var err error
		for {
			if err = chromedp.Evaluate(`location.pathname`, &p).Do(ctx); err == nil && ok(p) {
				return nil
			}
			select {
			case <-ctx.Done():
				if err != nil {
					return fmt.Errorf("location unreadable: %w", err)
				}
				return fmt.Errorf("location stayed at %s", p)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

func TestBrowserSignupWorkspaceMembersLogout(t *testing.T) {
	ctx := browser(t)
	in := start(t, "")

	// Set up: the first account, made through the setup link the server
	// printed, so instance admin, with no workspace yet.
	run(t, ctx, "setup",
		chromedp.Navigate(in.setupURL()),
		chromedp.SendKeys(`input[name=name]`, "Ada Lovelace"),
		chromedp.SendKeys(`input[name=email]`, "ada@example.com"),
		chromedp.SendKeys(`input[name=password]`, "analytical-engine"),
		chromedp.Click(`main button[type=submit]`),
		waitPath(ctx, func(p string) bool { return p == "/workspaces/new" }),
	)
	shot(ctx, t, "1-new-workspace")

	// Create a workspace and land on it.
	var heading string
	run(t, ctx, "create workspace",
		chromedp.SendKeys(`main input[name=name]`, "Acme Research"),
		chromedp.Click(`main button[type=submit]`),
		waitPath(ctx, func(p string) bool { return strings.HasPrefix(p, "/w/") }),
		chromedp.Text(`main h1`, &heading),
	)
	if heading != "Acme Research" {
		t.Fatalf("workspace page heading %q", heading)
	}
	var wsPath string
	run(t, ctx, "location", chromedp.Evaluate(`location.pathname`, &wsPath))

	// A colleague has an account (signed up through the API).
	if code := in.api("POST", "/api/auth/signup", "", map[string]string{"email": "grace@example.com", "password": "compiler-1952", "name": "Grace Hopper"}, nil); code != 201 {
		t.Fatalf("colleague signup: %d", code)
	}

	// Add her on the Members page.
	row := `tr[data-user="grace@example.com"]`
	run(t, ctx, "add member",
		chromedp.Navigate(in.URL+wsPath+"/members"),
		chromedp.SendKeys(`#add-member input[name=email]`, "grace@example.com"),
		chromedp.Click(`#add-member button[type=submit]`),
		chromedp.WaitVisible(row),
	)
	// Errors are shown in the form: adding her twice.
	var errText string
	run(t, ctx, "add twice",
		chromedp.SendKeys(`#add-member input[name=email]`, "grace@example.com"),
		chromedp.Click(`#add-member button[type=submit]`),
		chromedp.WaitVisible(`#add-member .form-error`),
		chromedp.Text(`#add-member .form-error`, &errText),
	)
	if !strings.Contains(errText, "already a member") {
		t.Fatalf("duplicate add shows %q", errText)
	}
	shot(ctx, t, "2-members")

	// Make her an admin; the change survives a reload.
	var role string
	// Choosing a role saves it (the form submits on change, then reloads).
	run(t, ctx, "promote",
		chromedp.WaitVisible(row+` select[name=role]`),
		chromedp.Evaluate(`(() => { const s = document.querySelector('`+row+` select[name=role]');
			s.value = 'admin'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`, nil),
	)
	for deadline := time.Now().Add(10 * time.Second); role != "admin"; {
		if time.Now().After(deadline) {
			t.Fatalf("role after reload %q, want admin", role)
		}
		time.Sleep(200 * time.Millisecond)
		run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(row+` select[name=role]`), chromedp.Value(row+` select[name=role]`, &role))
	}

	// Remove her (confirming the dialog); the row disappears.
	var rows int
	run(t, ctx, "remove",
		chromedp.Click(row+` button.danger`),
		chromedp.WaitNotPresent(row),
		chromedp.Evaluate(`document.querySelectorAll('#members tbody tr').length`, &rows),
	)
	if rows != 1 {
		t.Fatalf("%d member rows after removal, want 1 (the owner)", rows)
	}

	// Sign out: back to the sign-in page, and the workspace needs signing in again.
	run(t, ctx, "logout",
		chromedp.Click(`#logout`),
		waitPath(ctx, func(p string) bool { return p == "/login" }),
		chromedp.Navigate(in.URL+wsPath),
		waitPath(ctx, func(p string) bool { return p == "/login" }),
	)
	shot(ctx, t, "3-logged-out")

	// Signing back in returns to the page asked for.
	run(t, ctx, "login",
		chromedp.SendKeys(`input[name=email]`, "ada@example.com"),
		chromedp.SendKeys(`input[name=password]`, "analytical-engine"),
		chromedp.Click(`main button[type=submit]`),
		waitPath(ctx, func(p string) bool { return p == wsPath }),
	)
}

func TestBrowserInviteSignupJoinTeam(t *testing.T) {
	ctx := browser(t)
	in := start(t, "")
	run(t, ctx, "admin sets up the instance and creates a workspace",
		chromedp.Navigate(in.setupURL()),
		chromedp.SendKeys(`input[name=name]`, "Admin"),
		chromedp.SendKeys(`input[name=email]`, "admin@example.com"),
		chromedp.SendKeys(`input[name=password]`, "admin-password"),
		chromedp.Click(`main button[type=submit]`),
		waitPath(ctx, func(p string) bool { return p == "/workspaces/new" }),
		chromedp.SendKeys(`main input[name=name]`, "Helpdesk"),
		chromedp.Click(`main button[type=submit]`),
		waitPath(ctx, func(p string) bool { return strings.HasPrefix(p, "/w/") }),
	)
	var wsPath string
	run(t, ctx, "location", chromedp.Evaluate(`location.pathname`, &wsPath))

	run(t, ctx, "create a team",
		chromedp.Navigate(in.URL+wsPath+"/teams"),
		chromedp.SendKeys(`#new-team input[name=name]`, "Support"),
		chromedp.Click(`#new-team button[type=submit]`),
		chromedp.WaitVisible(`section[data-team="Support"]`),
	)
	var shown string
	run(t, ctx, "invite into the team",
		chromedp.Navigate(in.URL+wsPath+"/members"),
		chromedp.SendKeys(`#invite input[name=email]`, "newbie@example.com"),
		chromedp.SetValue(`#invite select[name=team_id]`, "1"),
		chromedp.Click(`#invite button[type=submit]`),
		chromedp.WaitVisible(`#invite-link`),
		chromedp.Text(`#invite-link code`, &shown),
		chromedp.Reload(),
		chromedp.WaitVisible(`tr[data-invite="newbie@example.com"]`),
	)
	shot(ctx, t, "4-invitations")

	// Without SMTP the mail is in the admin's outbox; read the link there.
	var body string
	run(t, ctx, "read the outbox",
		chromedp.Navigate(in.URL+"/admin/outbox"),
		chromedp.Text(`article.mail pre`, &body),
	)
	m := regexp.MustCompile(`https?://\S+/invite/\S+`).FindString(body)
	if m == "" || m != shown {
		t.Fatalf("outbox link %q, link shown to the admin %q", m, shown)
	}

	run(t, ctx, "sign out, follow the link, sign up",
		chromedp.Click(`#logout`),
		waitPath(ctx, func(p string) bool { return p == "/login" }),
		chromedp.Navigate(m),
		chromedp.WaitVisible(`#invite-signup`),
	)
	var email string
	run(t, ctx, "prefilled", chromedp.Value(`#invite-signup input[name=email]`, &email))
	if email != "newbie@example.com" {
		t.Fatalf("signup form prefilled with %q", email)
	}
	shot(ctx, t, "5-invite-signup")
	run(t, ctx, "join",
		chromedp.SendKeys(`#invite-signup input[name=name]`, "New Bie"),
		chromedp.SendKeys(`#invite-signup input[name=password]`, "newbie-password"),
		chromedp.Click(`#invite-signup button[type=submit]`),
		waitPath(ctx, func(p string) bool { return p == wsPath }),
		chromedp.Navigate(in.URL+wsPath+"/teams"),
		chromedp.WaitVisible(`section[data-team="Support"] li[data-member="newbie@example.com"]`),
	)
	shot(ctx, t, "6-teams")
	// The used link is now gone.
	var title string
	run(t, ctx, "used link", chromedp.Navigate(m), chromedp.Text(`main h1`, &title))
	if !strings.Contains(title, "410") {
		t.Fatalf("reused invitation link shows %q", title)
	}
}

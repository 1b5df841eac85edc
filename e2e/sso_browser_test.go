package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"quire/app/identity/oidctest"
)

// startWithSSO runs quire with the OIDC provider "corp" served by a real
// OpenID provider on loopback, and its first administrator.
func startWithSSO(t *testing.T) (*instance, *oidctest.Provider, string) {
	t.Helper()
	op := oidctest.Start(t, "quire", "quire-secret")
	cfg := filepath.Join(t.TempDir(), "quire.toml")
	toml := fmt.Sprintf("[[oidc]]\nname = \"corp\"\nlabel = \"Corp\"\nissuer = %q\nclient_id = \"quire\"\nclient_secret = \"quire-secret\"\nallow_signup = true\n", op.URL)
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, "", "QUIRE_CONFIG="+cfg)
	op.Register("quire", "quire-secret", in.URL+"/auth/oidc/corp/callback")
	return in, op, in.setupAdmin("root@example.com", "root-password", "Root")
}

// viewsFit looks at the current page at 1280 and 390 px, light and dark: no
// card may be wider than the screen, and QUIRE_SCREENSHOTS keeps each view.
func viewsFit(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, width := range []int64{1280, 390} {
		for _, scheme := range []string{"light", "dark"} {
			var over bool
			run(t, ctx, fmt.Sprintf("%s at %d %s", name, width, scheme),
				emulation.SetDeviceMetricsOverride(width, 900, 1, false),
				emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
				chromedp.Evaluate(`document.documentElement.scrollWidth > innerWidth + 1 || [...document.querySelectorAll('main .card')].some((c) => c.scrollWidth > c.clientWidth + 1)`, &over),
			)
			if over {
				t.Errorf("%s at %d px (%s): the page scrolls sideways", name, width, scheme)
			}
			shot(ctx, t, name+"-"+strconv.FormatInt(width, 10)+"-"+scheme)
		}
	}
	run(t, ctx, "back to the desktop", desktop())
}

// The whole sign-in in a real browser: an admin maps groups to a role and
// a team on the group-rules page; a person who has no account yet clicks
// "Sign in with Corp", signs in at the provider, lands in the workspace the
// rule gave them and in the team; out of the team's group at the provider,
// the next sign-in takes the team away.
func TestBrowserSingleSignOnWithGroupRules(t *testing.T) {
	in, op, root := startWithSSO(t)
	var ws struct{ ID string }
	if code := in.api("POST", "/api/workspaces", root, map[string]string{"name": "Acme"}, &ws); code != 201 {
		t.Fatalf("workspace: %d", code)
	}
	var team struct{ ID int64 }
	if code := in.api("POST", "/api/workspaces/"+ws.ID+"/teams", root, map[string]string{"name": "Support"}, &team); code != 201 {
		t.Fatalf("team: %d", code)
	}
	ctx := browser(t)
	consoleErrors := watchConsole(ctx, t)

	loginAs(t, ctx, in, "root@example.com", "root-password")
	run(t, ctx, "group rules: staff are members, support is the Support team",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/groups"),
		chromedp.SendKeys(`#new-role-rule input[name=group]`, "staff"),
		afterReload(chromedp.Click(`#new-role-rule button[type=submit]`)),
		chromedp.SendKeys(`#new-team-rule input[name=group]`, "support"),
		afterReload(chromedp.Click(`#new-team-rule button[type=submit]`)),
		chromedp.WaitVisible(`tr[data-rule="support"]`),
	)
	var rules string
	run(t, ctx, "read the rules", chromedp.Text(`#group-rules tbody`, &rules))
	if !strings.Contains(rules, "Support") || !strings.Contains(rules, "member") {
		t.Fatalf("the rules table shows %q", rules)
	}
	viewsFit(t, ctx, "group-rules")

	// The admin signs out; Carol, new to Quire, comes through her provider.
	run(t, ctx, "sign out", network.ClearBrowserCookies())
	op.AddUser(oidctest.User{ID: "carol", Username: "carol", Password: "carol-at-corp", Email: "carol@corp.example", EmailVerified: true,
		Name: "Carol Jones", Groups: []string{"staff", "support"}})
	run(t, ctx, "the login page", chromedp.Navigate(in.URL+"/login"), chromedp.WaitVisible(`a.sso`))
	viewsFit(t, ctx, "login-sso")
	signIn := func(step string) {
		t.Helper()
		run(t, ctx, step,
			chromedp.Navigate(in.URL+"/login"),
			chromedp.Click(`//a[normalize-space()="Sign in with Corp"]`, chromedp.BySearch),
			chromedp.WaitVisible(`input[name=username]`),
			chromedp.SendKeys(`input[name=username]`, "carol"),
			chromedp.SendKeys(`input[name=password]`, "carol-at-corp"),
			chromedp.Click(`button[type=submit]`),
			waitPath(ctx, func(p string) bool { return strings.HasPrefix(p, "/w/"+ws.ID) }),
		)
	}
	signIn("Carol signs in with Corp")
	var teams string
	run(t, ctx, "her teams", chromedp.Navigate(in.URL+"/w/"+ws.ID+"/teams"), chromedp.Text(`section[data-team="Support"] ul.people`, &teams))
	if !strings.Contains(teams, "Carol Jones") {
		t.Fatalf("the Support team shows %q", teams)
	}
	var members string
	run(t, ctx, "the members page", chromedp.Navigate(in.URL+"/w/"+ws.ID+"/members"), chromedp.Text(`tr[data-user="carol@corp.example"]`, &members))
	if !strings.Contains(members, "from group") {
		t.Fatalf("Carol's membership is not shown as managed: %q", members)
	}

	// Out of "support" at the provider: the next sign-in takes the team.
	op.SetGroups("carol", "staff")
	run(t, ctx, "sign out", network.ClearBrowserCookies())
	signIn("Carol signs in again")
	run(t, ctx, "her teams now", chromedp.Navigate(in.URL+"/w/"+ws.ID+"/teams"), chromedp.Text(`section[data-team="Support"] ul.people`, &teams))
	if strings.Contains(teams, "Carol") {
		t.Fatalf("out of the group, Carol is still in the team: %q", teams)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors (CSP or script): %v", errs)
	}
}

package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A team's "add member" list offers only workspace members not in the team,
// and says so once everyone is in it.
func TestBrowserTeamOffersOnlyPeopleNotInIt(t *testing.T) {
	ctx := browser(t)
	in := start(t, "")
	var su struct{ Token string }
	su.Token = in.setupAdmin("ada@example.com", "analytical-engine", "Ada")
	var ws struct{ ID string }
	in.api("POST", "/api/workspaces", su.Token, map[string]string{"name": "Acme"}, &ws)
	wsID := ws.ID
	for _, p := range []string{"grace", "linus"} {
		in.api("POST", "/api/auth/signup", "", map[string]string{"email": p + "@example.com", "password": "long-password-1", "name": strings.ToUpper(p[:1]) + p[1:]}, nil)
		if code := in.api("POST", "/api/workspaces/"+wsID+"/members", su.Token, map[string]string{"email": p + "@example.com"}, nil); code != 201 {
			t.Fatalf("add %s: %d", p, code)
		}
	}
	in.api("POST", "/api/workspaces/"+wsID+"/teams", su.Token, map[string]string{"name": "Support"}, nil)

	consoleErrors := watchConsole(ctx, t)
	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	options := func() string {
		var names []string
		run(t, ctx, "read the choices", chromedp.Evaluate(`[...document.querySelectorAll('section[data-team="Support"] .add-to-team option[value]:not([value=""])')].map(o => o.textContent.split(' (')[0])`, &names))
		return strings.Join(names, ", ")
	}
	run(t, ctx, "open teams", chromedp.Navigate(in.URL+"/w/"+wsID+"/teams"), chromedp.WaitVisible(`section[data-team="Support"]`))
	if got := options(); got != "Grace, Linus" {
		t.Fatalf("the team's owner is in it, yet the list offers %q", got)
	}
	themedShots(ctx, t, "teams")
	run(t, ctx, "add Grace",
		chromedp.SetValue(`section[data-team="Support"] select[name=user_id]`, "2"),
		afterReload(chromedp.Click(`section[data-team="Support"] .add-to-team button[type=submit]`)),
		chromedp.WaitVisible(`section[data-team="Support"] li[data-member="grace@example.com"]`),
	)
	if got := options(); got != "Linus" {
		t.Fatalf("after adding Grace the list offers %q", got)
	}
	var note string
	run(t, ctx, "add Linus",
		chromedp.SetValue(`section[data-team="Support"] select[name=user_id]`, "3"),
		afterReload(chromedp.Click(`section[data-team="Support"] .add-to-team button[type=submit]`)),
		chromedp.WaitVisible(`section[data-team="Support"] li[data-member="linus@example.com"]`),
		chromedp.Text(`section[data-team="Support"] .add-to-team`, &note),
	)
	if got := options(); got != "" || !strings.Contains(note, "Everyone in the workspace is in this team") {
		t.Fatalf("with everyone in the team: choices %q, note %q", got, note)
	}
	themedShots(ctx, t, "teams-full")
	if errs := consoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors: %v", errs)
	}
}

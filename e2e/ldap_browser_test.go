package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"quire/app/identity/ldaptest"
)

// A directory account in a real browser against Debian's real slapd: the
// admin maps the directory group "support" to the Support team; Dave, who has
// no Quire account, signs in with the login page's directory form, lands in
// the workspace with the team; a wrong password says so in the form; out of
// the group in the directory, his next sign-in takes the team away.
func TestBrowserDirectorySignInWithGroupRules(t *testing.T) {
	dir := ldaptest.Start(t)
	cfg := filepath.Join(t.TempDir(), "quire.toml")
	toml := fmt.Sprintf("[ldap]\nurl = %q\nbind_dn = %q\nbind_password = %q\nbase = %q\ngroup_base = %q\nallow_signup = true\n",
		dir.URL, ldaptest.AdminDN, ldaptest.AdminPass, ldaptest.People, ldaptest.Groups)
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	in := start(t, "", "QUIRE_CONFIG="+cfg)
	root := in.setupAdmin("root@example.com", "root-password", "Root")
	var ws struct{ ID string }
	if code := in.api("POST", "/api/workspaces", root, map[string]string{"name": "Acme"}, &ws); code != 201 {
		t.Fatalf("workspace: %d", code)
	}
	var team struct{ ID int64 }
	if code := in.api("POST", "/api/workspaces/"+ws.ID+"/teams", root, map[string]string{"name": "Support"}, &team); code != 201 {
		t.Fatalf("team: %d", code)
	}
	dave := dir.AddPerson("dave", "Dave Lister", "dave@example.org", "red-dwarf-3")
	staff := dir.AddGroup("staff", dave)
	support := dir.AddGroup("support", dave)
	// Directory groups are named by their DN, as memberOf and group searches give them.
	for _, rule := range []map[string]any{{"group": staff, "role": "member"}, {"group": support, "team_id": team.ID}} {
		if code := in.api("POST", "/api/workspaces/"+ws.ID+"/group-rules", root, rule, nil); code != 201 {
			t.Fatalf("rule %v: %d", rule, code)
		}
	}

	ctx := browser(t)
	consoleErrors := watchConsole(ctx, t)
	signIn := func(step, password string) {
		t.Helper()
		run(t, ctx, step,
			network.ClearBrowserCookies(),
			chromedp.Navigate(in.URL+"/login"),
			chromedp.WaitVisible(`#ldap-login`),
			chromedp.SendKeys(`#ldap-login input[name=username]`, "dave"),
			chromedp.SendKeys(`#ldap-login input[name=password]`, password),
			chromedp.Click(`#ldap-login button[type=submit]`),
		)
	}
	signIn("a wrong password", "not-his")
	var msg string
	run(t, ctx, "the form says why", chromedp.WaitVisible(`#ldap-login .form-error`), chromedp.Text(`#ldap-login .form-error`, &msg))
	if !strings.Contains(strings.ToLower(msg), "password") {
		t.Fatalf("a wrong directory password shows %q", msg)
	}
	viewsFit(t, ctx, "login-ldap")

	signIn("Dave signs in with the directory", "red-dwarf-3")
	run(t, ctx, "he lands in the workspace", waitPath(ctx, func(p string) bool { return strings.HasPrefix(p, "/w/"+ws.ID) }))
	var teams string
	run(t, ctx, "his teams", chromedp.Navigate(in.URL+"/w/"+ws.ID+"/teams"), chromedp.Text(`section[data-team="Support"] ul.people`, &teams))
	if !strings.Contains(teams, "Dave Lister") {
		t.Fatalf("the Support team shows %q", teams)
	}

	dir.SetMembers(support, ldaptest.AdminDN) // a group needs a member: Dave is out
	signIn("Dave signs in again", "red-dwarf-3")
	run(t, ctx, "he is signed in", waitPath(ctx, func(p string) bool { return strings.HasPrefix(p, "/w/"+ws.ID) }))
	run(t, ctx, "his teams now", chromedp.Navigate(in.URL+"/w/"+ws.ID+"/teams"), chromedp.Text(`section[data-team="Support"]`, &teams))
	if strings.Contains(teams, "Dave") {
		t.Fatalf("out of the group, Dave is still in the team: %q", teams)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors (CSP or script): %v", errs)
	}
}

package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"quire/app/llm/ollamatest"
)

// setupToken is the token of the instance's setup link.
func setupToken(in *instance) string {
	u, err := url.Parse(in.setupURL())
	if err != nil {
		in.t.Fatal(err)
	}
	return u.Query().Get("token")
}

// The setup link is printed once per start, with a new token each time,
// and nowhere else — not even in request logs at debug level — and it dies
// once an administrator exists.
func TestSetupLinkOncePerStart(t *testing.T) {
	in := start(t, "", "QUIRE_LOG_LEVEL=debug")
	first := setupToken(in)
	if !strings.HasPrefix(in.setupURL(), in.URL+"/setup?token=") {
		t.Fatalf("the link %q does not point at this server %s", in.setupURL(), in.URL)
	}
	if code := in.api("POST", "/api/auth/signup", "", map[string]string{"email": "early@example.com", "password": "password-1"}, nil); code != 403 {
		t.Fatalf("a signup before setup: %d, want 403", code)
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}

	in = start(t, in.DataDir, "QUIRE_LOG_LEVEL=debug")
	token := setupToken(in)
	if token == first {
		t.Fatal("the restart kept the token")
	}
	if code := in.api("POST", "/api/setup", "", map[string]string{"token": first, "email": "root@example.com", "password": "password-1", "name": "Root"}, nil); code != 403 {
		t.Fatalf("the previous start's token: %d, want 403", code)
	}
	resp, err := httpStatus(in.URL + "/setup?token=" + token)
	if err != nil || resp != 200 {
		t.Fatalf("the setup page: %d %v", resp, err)
	}
	in.setupAdmin("root@example.com", "password-1", "Root")
	if code := in.api("POST", "/api/setup", "", map[string]string{"token": token, "email": "again@example.com", "password": "password-1", "name": "Again"}, nil); code != 410 {
		t.Fatalf("the used token: %d, want 410", code)
	}
	if n := strings.Count(in.logs.String(), token); n != 1 {
		t.Fatalf("the token is %d times in the log, want once:\n%s", n, in.logs.String())
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}

	in = start(t, in.DataDir)
	if line := in.logLine("/setup?token="); line != "" {
		t.Fatalf("a set-up instance printed a setup link: %s", line)
	}
	if resp, _ := httpStatus(in.URL + "/setup?token=" + token); resp != 410 {
		t.Fatalf("the setup page of a set-up instance: %d, want 410", resp)
	}
}

// quire admin create-user --admin sets an instance up as well: no link then.
func TestSetupByCLI(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "admin", "create-user", "--data-dir", dir, "--email", "ops@example.com", "--password", "password-1", "--admin")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "admin=true") {
		t.Fatalf("create-user --admin: %s %v", out, err)
	}
	in := start(t, dir)
	if line := in.logLine("/setup?token="); line != "" {
		t.Fatalf("a setup link after the CLI made an admin: %s", line)
	}
	if code := in.api("POST", "/api/auth/signup", "", map[string]string{"email": "member@example.com", "password": "password-1"}, nil); code != 201 {
		t.Fatalf("signup on a set-up instance: %d", code)
	}
}

func httpStatus(u string) (int, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// cardsFit saves the page at 1280 and 390 px, light and dark, and fails when
// a card's content is wider than the card (the page's own navigation is the
// layout's matter: it is only reported).
func cardsFit(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, v := range []struct {
		width int64
		dark  bool
	}{{1280, false}, {1280, true}, {390, false}, {390, true}} {
		scheme := "light"
		if v.dark {
			scheme = "dark"
		}
		var cardsOver, pageOver bool
		run(t, ctx, "emulate "+scheme,
			emulation.SetDeviceMetricsOverride(v.width, 900, 1, false),
			emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
			chromedp.Evaluate(`[...document.querySelectorAll('main .card')].some((c) => c.scrollWidth > c.clientWidth + 1)`, &cardsOver),
			chromedp.Evaluate(`document.documentElement.scrollWidth > innerWidth + 1`, &pageOver),
		)
		if cardsOver {
			t.Errorf("%s at %d px: a card's content is wider than the card", name, v.width)
		}
		if pageOver {
			t.Logf("%s at %d px: the page around the cards (navigation, tabs) scrolls sideways", name, v.width)
		}
		shot(ctx, t, name+"-"+strconv.FormatInt(v.width, 10)+"-"+scheme)
	}
	run(t, ctx, "back to the desktop", desktop())
}

// The operator's first visit: the setup link, the only installed models
// already chosen, the approval policy; then the admin approves a signup,
// deactivates, resets and deletes people from Administration → Users.
func TestBrowserSetupAndUserAdministration(t *testing.T) {
	ctx := browser(t)
	errs := watchConsole(ctx, t)
	o := ollamatest.Start(t) // its own Ollama: exactly one chat and one embedding model
	in := start(t, "", "QUIRE_OLLAMA_URL="+o.URL)

	var chat, embed string
	run(t, ctx, "open the setup link",
		chromedp.Navigate(in.setupURL()),
		chromedp.WaitVisible(`#setup`),
		chromedp.Value(`select[name=default_chat_model]`, &chat),
		chromedp.Value(`select[name=default_embedding_model]`, &embed),
	)
	if strings.TrimSuffix(chat, ":latest") != o.ChatModel || strings.TrimSuffix(embed, ":latest") != o.EmbedModel {
		t.Fatalf("preselected %q and %q, want the only installed models %s and %s", chat, embed, o.ChatModel, o.EmbedModel)
	}
	cardsFit(t, ctx, "setup")
	run(t, ctx, "create the admin",
		chromedp.SendKeys(`#setup input[name=name]`, "Ada Lovelace"),
		chromedp.SendKeys(`#setup input[name=email]`, "ada@example.com"),
		chromedp.SendKeys(`#setup input[name=password]`, "analytical-engine"),
		chromedp.Click(`#setup input[value=approval]`),
		chromedp.Click(`#setup button[type=submit]`),
		waitPath(ctx, func(p string) bool { return p == "/workspaces/new" }),
	)
	var admin struct {
		Token string
		User  struct {
			IsAdmin bool `json:"is_admin"`
		}
	}
	in.api("POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "analytical-engine"}, &admin)
	var st map[string]any
	in.api("GET", "/api/admin/settings", admin.Token, nil, &st)
	if !admin.User.IsAdmin || st["signup_policy"] != "approval" || st["default_chat_model"] != chat || st["default_embedding_model"] != embed {
		t.Fatalf("after setup: admin=%v settings %v", admin.User.IsAdmin, st)
	}
	var ws struct{ ID string }
	in.api("POST", "/api/workspaces", admin.Token, map[string]string{"name": "Acme"}, &ws)

	// Someone asks for an account and waits.
	run(t, ctx, "sign out", chromedp.Navigate(in.URL+"/w/"+ws.ID), chromedp.Click(`#logout`), waitPath(ctx, func(p string) bool { return p == "/login" }))
	run(t, ctx, "ask for an account",
		chromedp.Navigate(in.URL+"/signup"),
		chromedp.SendKeys(`main input[name=name]`, "Grace Hopper"),
		chromedp.SendKeys(`main input[name=email]`, "grace@example.com"),
		chromedp.SendKeys(`main input[name=password]`, "compiler-1952"),
		chromedp.Click(`main button[type=submit]`),
		chromedp.WaitVisible(`#signup-pending`),
	)
	cardsFit(t, ctx, "signup-pending")
	if code := in.api("POST", "/api/auth/login", "", map[string]string{"email": "grace@example.com", "password": "compiler-1952"}, nil); code != 403 {
		t.Fatalf("a pending account signed in: %d", code)
	}

	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	var users struct {
		Items []struct {
			ID    int64
			Email string
		}
	}
	in.api("GET", "/api/admin/users", admin.Token, nil, &users)
	ids := map[string]string{}
	for _, u := range users.Items {
		ids[u.Email] = strconv.FormatInt(u.ID, 10)
	}
	grace := ids["grace@example.com"]
	run(t, ctx, "the pending signup", chromedp.Navigate(in.URL+"/admin"), chromedp.WaitVisible(`#approve-`+grace))
	cardsFit(t, ctx, "admin-users-pending")
	run(t, ctx, "approve", afterReload(chromedp.Click(`#approve-`+grace+` button`)), chromedp.WaitVisible(`#deactivate-`+grace))
	var g struct{ Token string }
	if code := in.api("POST", "/api/auth/login", "", map[string]string{"email": "grace@example.com", "password": "compiler-1952"}, &g); code != 200 {
		t.Fatalf("login after approval: %d", code)
	}

	// Deactivating signs her out at once.
	run(t, ctx, "deactivate", afterReload(chromedp.Click(`#deactivate-`+grace+` button`)), chromedp.WaitVisible(`#reactivate-`+grace))
	if code := in.api("GET", "/api/me", g.Token, nil, nil); code != 401 {
		t.Fatalf("a deactivated user's session: %d", code)
	}
	run(t, ctx, "reactivate", afterReload(chromedp.Click(`#reactivate-`+grace+` button`)), chromedp.WaitVisible(`#reset-`+grace))

	var link string
	run(t, ctx, "reset her password",
		chromedp.Click(`#reset-`+grace+` button`),
		chromedp.WaitVisible(`#reset-link`),
		chromedp.Text(`#reset-link code`, &link),
	)
	if !strings.Contains(link, "/reset/confirm?token=") {
		t.Fatalf("reset link %q", link)
	}
	var created string
	run(t, ctx, "create an account",
		chromedp.SendKeys(`#add-user input[name=email]`, "linus@example.com"),
		chromedp.SendKeys(`#add-user input[name=name]`, "Linus"),
		chromedp.Click(`#add-user button[type=submit]`),
		chromedp.WaitVisible(`#new-user`),
		chromedp.Text(`#new-user code`, &created),
	)
	if !strings.Contains(created, "/reset/confirm?token=") {
		t.Fatalf("the new account's link %q", created)
	}
	cardsFit(t, ctx, "admin-users-created")
	run(t, ctx, "the list has him", chromedp.Reload(), chromedp.WaitVisible(`tr[data-user="linus@example.com"]`))
	in.api("GET", "/api/admin/users", admin.Token, nil, &users)
	for _, u := range users.Items {
		ids[u.Email] = strconv.FormatInt(u.ID, 10)
	}
	run(t, ctx, "delete him", afterReload(chromedp.Click(`#delete-`+ids["linus@example.com"]+` button`)), chromedp.WaitVisible(`#users`))
	var gone bool
	run(t, ctx, "gone", chromedp.Evaluate(`!document.querySelector('tr[data-user="linus@example.com"]')`, &gone))
	if !gone {
		t.Fatal("the deleted account is still listed")
	}
	cardsFit(t, ctx, "admin-users")
	if e := errs(); len(e) > 0 {
		t.Fatalf("console errors: %v", e)
	}
}

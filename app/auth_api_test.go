package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"quire/app/auth"
	"quire/app/config"
	"quire/app/http/api"
	"quire/app/http/ui"
)

func TestSignupLoginLogout(t *testing.T) {
	ts := newTestServer(t)
	first := ts.signup("first")
	if !first.IsAdmin {
		t.Fatal("the first account must become instance admin")
	}
	second := ts.signup("second")
	if second.IsAdmin {
		t.Fatal("the second account must not be admin")
	}
	// Duplicate email, in another case: 409.
	res := ts.must(409, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": strings.ToUpper(second.Email), "password": testPassword}})
	if res.errCode() != "conflict" {
		t.Fatalf("code %q", res.errCode())
	}
	// Short password and bad email name their field.
	if res := ts.must(400, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": "x@example.com", "password": "short"}}); res.errField() != "password" {
		t.Fatalf("field %q", res.errField())
	}
	if res := ts.must(400, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": "not-an-email", "password": testPassword}}); res.errField() != "email" {
		t.Fatalf("field %q", res.errField())
	}

	var login struct {
		User  api.UserJSON
		Token string
	}
	res = ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": second.Email, "password": testPassword}})
	res.json(&login)
	if login.User.ID != second.ID || login.Token == "" {
		t.Fatalf("login gave %+v", login)
	}
	cookie := res.Header.Get("Set-Cookie")
	for _, attr := range []string{"quire_session=", "HttpOnly", "SameSite=Lax", "path=/"} {
		if !strings.Contains(strings.ToLower(cookie), strings.ToLower(attr)) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	ts.must(200, req{method: "GET", path: "/api/me", token: login.Token})
	ts.must(204, req{method: "POST", path: "/api/auth/logout", token: login.Token})
	if res := ts.must(401, req{method: "GET", path: "/api/me", token: login.Token}); res.errCode() != "unauthenticated" {
		t.Fatalf("revoked token code %q", res.errCode())
	}
	// The other session of the same user is untouched.
	ts.must(200, req{method: "GET", path: "/api/me", token: second.token})
}

func TestLoginNoEnumerationAndRateLimit(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("victim")
	wrong := ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": "wrong-password"}})
	unknown := ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "ghost@example.com", "password": "wrong-password"}})
	if string(wrong.Body) != string(unknown.Body) {
		t.Fatalf("unknown email and wrong password answer differently: %s vs %s", wrong.Body, unknown.Body)
	}
	for range ts.cfg.Login.MaxFailures - 1 {
		ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": "wrong-password"}})
	}
	res := ts.must(429, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": testPassword}})
	if res.errCode() != "rate_limited" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without rate_limited code or Retry-After: %v %s", res.Header, res.Body)
	}
}

func TestCSRFOnCookieAuth(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("csrf")
	cookie := map[string]string{"Cookie": "quire_session=" + u.token}
	// Reads with the cookie work.
	ts.must(200, req{method: "GET", path: "/api/me", headers: cookie})
	// An unsafe request with only the cookie is refused.
	res := ts.must(403, req{method: "PATCH", path: "/api/me", body: map[string]string{"name": "Evil"}, headers: cookie})
	if !strings.Contains(res.Body2(), "CSRF") {
		t.Fatalf("403 does not explain CSRF: %s", res.Body)
	}
	// The page carries the token; with it the request passes.
	page := ts.must(200, req{method: "GET", path: "/account", headers: cookie})
	m := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(string(page.Body))
	if m == nil {
		t.Fatal("no csrf-token meta on the page")
	}
	ok := map[string]string{"Cookie": cookie["Cookie"], "X-CSRF-Token": m[1]}
	ts.must(200, req{method: "PATCH", path: "/api/me", body: map[string]string{"name": "Good"}, headers: ok})
	// A cross-site Origin is refused even with the token.
	cross := map[string]string{"Cookie": cookie["Cookie"], "X-CSRF-Token": m[1], "Origin": "https://evil.example"}
	ts.must(403, req{method: "PATCH", path: "/api/me", body: map[string]string{"name": "Evil"}, headers: cross})
	// Another user's CSRF token does not work for this session.
	other := ts.signup("other")
	otherPage := ts.must(200, req{method: "GET", path: "/account", headers: map[string]string{"Cookie": "quire_session=" + other.token}})
	m2 := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(string(otherPage.Body))
	ts.must(403, req{method: "PATCH", path: "/api/me", body: map[string]string{"name": "Evil"}, headers: map[string]string{"Cookie": cookie["Cookie"], "X-CSRF-Token": m2[1]}})
	// Bearer tokens need no CSRF token.
	ts.must(200, req{method: "PATCH", path: "/api/me", body: map[string]string{"name": "Bearer"}, token: u.token})
}

func (r response) Body2() string { return string(r.Body) }

var linkRe = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// lastMailToken reads the newest outbox mail to addr and returns the token in its link.
func (ts *testServer) lastMailToken(addr string) string {
	ts.t.Helper()
	mails, err := ts.store.ListMail(context.Background(), 0, 50)
	if err != nil {
		ts.t.Fatal(err)
	}
	for _, m := range mails {
		if m.To == addr {
			if mm := linkRe.FindStringSubmatch(m.Body); mm != nil {
				return mm[1]
			}
		}
	}
	ts.t.Fatalf("no mail with a link to %s", addr)
	return ""
}

func TestPasswordResetFlow(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("forgetful")
	// Unknown address: same 204, and no mail.
	ts.must(204, req{method: "POST", path: "/api/auth/password-reset", body: map[string]string{"email": "nobody@example.com"}})
	if mails, _ := ts.store.ListMail(context.Background(), 0, 10); len(mails) != 0 {
		t.Fatalf("mail sent for an unknown address: %+v", mails)
	}
	ts.must(204, req{method: "POST", path: "/api/auth/password-reset", body: map[string]string{"email": u.Email}})
	token := ts.lastMailToken(u.Email)
	ts.must(204, req{method: "POST", path: "/api/auth/password-reset/confirm", body: map[string]string{"token": token, "password": "brand-new-password"}})
	// Single use.
	if res := ts.must(400, req{method: "POST", path: "/api/auth/password-reset/confirm", body: map[string]string{"token": token, "password": "again-password"}}); res.errField() != "token" {
		t.Fatalf("reused token: %s", res.Body)
	}
	// Old sessions are gone, the old password fails, the new one works.
	ts.must(401, req{method: "GET", path: "/api/me", token: u.token})
	ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": testPassword}})
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": "brand-new-password"}})
}

func TestChangePasswordRevokesOtherSessions(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("changer")
	var other struct{ Token string }
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": testPassword}}).json(&other)
	if res := ts.must(400, req{method: "POST", path: "/api/me/password", token: u.token,
		body: map[string]string{"current_password": "wrong-password", "new_password": "new-password-1"}}); res.errField() != "current_password" {
		t.Fatalf("wrong current password: %s", res.Body)
	}
	ts.must(204, req{method: "POST", path: "/api/me/password", token: u.token,
		body: map[string]string{"current_password": testPassword, "new_password": "new-password-1"}})
	ts.must(200, req{method: "GET", path: "/api/me", token: u.token})
	ts.must(401, req{method: "GET", path: "/api/me", token: other.Token})
}

func TestSignupPolicy(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("admin")
	for _, policy := range []string{"closed", "invite_only"} {
		ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: admin.token, body: map[string]string{"signup_policy": policy}})
		res := ts.must(403, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": uniqueEmail("late"), "password": testPassword}})
		if res.errCode() != "forbidden" {
			t.Fatalf("%s: %s", policy, res.Body)
		}
	}
	ts.must(400, req{method: "PATCH", path: "/api/admin/settings", token: admin.token, body: map[string]string{"signup_policy": "sometimes"}})
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: admin.token, body: map[string]string{"signup_policy": "open"}})
	ts.signup("welcome")
}

func TestEmailVerificationWhenRequired(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) {
		c.RequireVerification = true
		c.SMTP = config.SMTP{Host: "127.0.0.1", Port: 1, From: "quire@example.com"} // nothing listens: delivery fails, outbox keeps it
	})
	ts.signup("root") // the instance's admin, verified by setting it up
	u := ts.signup("verify")
	if u.EmailVerified {
		t.Fatal("new account verified before the link was used")
	}
	token := ts.lastMailToken(u.Email)
	ts.must(204, req{method: "POST", path: "/api/auth/verify-email", body: map[string]string{"token": token}})
	var me api.UserJSON
	ts.must(200, req{method: "GET", path: "/api/me", token: u.token}).json(&me)
	if !me.EmailVerified {
		t.Fatal("email not verified after using the link")
	}
}

func TestMalformedBodies(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("bodies")
	cases := []struct {
		name, body, ctype string
		status            int
		code, field, text string
	}{
		{"syntax", `{"name": }`, "application/json", 400, "invalid_request", "", "byte"},
		{"truncated", `{"name": "x"`, "application/json", 400, "invalid_request", "", "ends before"},
		{"wrong type", `{"name": 5}`, "application/json", 400, "invalid_request", "name", "must be a string"},
		{"unknown field", `{"nmae": "x"}`, "application/json", 400, "invalid_request", "nmae", "unknown field"},
		{"not an object", `[1,2]`, "application/json", 400, "invalid_request", "", "JSON object"},
		{"trailing", `{"name":"x"} {}`, "application/json", 400, "invalid_request", "", "after the JSON object"},
		{"empty", ``, "application/json", 400, "invalid_request", "", "empty"},
		{"form", `name=x`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", "", "application/json"},
		{"too large", `{"name":"` + strings.Repeat("a", 1100<<10) + `"}`, "application/json", 413, "payload_too_large", "", "KB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := ts.do(req{method: "POST", path: "/api/workspaces", body: c.body, token: u.token, headers: map[string]string{"Content-Type": c.ctype}})
			if res.Status != c.status || res.errCode() != c.code || res.errField() != c.field || !strings.Contains(string(res.Body), c.text) {
				t.Fatalf("got %d %s", res.Status, res.Body)
			}
		})
	}
	// Nothing was created by any of them.
	var l api.List[api.WorkspaceJSON]
	ts.must(200, req{method: "GET", path: "/api/workspaces", token: u.token}).json(&l)
	if len(l.Items) != 0 {
		t.Fatalf("a rejected body created %d workspaces", len(l.Items))
	}
	// Unknown routes answer in the error shape too.
	if res := ts.must(404, req{method: "GET", path: "/api/nope", token: u.token}); res.errCode() != "not_found" {
		t.Fatalf("unknown route: %s", res.Body)
	}
}

func TestPagesRedirectAndRender(t *testing.T) {
	ts := newTestServer(t)
	res := ts.must(303, req{method: "GET", path: "/w/x/members"})
	if loc := res.Header.Get("Location"); loc != "/login?next="+url.QueryEscape("/w/x/members") {
		t.Fatalf("redirect to %q", loc)
	}
	u := ts.signup("pages")
	ck := map[string]string{"Cookie": "quire_session=" + u.token}
	if loc := ts.must(303, req{method: "GET", path: "/", headers: ck}).Header.Get("Location"); loc != "/workspaces/new" {
		t.Fatalf("home without workspace goes to %q", loc)
	}
	ws := ts.createWorkspace(u, `<script>alert(1)</script>`)
	page := ts.must(200, req{method: "GET", path: "/w/" + ws.ID, headers: ck})
	if strings.Contains(string(page.Body), "<script>alert(1)") {
		t.Fatal("workspace name rendered unescaped")
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	// An outsider sees a 404 page, not the workspace.
	other := ts.signup("nosy")
	notFound := ts.must(404, req{method: "GET", path: "/w/" + ws.ID, headers: map[string]string{"Cookie": "quire_session=" + other.token}})
	if strings.Contains(string(notFound.Body), "alert(1)") || !strings.Contains(string(notFound.Body), "Not found") {
		t.Fatalf("outsider page leaks or is not a 404 page")
	}
	// Open redirects through ?next= are neutralised.
	if got := ui.SafeNext("//evil.example/x"); got != "/" {
		t.Fatalf("safeNext let %q through", got)
	}
}

// The post-login target stays on this site whatever ?next= holds: browsers drop
// tabs and newlines and read "\" as "/", so these would reach another host, and
// braces would let the sign-in page put the new session token into the URL.
func TestSafeNextRejectsHostileTargets(t *testing.T) {
	hostile := []string{
		"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\x00/evil.example", "/ /evil.example",
		"/\\evil.example", "/\\/evil.example", "\\\\evil.example", "//evil.example", "///evil.example",
		"https://evil.example", "https:evil.example", "javascript:alert(1)", "JavaScript:alert(1)", "evil.example/x",
		"/%09/evil.example", "/%0a/evil.example", "/%2F/evil.example", "/%5Cevil.example", "/%5c%5cevil.example",
		"/x/{token}", "/\u00a0/evil.example", "/\u2028/evil.example", "/%zz",
		"/" + strings.Repeat("a", 3000), "", " /w/x",
	}
	for _, next := range hostile {
		if got := ui.SafeNext(next); got != "/" {
			t.Errorf("ui.SafeNext(%q) = %q, want /", next, got)
		}
	}
	for _, next := range []string{"/", "/w/3f2a/members", "/w/3f2a/search?q=hello%20world&mode=keyword", "/invite/qi_AbC-_09", "/w/x/c/y#m-1"} {
		if got := ui.SafeNext(next); got != next {
			t.Errorf("ui.SafeNext(%q) = %q, want it kept", next, got)
		}
	}
	// The pages only ever carry the checked target.
	ts := newTestServer(t)
	ts.signup("root") // the signup page has a form once the instance is set up
	redirectRe := regexp.MustCompile(`data-api="/api/auth/(?:login|signup)" data-redirect="([^"]*)"`)
	for _, page := range []string{"/login", "/signup"} {
		for _, next := range []string{"/\t/evil.example", "/x?t={token}"} {
			body := ts.must(200, req{method: "GET", path: page + "?next=" + url.QueryEscape(next)}).Body
			if m := redirectRe.FindSubmatch(body); m == nil || string(m[1]) != "/" {
				t.Errorf("%s?next=%q renders data-redirect %q", page, next, m)
			}
		}
	}
}

// loginFrom signs in over HTTP from the client address ip and returns the status.
func loginFrom(t *testing.T, base, ip, email, password string) int {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	res, err := client.Post(base+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// Someone else's wrong guesses must not lock the owner out: failures count per
// (email, address), with a cap per email across all addresses ten times higher.
func TestLoginLockoutIsPerAddress(t *testing.T) {
	ts := newTestServer(t)
	victim := ts.quickUser("victim")
	base := "http://" + ts.listen() // distinct client addresses: all of 127.0.0.0/8 is loopback on Linux
	max := ts.cfg.Login.MaxFailures
	for range max {
		if code := loginFrom(t, base, "127.0.0.1", victim.Email, "wrong-password"); code != 401 {
			t.Fatalf("wrong password from the attacker's address: %d", code)
		}
	}
	if code := loginFrom(t, base, "127.0.0.1", victim.Email, testPassword); code != 429 {
		t.Fatalf("the attacker's address is not locked after %d failures: %d", max, code)
	}
	if code := loginFrom(t, base, "127.0.0.2", victim.Email, testPassword); code != 200 {
		t.Fatalf("the victim from another address cannot sign in: %d", code)
	}
	// Guesses spread over many addresses hit the per-email cap (10 × max) after all.
	failures := max // the attacker's first address
	for i := 3; failures < 10*max; i++ {
		for range max {
			loginFrom(t, base, fmt.Sprintf("127.0.0.%d", i), victim.Email, "wrong-password")
			failures++
		}
	}
	if code := loginFrom(t, base, "127.0.0.250", victim.Email, testPassword); code != 429 {
		t.Fatalf("no per-email cap after %d failures from many addresses: %d", failures, code)
	}
}

// withHashCost makes new password hashes cost mem KiB for the rest of the test.
func withHashCost(t *testing.T, mem uint32) {
	old := auth.DefaultParams
	auth.DefaultParams = auth.Params{Memory: mem, Time: 1, Threads: 1}
	t.Cleanup(func() { auth.DefaultParams = old })
}

// Checking and counting a failure are one step: of 30 parallel wrong passwords,
// at most the limit are checked (401), the rest are refused (429).
func TestParallelWrongPasswordsAreLimited(t *testing.T) {
	ts := newTestServer(t)
	withHashCost(t, 4*1024) // a few ms per check, so the requests really overlap
	victim := ts.quickUser("victim")
	codes := make(chan int, 30)
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			codes <- ts.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": victim.Email, "password": "wrong-password"}}).Status
		})
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[401] > ts.cfg.Login.MaxFailures || n[401]+n[429] != 30 {
		t.Fatalf("30 parallel wrong passwords gave %v; at most %d may be 401, the rest 429", n, ts.cfg.Login.MaxFailures)
	}
}

// Requests that will be refused must not run argon2 first: at 64 MiB a hash,
// a burst of bogus reset confirmations used to take the server to gigabytes.
func TestRefusedRequestsDoNotHashPasswords(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.quickUser("admin")
	ts.quickUser("taken")
	withHashCost(t, 64*1024) // production cost: each hash allocates 64 MiB
	refused := []struct {
		name   string
		status int
		r      req
	}{
		{"bogus reset token", 400, req{method: "POST", path: "/api/auth/password-reset/confirm", body: map[string]string{"token": "bogus", "password": "new-password-1"}}},
		{"taken email", 409, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": admin.Email, "password": "new-password-1"}}},
	}
	for _, c := range refused {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 3 {
			ts.must(c.status, c.r)
		}
		runtime.ReadMemStats(&after)
		if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 32 {
			t.Errorf("%s: 3 refused requests allocated %d MiB (a password hash each?)", c.name, mb)
		}
	}
}

// When every hashing slot is taken, a sign-in waits briefly, then gets 429 with
// Retry-After; that does not count as a failed login.
func TestPasswordHashingIsBounded(t *testing.T) {
	ts := newTestServer(t)
	u := ts.quickUser("busy")
	oldWait := auth.Hashing.Wait
	auth.Hashing.Wait = 50 * time.Millisecond
	t.Cleanup(func() { auth.Hashing.Wait = oldWait })
	release := make(chan struct{})
	var holders sync.WaitGroup
	for range 4 { // the most slots there are; holders beyond the bound give up
		holders.Go(func() { auth.Hashing.Do(context.Background(), func() { <-release }) })
	}
	time.Sleep(100 * time.Millisecond)
	res := ts.must(429, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": testPassword}})
	if res.Header.Get("Retry-After") == "" || res.errCode() != "rate_limited" {
		t.Fatalf("busy hashing: %v %s", res.Header, res.Body)
	}
	ts.must(429, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": uniqueEmail("new"), "password": testPassword}})
	close(release)
	holders.Wait()
	for range ts.cfg.Login.MaxFailures {
		ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": "wrong-password"}})
	}
}

// A new password ends every other way in: sessions and API keys.
func TestPasswordChangeAndResetRevokeKeys(t *testing.T) {
	ts := newTestServer(t)
	u := ts.quickUser("keys")
	newKey := func() string {
		var k struct{ Token string }
		ts.must(201, req{method: "POST", path: "/api/me/tokens", token: u.token, body: map[string]string{"name": "script"}}).json(&k)
		return k.Token
	}
	key := newKey()
	var other struct{ Token string }
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": testPassword}}).json(&other)
	ts.must(204, req{method: "POST", path: "/api/me/password", token: u.token, body: map[string]string{"current_password": testPassword, "new_password": "changed-password"}})
	ts.must(401, req{method: "GET", path: "/api/me", token: key})
	ts.must(401, req{method: "GET", path: "/api/me", token: other.Token})
	ts.must(200, req{method: "GET", path: "/api/me", token: u.token}) // the session that changed it
	var keys api.List[api.TokenJSON]
	if ts.must(200, req{method: "GET", path: "/api/me/tokens", token: u.token}).json(&keys); len(keys.Items) != 0 {
		t.Fatalf("keys left after a password change: %+v", keys.Items)
	}

	key = newKey()
	ts.must(204, req{method: "POST", path: "/api/auth/password-reset", body: map[string]string{"email": u.Email}})
	ts.must(204, req{method: "POST", path: "/api/auth/password-reset/confirm", body: map[string]string{"token": ts.lastMailToken(u.Email), "password": "reset-password"}})
	ts.must(401, req{method: "GET", path: "/api/me", token: key})
	ts.must(401, req{method: "GET", path: "/api/me", token: u.token})
}

// Addresses are stored in one canonical form and compared exactly: ASCII case
// and Unicode normalisation do not matter, Unicode case folding does not apply.
func TestEmailCanonicalForm(t *testing.T) {
	ts := newTestServer(t)
	ts.quickUser("root")
	signup := func(email string, want int) api.UserJSON {
		var out struct{ User api.UserJSON }
		res := ts.must(want, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": email, "password": testPassword + email}})
		if want == 201 {
			res.json(&out)
		}
		return out.User
	}
	sam := signup(" Sam@Example.COM ", 201)
	if sam.Email != "sam@example.com" {
		t.Fatalf("stored as %q", sam.Email)
	}
	signup("SAM@example.com", 409)
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "sAm@EXAMPLE.com", "password": testPassword + " Sam@Example.COM "}})
	// "ſ" (long s) folds to "s" under strings.EqualFold: a different address here.
	longS := signup("ſam@example.com", 201)
	if longS.ID == sam.ID || longS.Email != "ſam@example.com" {
		t.Fatalf("ſam@example.com became %+v", longS)
	}
	ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "ſam@example.com", "password": testPassword + " Sam@Example.COM "}})
	// Non-ASCII letters keep their case; canonically equivalent spellings (NFD é, the Kelvin sign) are one address.
	if u := signup("Élise@example.com", 201); u.Email != "Élise@example.com" {
		t.Fatalf("Élise stored as %q", u.Email)
	}
	signup("E\u0301lise@example.com", 409)
	signup("kate@example.com", 201)
	signup("\u212Aate@example.com", 409)
}

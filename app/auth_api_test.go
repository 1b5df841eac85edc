package app

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"quire/app/config"
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
		User  userJSON
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
	u := ts.signup("verify")
	if u.EmailVerified {
		t.Fatal("new account verified before the link was used")
	}
	token := ts.lastMailToken(u.Email)
	ts.must(204, req{method: "POST", path: "/api/auth/verify-email", body: map[string]string{"token": token}})
	var me userJSON
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
	var l list[workspaceJSON]
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
	if got := safeNext("//evil.example/x"); got != "/" {
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
		if got := safeNext(next); got != "/" {
			t.Errorf("safeNext(%q) = %q, want /", next, got)
		}
	}
	for _, next := range []string{"/", "/w/3f2a/members", "/w/3f2a/search?q=hello%20world&mode=keyword", "/invite/qi_AbC-_09", "/w/x/c/y#m-1"} {
		if got := safeNext(next); got != next {
			t.Errorf("safeNext(%q) = %q, want it kept", next, got)
		}
	}
	// The pages only ever carry the checked target.
	ts := newTestServer(t)
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
	var keys list[tokenJSON]
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
	signup := func(email string, want int) userJSON {
		var out struct{ User userJSON }
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

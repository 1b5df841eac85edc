package app

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"quire/app/config"
	"quire/app/http/request"
	"quire/app/identity/oidctest"
)

// ssoEnv is a Quire instance with one OIDC provider, "corp", served by a
// real OpenID provider on loopback (oidctest: zitadel/oidc's OP).
type ssoEnv struct {
	t    *testing.T
	ts   *testServer
	op   *oidctest.Provider
	root user // the instance's administrator
}

const ssoCallback = "http://127.0.0.1:8080/auth/oidc/corp/callback" // config.Default's listen address is the public URL

// walkProvider is the OIDC provider the tenancy walk signs in with.
const walkProvider = "walk"

func withWalkProvider(t *testing.T) func(*config.Config) {
	op := oidctest.Start(t, "quire", "quire-secret", "http://127.0.0.1:8080/auth/oidc/"+walkProvider+"/callback")
	return func(c *config.Config) {
		c.OIDC = append(c.OIDC, config.OIDC{Name: walkProvider, Issuer: op.URL, ClientID: "quire", ClientSecret: "quire-secret"})
	}
}

func newSSO(t *testing.T, mutate ...func(*config.OIDC)) *ssoEnv {
	t.Helper()
	op := oidctest.Start(t, "quire", "quire-secret", ssoCallback)
	ts := newTestServer(t, func(c *config.Config) {
		o := config.OIDC{Name: "corp", Label: "Corp", Issuer: op.URL, ClientID: "quire", ClientSecret: "quire-secret", AllowSignup: true}
		for _, m := range mutate {
			m(&o)
		}
		c.OIDC = []config.OIDC{o}
	})
	return &ssoEnv{t: t, ts: ts, op: op, root: ts.quickUser("root")}
}

// person adds someone at the provider; their username is their address.
func (e *ssoEnv) person(id, email string, verified bool, groups ...string) {
	e.op.AddUser(oidctest.User{ID: id, Username: email, Password: "provider-pw", Email: email, EmailVerified: verified, Name: "Person " + id, Groups: groups})
}

// begin presses "Sign in with Corp": the provider's URL and the sign-in cookie.
func (e *ssoEnv) begin(next string) (authURL, cookie string) {
	e.t.Helper()
	path := "/auth/oidc/corp"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	res := e.ts.must(303, req{method: "GET", path: path})
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == "quire_sso" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		e.t.Fatal("no sign-in cookie")
	}
	return res.Header.Get("Location"), cookie
}

// login signs in at the provider and returns the redirect back to Quire.
func (e *ssoEnv) login(authURL, email string) *url.URL {
	e.t.Helper()
	back, err := e.op.Login(authURL, email, "provider-pw")
	if err != nil {
		e.t.Fatal(err)
	}
	return back
}

// callback is the browser arriving back at Quire with the cookie.
func (e *ssoEnv) callback(back *url.URL, cookie string) response {
	e.t.Helper()
	h := map[string]string{}
	if cookie != "" {
		h["Cookie"] = "quire_sso=" + cookie
	}
	return e.ts.do(req{method: "GET", path: back.RequestURI(), headers: h})
}

// signIn is the whole flow for a person; the response of Quire's callback.
func (e *ssoEnv) signIn(email, next string) response {
	e.t.Helper()
	authURL, cookie := e.begin(next)
	return e.callback(e.login(authURL, email), cookie)
}

func sessionOf(res response) string {
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == request.SessionCookie && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// me is who a session is, or "" when it is none.
func (e *ssoEnv) me(session string) string {
	res := e.ts.do(req{method: "GET", path: "/api/me", token: session})
	if res.Status != 200 {
		return ""
	}
	var out struct{ Email string }
	res.json(&out)
	return out.Email
}

func refused(t *testing.T, res response, status int, words string) {
	t.Helper()
	if res.Status != status || sessionOf(res) != "" {
		t.Fatalf("status %d (want %d), session %q: %s", res.Status, status, sessionOf(res), res.Body)
	}
	if !strings.Contains(string(res.Body), words) {
		t.Fatalf("the sign-in page does not say %q: %s", words, res.Body)
	}
}

func TestOIDCSignInMakesLinksAndSignsOut(t *testing.T) {
	e := newSSO(t)
	e.ts.must(200, req{method: "GET", path: "/login"}) // the page renders with the button
	if page := e.ts.must(200, req{method: "GET", path: "/login?next=/account"}); !strings.Contains(string(page.Body), `href="/auth/oidc/corp?next=%2faccount"`) {
		t.Fatalf("no Sign in with Corp button keeping next: %s", page.Body)
	}
	e.person("alice", "alice@corp.example", true)

	res := e.signIn("alice@corp.example", "/account")
	if res.Status != 303 || res.Header.Get("Location") != "/account" {
		t.Fatalf("callback: %d to %q: %s", res.Status, res.Header.Get("Location"), res.Body)
	}
	first := sessionOf(res)
	if got := e.me(first); got != "alice@corp.example" {
		t.Fatalf("the session is %q", got)
	}
	u, err := e.ts.store.UserByEmail(context.Background(), "alice@corp.example")
	if err != nil || !u.EmailVerified || u.Name != "Person alice" {
		t.Fatalf("the new account: %+v, %v", u, err)
	}

	// The provider's subject finds the account next time, even after the
	// address changed at the provider.
	e.person("alice", "alice.new@corp.example", true)
	again := e.signIn("alice.new@corp.example", "")
	if got := e.me(sessionOf(again)); got != "alice@corp.example" || again.Header.Get("Location") != "/" {
		t.Fatalf("second sign-in is %q to %q", got, again.Header.Get("Location"))
	}

	// An existing password account with the verified address is linked, not duplicated.
	bob := e.ts.quickUser("bob")
	e.person("bob-at-corp", bob.Email, true)
	if got := e.me(sessionOf(e.signIn(bob.Email, ""))); got != bob.Email {
		t.Fatalf("linking by verified email signed in %q", got)
	}
	// A second account at the provider with Bob's address (verified there) does not get in.
	e.op.AddUser(oidctest.User{ID: "bob-again", Username: "bob-again", Password: "provider-pw", Email: bob.Email, EmailVerified: true})
	authURL, cookie := e.begin("")
	refused(t, e.callback(e.login(authURL, "bob-again"), cookie), 403, "linked to another account")

	// Logout ends the SSO session like any other.
	e.ts.must(204, req{method: "POST", path: "/api/auth/logout", token: first})
	if e.me(first) != "" {
		t.Fatal("the session outlived its logout")
	}
}

func TestOIDCUnverifiedEmailNeverTakesAnAccount(t *testing.T) {
	e := newSSO(t)
	victim := e.ts.quickUser("victim")
	// Someone at the provider typed the victim's address into their profile.
	e.person("mallory", victim.Email, false)
	refused(t, e.signIn(victim.Email, ""), 403, "has not verified the address")
	// Nor does an unverified new address make an account.
	e.person("newbie", "newbie@corp.example", false)
	refused(t, e.signIn("newbie@corp.example", ""), 403, "has not verified")
	if _, err := e.ts.store.UserByEmail(context.Background(), "newbie@corp.example"); err == nil {
		t.Fatal("an unverified address made an account")
	}

	// A provider whose addresses its admins set (trust_email, e.g. Entra ID) links without the claim.
	trusted := newSSO(t, func(o *config.OIDC) { o.TrustEmail = true })
	known := trusted.ts.quickUser("known")
	trusted.person("known", known.Email, false)
	if got := trusted.me(sessionOf(trusted.signIn(known.Email, ""))); got != known.Email {
		t.Fatalf("trust_email: signed in as %q", got)
	}
}

func TestOIDCRefusesTamperedReplayedAndForeignAnswers(t *testing.T) {
	e := newSSO(t)
	e.person("alice", "alice@corp.example", true)

	t.Run("tampered state", func(t *testing.T) {
		authURL, cookie := e.begin("")
		back := e.login(authURL, "alice@corp.example")
		q := back.Query()
		good := *back
		q.Set("state", q.Get("state")+"x")
		back.RawQuery = q.Encode()
		refused(t, e.callback(back, cookie), 403, "does not belong to the sign-in")
		// The attempt used the sign-in up: the genuine answer no longer works either.
		refused(t, e.callback(&good, cookie), 410, "already used")
	})
	t.Run("no cookie: started in another browser", func(t *testing.T) {
		authURL, _ := e.begin("")
		refused(t, e.callback(e.login(authURL, "alice@corp.example"), ""), 410, "started in another browser")
	})
	t.Run("another browser's cookie", func(t *testing.T) {
		authURL, _ := e.begin("")
		_, other := e.begin("")
		refused(t, e.callback(e.login(authURL, "alice@corp.example"), other), 403, "does not belong")
	})
	t.Run("replayed callback and code", func(t *testing.T) {
		authURL, cookie := e.begin("")
		back := e.login(authURL, "alice@corp.example")
		if res := e.callback(back, cookie); res.Status != 303 || sessionOf(res) == "" {
			t.Fatalf("first use: %d %s", res.Status, res.Body)
		}
		refused(t, e.callback(back, cookie), 410, "already used")
		// The same code under a fresh sign-in of this browser: the provider refuses it.
		authURL2, cookie2 := e.begin("")
		state2, _ := url.Parse(authURL2)
		replay := *back
		q := replay.Query()
		q.Set("state", state2.Query().Get("state"))
		replay.RawQuery = q.Encode()
		refused(t, e.callback(&replay, cookie2), 403, "refused the sign-in code")
	})
	for _, c := range []struct {
		name  string
		bad   oidctest.Misbehaviour
		words string
	}{{"ID token for another client", oidctest.OtherAudience, "not valid for this instance"}, {"wrong nonce", oidctest.WrongNonce, "belongs to another sign-in"}} {
		t.Run(c.name, func(t *testing.T) {
			e.op.Misbehave(c.bad)
			defer e.op.Misbehave(oidctest.Honest)
			refused(t, e.signIn("alice@corp.example", ""), 403, c.words)
		})
	}
	t.Run("provider error", func(t *testing.T) {
		authURL, cookie := e.begin("")
		u, _ := url.Parse(authURL)
		back, _ := url.Parse(ssoCallback + "?error=access_denied%3Cscript%3E&state=" + url.QueryEscape(u.Query().Get("state")))
		res := e.callback(back, cookie)
		refused(t, res, 403, "did not sign you in (access_deniedscript)")
	})
	t.Run("unknown provider", func(t *testing.T) {
		e.ts.must(404, req{method: "GET", path: "/auth/oidc/nobody"})
		e.ts.must(404, req{method: "GET", path: "/auth/oidc/nobody/callback?state=x&code=y"})
	})
	t.Run("open redirect", func(t *testing.T) {
		for _, next := range []string{"//evil.example/x", "https://evil.example", "/\\evil.example"} {
			if res := e.signIn("alice@corp.example", next); res.Header.Get("Location") != "/" {
				t.Fatalf("next %q sent the browser to %q", next, res.Header.Get("Location"))
			}
		}
	})
}

func TestOIDCAccountRules(t *testing.T) {
	t.Run("disallowed domain", func(t *testing.T) {
		e := newSSO(t, func(o *config.OIDC) { o.AllowedDomains = []string{"corp.example"} })
		e.person("eve", "eve@elsewhere.example", true)
		refused(t, e.signIn("eve@elsewhere.example", ""), 403, "this domain may not sign in")
		// A look-alike subdomain is another domain.
		e.person("eve2", "eve@corp.example.evil", true)
		refused(t, e.signIn("eve@corp.example.evil", ""), 403, "this domain may not sign in")
		e.person("ann", "Ann@CORP.example", true)
		if res := e.signIn("Ann@CORP.example", ""); res.Status != 303 || e.me(sessionOf(res)) != "ann@corp.example" {
			t.Fatalf("an allowed domain in capitals: %d %s", res.Status, res.Body)
		}
	})
	t.Run("no signup", func(t *testing.T) {
		e := newSSO(t, func(o *config.OIDC) { o.AllowSignup = false })
		e.person("new", "new@corp.example", true)
		refused(t, e.signIn("new@corp.example", ""), 403, "there is no account for new@corp.example")
		known := e.ts.quickUser("known")
		e.person("known", known.Email, true)
		if res := e.signIn(known.Email, ""); e.me(sessionOf(res)) != known.Email {
			t.Fatalf("an existing account without signup: %d %s", res.Status, res.Body)
		}
	})
	t.Run("closed and approval policies", func(t *testing.T) {
		e := newSSO(t)
		for _, policy := range []string{"closed", "invite_only"} {
			e.ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: e.root.token, body: map[string]string{"signup_policy": policy}})
			e.person("p-"+policy, policy+"@corp.example", true)
			refused(t, e.signIn(policy+"@corp.example", ""), 403, "signup")
		}
		e.ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: e.root.token, body: map[string]string{"signup_policy": "approval"}})
		e.person("wait", "wait@corp.example", true)
		res := e.signIn("wait@corp.example", "")
		refused(t, res, 202, "waits for an administrator")
		refused(t, e.signIn("wait@corp.example", ""), 403, "waiting for an administrator")
		u, err := e.ts.store.UserByEmail(context.Background(), "wait@corp.example")
		if err != nil || !u.Pending {
			t.Fatalf("the account: %+v %v", u, err)
		}
		e.ts.must(200, req{method: "POST", path: "/api/admin/users/" + strconv.FormatInt(u.ID, 10) + "/approve", token: e.root.token})
		if got := e.me(sessionOf(e.signIn("wait@corp.example", ""))); got != "wait@corp.example" {
			t.Fatalf("approved, the sign-in is %q", got)
		}
	})
	t.Run("deactivated", func(t *testing.T) {
		e := newSSO(t)
		gone := e.ts.quickUser("gone")
		e.person("gone", gone.Email, true)
		yes := true
		if _, err := e.ts.store.UpdateUserAdmin(context.Background(), gone.ID, nil, &yes); err != nil {
			t.Fatal(err)
		}
		refused(t, e.signIn(gone.Email, ""), 403, "disabled")
	})
}

func TestPasswordLoginOffLeavesItToAdmins(t *testing.T) {
	e := newSSO(t)
	member := e.ts.quickUser("member")
	e.ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: e.root.token, body: map[string]bool{"password_login_disabled": true}})
	res := e.ts.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": member.Email, "password": testPassword}})
	if res.Status != 403 || !strings.Contains(string(res.Body), "use single sign-on") {
		t.Fatalf("a member's password login: %d %s", res.Status, res.Body)
	}
	// A wrong password still says only that it is wrong.
	if res := e.ts.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": member.Email, "password": "wrong-password"}}); res.Status != 401 {
		t.Fatalf("a wrong password: %d %s", res.Status, res.Body)
	}
	e.ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": e.root.Email, "password": testPassword}})
	if res := e.ts.do(req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": uniqueEmail("late"), "password": testPassword}}); res.Status != 403 {
		t.Fatalf("password signup while password login is off: %d %s", res.Status, res.Body)
	}
	// The member still signs in through the provider.
	e.person("member", member.Email, true)
	if got := e.me(sessionOf(e.signIn(member.Email, ""))); got != member.Email {
		t.Fatalf("SSO with password login off: %q", got)
	}
	if page := e.ts.must(200, req{method: "GET", path: "/login"}); !strings.Contains(string(page.Body), "Password sign-in is for administrators only") {
		t.Fatal("the login page does not say password sign-in is for administrators")
	}
}

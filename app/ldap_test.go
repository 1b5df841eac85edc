package app

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"quire/app/config"
	"quire/app/http/api"
	"quire/app/identity/ldaptest"
)

// newLDAP is an instance signing people in against a real slapd; groups
// come from a group search, or from memberOf when memberOf is set.
func newLDAP(t *testing.T, memberOf bool) (*testServer, *ldaptest.Directory) {
	t.Helper()
	dir := ldaptest.Start(t)
	ts := newTestServer(t, func(c *config.Config) {
		c.LDAP = config.LDAP{URL: dir.URL, BindDN: ldaptest.AdminDN, BindPassword: ldaptest.AdminPass, Base: ldaptest.People, AllowSignup: true}
		if !memberOf {
			c.LDAP.GroupBase = ldaptest.Groups
		}
	})
	ts.quickUser("root")
	return ts, dir
}

func ldapLogin(ts *testServer, username, password string) response {
	return ts.do(req{method: "POST", path: "/api/auth/ldap/login", body: map[string]string{"username": username, "password": password}})
}

func TestLDAPSignInRefusesInjectionAndEmptyPasswords(t *testing.T) {
	ts, dir := newLDAP(t, false)
	dir.AddPerson("alice", "Alice Liddell", "alice@example.org", "alice-pw")
	dir.AddPerson("bob", "Bob", "bob@example.org", "bob-pw")

	if page := ts.must(200, req{method: "GET", path: "/login"}); !strings.Contains(string(page.Body), `data-api="/api/auth/ldap/login"`) {
		t.Fatal("the login page has no directory form")
	}
	res := ldapLogin(ts, "alice", "alice-pw")
	if res.Status != 200 {
		t.Fatalf("login: %d %s", res.Status, res.Body)
	}
	var out struct {
		User  api.UserJSON
		Token string
	}
	res.json(&out)
	if out.User.Email != "alice@example.org" || out.User.Name != "Alice Liddell" || sessionOf(res) == "" {
		t.Fatalf("signed in as %+v", out.User)
	}
	// The second sign-in finds the same account by the entry's entryUUID.
	var again struct{ User api.UserJSON }
	ts.must(200, req{method: "POST", path: "/api/auth/ldap/login", body: map[string]string{"username": "alice", "password": "alice-pw"}}).json(&again)
	if again.User.ID != out.User.ID {
		t.Fatalf("a second account: %d, first %d", again.User.ID, out.User.ID)
	}

	for name, c := range map[string]struct {
		username, password string
		status             int
	}{
		"wrong password":               {"alice", "bob-pw", 401},
		"unknown person":               {"carol", "alice-pw", 401},
		"filter injection (any uid)":   {"*)(uid=*", "alice-pw", 401},
		"filter injection (wildcard)":  {"*", "alice-pw", 401},
		"filter injection (or branch)": {"alice)(|(uid=*", "alice-pw", 401},
		"another's password by OR":     {"bob)(uid=alice", "alice-pw", 401},
		// Each of these finds exactly Alice when the filter is not escaped.
		"prefix wildcard":    {"al*", "alice-pw", 401},
		"inner wildcard":     {"a*e", "alice-pw", 401},
		"closing the filter": {"alice)(uid=*", "alice-pw", 401},
		// An empty password is an unauthenticated bind, which LDAP accepts.
		"empty password":        {"alice", "", 400},
		"control characters":    {"ali\x00ce", "alice-pw", 400},
		"newline":               {"ali\nce", "alice-pw", 400},
		"oversized username":    {strings.Repeat("a", 300), "alice-pw", 400},
		"empty username":        {"", "alice-pw", 400},
		"oversized password":    {"alice", strings.Repeat("p", 2000), 400},
		"password of the admin": {"admin", ldaptest.AdminPass, 401},
		"a DN as username":      {ldaptest.AdminDN, ldaptest.AdminPass, 401},
		"spaces for a password": {"bob", "   ", 401},
	} {
		if res := ldapLogin(ts, c.username, c.password); res.Status != c.status || sessionOf(res) != "" {
			t.Errorf("%s: %d %s", name, res.Status, res.Body)
		}
	}
}

func TestLDAPFailuresAreLimited(t *testing.T) {
	ts, dir := newLDAP(t, false)
	dir.AddPerson("alice", "Alice", "alice@example.org", "alice-pw")
	for range 5 {
		if res := ldapLogin(ts, "alice", "guess"); res.Status != 401 {
			t.Fatalf("a wrong guess: %d %s", res.Status, res.Body)
		}
	}
	if res := ldapLogin(ts, "alice", "alice-pw"); res.Status != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("the sixth try: %d %s", res.Status, res.Body)
	}
}

func TestLDAPGroupsBecomeTeamsAtSignInAndSync(t *testing.T) {
	for _, memberOf := range []bool{false, true} {
		t.Run("memberOf="+strconv.FormatBool(memberOf), func(t *testing.T) {
			ts, dir := newLDAP(t, memberOf)
			aliceDN := dir.AddPerson("alice", "Alice", "alice@example.org", "alice-pw")
			bobDN := dir.AddPerson("bob", "Bob", "bob@example.org", "bob-pw")
			staff := dir.AddGroup("staff", aliceDN, bobDN)
			support := dir.AddGroup("support", aliceDN)

			owner := ts.quickUser("owner")
			ws := ts.createWorkspace(owner, "Acme")
			base := "/api/workspaces/" + ws.ID
			var team api.TeamJSON
			ts.must(201, req{method: "POST", path: base + "/teams", token: owner.token, body: map[string]string{"name": "Support"}}).json(&team)
			ts.must(201, req{method: "POST", path: base + "/group-rules", token: owner.token, body: map[string]any{"group": staff, "role": "member"}})
			ts.must(201, req{method: "POST", path: base + "/group-rules", token: owner.token, body: map[string]any{"group": support, "team_id": team.ID}})

			var out struct{ User api.UserJSON }
			ts.must(200, req{method: "POST", path: "/api/auth/ldap/login", body: map[string]string{"username": "alice", "password": "alice-pw"}}).json(&out)
			inTeam := func() bool {
				var got api.TeamJSON
				ts.must(200, req{method: "GET", path: base + "/teams/" + strconv.FormatInt(team.ID, 10), token: owner.token}).json(&got)
				for _, m := range got.Members {
					if m.UserID == out.User.ID {
						return true
					}
				}
				return false
			}
			if !inTeam() {
				t.Fatal("in the support group, Alice is not in the team")
			}

			// Out of the group in the directory: the sync (without a sign-in) takes the team.
			dir.SetMembers(support, bobDN)
			if n, err := ts.srv.identity.SyncLDAP(context.Background()); err != nil || n != 1 {
				t.Fatalf("sync: %d, %v", n, err)
			}
			if inTeam() {
				t.Fatal("after the sync Alice is still in the team")
			}
			if _, err := ts.store.GetMember(context.Background(), ws.ID, out.User.ID); err != nil {
				t.Fatalf("still in staff, Alice left the workspace: %v", err)
			}
			// Her entry deleted: the sync takes the workspace too.
			dir.SetMembers(staff, bobDN)
			dir.Delete(aliceDN)
			if _, err := ts.srv.identity.SyncLDAP(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := ts.store.GetMember(context.Background(), ws.ID, out.User.ID); err == nil {
				t.Fatal("gone from the directory, Alice is still a member")
			}
		})
	}
}

func TestProvidersThatAreDownSayWhy(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) {
		c.LDAP = config.LDAP{URL: "ldap://127.0.0.1:1", Base: ldaptest.People}
		c.OIDC = []config.OIDC{{Name: "down", Issuer: "http://127.0.0.1:1", ClientID: "quire"}}
	})
	if res := ldapLogin(ts, "alice", "alice-pw"); res.Status != 503 || res.errCode() != "provider_unavailable" {
		t.Fatalf("directory down: %d %s", res.Status, res.Body)
	}
	if res := ts.do(req{method: "GET", path: "/auth/oidc/down"}); res.Status != 503 || !strings.Contains(string(res.Body), "cannot be reached to sign in") {
		t.Fatalf("provider down: %d %s", res.Status, res.Body)
	}
}

package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"quire/store"
)

func adminUserPath(id int64, suffix string) string {
	return fmt.Sprintf("/api/admin/users/%d%s", id, suffix)
}

// tokenOf is the token query parameter of a mailed link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("no token in %q", link)
	}
	return u.Query().Get("token")
}

func login(ts *testServer, email, password string) response {
	return ts.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": password}})
}

// An admin creates an account without ever knowing its password: the person
// gets a link (mailed, or in the outbox) to choose one.
func TestAdminCreatesUser(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	email := uniqueEmail("newbie")
	var out struct {
		ID          int64  `json:"id"`
		Status      string `json:"status"`
		IsAdmin     bool   `json:"is_admin"`
		PasswordURL string `json:"password_url"`
	}
	ts.must(201, req{method: "POST", path: "/api/admin/users", token: root.token, body: map[string]any{"email": " " + strings.ToUpper(email), "name": "New Bie"}}).json(&out)
	if out.Status != "active" || out.IsAdmin {
		t.Fatalf("created %+v", out)
	}
	mails, _ := ts.store.ListMail(context.Background(), 0, 10)
	if len(mails) == 0 || mails[0].To != email || !strings.Contains(mails[0].Body, out.PasswordURL) {
		t.Fatalf("no mail with the link to %s: %+v", email, mails)
	}
	if res := login(ts, email, testPassword); res.Status != 401 {
		t.Fatalf("a made-up password signed in: %d", res.Status)
	}
	ts.must(204, req{method: "POST", path: "/api/auth/password-reset/confirm", body: map[string]string{"token": tokenOf(t, out.PasswordURL), "password": "chosen-by-me"}})
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": "chosen-by-me"}})
	// The link works once.
	ts.must(400, req{method: "POST", path: "/api/auth/password-reset/confirm", body: map[string]string{"token": tokenOf(t, out.PasswordURL), "password": "someone-else"}})

	// Hostile input names its field and creates nothing.
	for name, body := range map[string]map[string]any{
		"taken address":     {"email": email},
		"control character": {"email": "a\x00b@example.com"},
		"header injection":  {"email": "x@example.com\r\nBcc: all@example.com"},
		"not an address":    {"email": "nobody"},
		"huge name":         {"email": uniqueEmail("huge"), "name": strings.Repeat("n", 201)},
	} {
		res := ts.do(req{method: "POST", path: "/api/admin/users", token: root.token, body: body})
		if res.Status != 400 {
			t.Errorf("%s: status %d: %s", name, res.Status, res.Body)
		}
	}
	if n, _ := ts.store.UserCount(context.Background()); n != 2 {
		t.Fatalf("%d accounts, want root and the new one", n)
	}
	// An ordinary user cannot.
	other := ts.signup("other")
	ts.must(403, req{method: "POST", path: "/api/admin/users", token: other.token, body: map[string]any{"email": uniqueEmail("sneaky"), "is_admin": true}})
}

// Deactivating signs someone out at once — the session they are using and
// their API keys — and they cannot sign back in; reactivating lets them sign
// in again but brings no old session back.
func TestAdminDeactivatesUser(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	u := ts.signup("worker")
	var key struct{ Token string }
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: u.token, body: map[string]string{"name": "script"}}).json(&key)
	ts.must(200, req{method: "GET", path: "/api/me", token: u.token})

	ts.must(200, req{method: "PATCH", path: adminUserPath(u.ID, ""), token: root.token, body: map[string]bool{"disabled": true}})
	for name, tok := range map[string]string{"session": u.token, "API key": key.Token} {
		if res := ts.do(req{method: "GET", path: "/api/me", token: tok}); res.Status != 401 {
			t.Errorf("the deactivated user's %s still works: %d", name, res.Status)
		}
	}
	if res := login(ts, u.Email, testPassword); res.Status != 401 {
		t.Fatalf("login of a deactivated account: %d %s", res.Status, res.Body)
	}
	ts.must(200, req{method: "PATCH", path: adminUserPath(u.ID, ""), token: root.token, body: map[string]bool{"disabled": false}})
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": testPassword}})
	if res := ts.do(req{method: "GET", path: "/api/me", token: key.Token}); res.Status != 401 {
		t.Fatal("reactivating brought a revoked API key back")
	}
}

// An admin cannot lock themselves out, or leave the instance without an
// active administrator, through any door.
func TestAdminCannotRemoveThemselvesOrTheLastAdmin(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	for name, r := range map[string]req{
		"deactivate self": {method: "PATCH", path: adminUserPath(root.ID, ""), body: map[string]bool{"disabled": true}},
		"demote self":     {method: "PATCH", path: adminUserPath(root.ID, ""), body: map[string]bool{"is_admin": false}},
		"delete self":     {method: "DELETE", path: adminUserPath(root.ID, "")},
		"delete account":  {method: "DELETE", path: "/api/me", body: map[string]string{"current_password": testPassword}},
	} {
		r.token = root.token
		if res := ts.do(r); res.Status != 409 {
			t.Errorf("%s: status %d, want 409: %s", name, res.Status, res.Body)
		}
	}
	if me := ts.must(200, req{method: "GET", path: "/api/me", token: root.token}); !strings.Contains(string(me.Body), `"is_admin":true`) {
		t.Fatalf("root is no longer an admin: %s", me.Body)
	}
	// With a second admin, each may remove the other, and the survivor is last.
	second := ts.signup("second")
	ts.must(200, req{method: "PATCH", path: adminUserPath(second.ID, ""), token: root.token, body: map[string]bool{"is_admin": true}})
	ts.must(204, req{method: "DELETE", path: adminUserPath(root.ID, ""), token: second.token})
	ts.must(409, req{method: "DELETE", path: "/api/me", token: second.token, body: map[string]string{"current_password": testPassword}})
	for _, id := range []string{"0", "-1", "abc", "99999", "1e3"} {
		ts.must(404, req{method: "DELETE", path: "/api/admin/users/" + id, token: second.token})
		ts.must(404, req{method: "POST", path: "/api/admin/users/" + id + "/password-reset", token: second.token})
	}
}

// Deleting someone deletes the workspaces they own alone and is refused,
// naming them, for a workspace others use until its ownership moves.
func TestAdminDeletesUserAndTheirWorkspaces(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	owner := ts.signup("owner")
	colleague := ts.signup("colleague")
	alone := ts.createWorkspace(owner, "Scratch")
	shared := ts.createWorkspace(owner, "Team space")
	ts.addMember(shared, owner, colleague, "member")

	res := ts.must(409, req{method: "DELETE", path: adminUserPath(owner.ID, ""), token: root.token})
	if !strings.Contains(string(res.Body), "Team space") || strings.Contains(string(res.Body), "Scratch") {
		t.Fatalf("the refusal does not name the shared workspace (only): %s", res.Body)
	}
	page := string(ts.must(200, req{method: "GET", path: "/admin", token: root.token}).Body)
	if !strings.Contains(page, "Team space") {
		t.Fatal("the users page does not say which workspace blocks the deletion")
	}
	ts.must(200, req{method: "POST", path: "/api/workspaces/" + shared.ID + "/transfer", token: owner.token, body: map[string]int64{"user_id": colleague.ID}})
	ts.must(204, req{method: "DELETE", path: adminUserPath(owner.ID, ""), token: root.token})
	if _, err := ts.store.UserByID(context.Background(), owner.ID); err == nil {
		t.Fatal("the account is still there")
	}
	ts.must(404, req{method: "GET", path: "/api/workspaces/" + alone.ID, token: colleague.token})
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + shared.ID, token: colleague.token})
	if res := ts.do(req{method: "GET", path: "/api/me", token: owner.token}); res.Status != 401 {
		t.Fatal("the deleted user's session still works")
	}
}

// A reset an admin starts is a single-use link; using it signs the person out
// everywhere.
func TestAdminResetsPassword(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	u := ts.signup("forgetful")
	var out struct {
		Email       string
		PasswordURL string `json:"password_url"`
	}
	ts.must(200, req{method: "POST", path: adminUserPath(u.ID, "/password-reset"), token: root.token}).json(&out)
	if out.Email != u.Email {
		t.Fatalf("the reset names %q, want %s", out.Email, u.Email)
	}
	ts.must(200, req{method: "GET", path: "/api/me", token: u.token}) // until the link is used
	ts.must(204, req{method: "POST", path: "/api/auth/password-reset/confirm", body: map[string]string{"token": tokenOf(t, out.PasswordURL), "password": "brand-new-pass"}})
	if res := ts.do(req{method: "GET", path: "/api/me", token: u.token}); res.Status != 401 {
		t.Fatal("the old session survived the reset")
	}
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": u.Email, "password": "brand-new-pass"}})
}

// Under the approval policy a signup waits: no session, no sign-in, until an
// admin approves it; a rejected one is gone; an invitation needs no approval.
func TestSignupApproval(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: root.token, body: map[string]string{"signup_policy": "approval"}})

	email := uniqueEmail("hopeful")
	res := ts.must(202, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": email, "password": testPassword, "name": "Hopeful"}})
	if strings.Contains(string(res.Body), `"token"`) || res.Header.Get("Set-Cookie") != "" {
		t.Fatalf("a pending signup got a session: %s", res.Body)
	}
	var pending struct {
		User struct{ ID int64 }
	}
	res.json(&pending)
	if r := login(ts, email, testPassword); r.Status != 403 || !strings.Contains(string(r.Body), "approval") {
		t.Fatalf("login while pending: %d %s", r.Status, r.Body)
	}
	if r := login(ts, email, "not-the-password"); r.Status != 401 {
		t.Fatalf("a wrong password learns that the account waits: %d", r.Status)
	}
	// Nor can a password reset sneak it in.
	ts.must(204, req{method: "POST", path: "/api/auth/password-reset", body: map[string]string{"email": email}})
	ts.must(409, req{method: "POST", path: adminUserPath(pending.User.ID, "/password-reset"), token: root.token})

	var list struct {
		Items []struct {
			Email  string
			Status string
		}
	}
	ts.must(200, req{method: "GET", path: "/api/admin/users", token: root.token}).json(&list)
	found := false
	for _, it := range list.Items {
		found = found || (it.Email == email && it.Status == "pending")
	}
	if !found {
		t.Fatalf("the admin's list does not show the pending signup: %+v", list.Items)
	}
	if page := string(ts.must(200, req{method: "GET", path: "/admin", token: root.token}).Body); !strings.Contains(page, `id="pending"`) || !strings.Contains(page, email) {
		t.Fatal("the users page does not list the signup waiting for approval")
	}

	ts.must(200, req{method: "POST", path: adminUserPath(pending.User.ID, "/approve"), token: root.token})
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": testPassword}})
	ts.must(409, req{method: "POST", path: adminUserPath(pending.User.ID, "/approve"), token: root.token})
	mails, _ := ts.store.ListMail(context.Background(), 0, 10)
	if len(mails) == 0 || mails[0].To != email || !strings.Contains(mails[0].Subject, "approved") {
		t.Fatalf("no approval mail: %+v", mails)
	}

	// Rejecting deletes the request.
	var other struct {
		User struct{ ID int64 }
	}
	ts.must(202, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": uniqueEmail("rejected"), "password": testPassword}}).json(&other)
	ts.must(204, req{method: "DELETE", path: adminUserPath(other.User.ID, ""), token: root.token})
	if _, err := ts.store.UserByID(context.Background(), other.User.ID); err != store.ErrNotFound {
		t.Fatalf("the rejected signup is still there: %v", err)
	}

	// An invitation is a workspace admin vouching: no approval.
	ws := ts.createWorkspace(root, "Invited")
	var inv struct {
		InviteURL string `json:"invite_url"`
	}
	invited := uniqueEmail("invited")
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: root.token, body: map[string]string{"email": invited, "role": "member"}}).json(&inv)
	_, secret, _ := strings.Cut(inv.InviteURL, "/invite/")
	ts.must(201, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": invited, "password": testPassword, "invitation_token": secret}})
}

package app

import (
	"fmt"
	"strings"
	"testing"

	"quire/app/http/api"
)

// The attacker's story: an instance administrator creates a personal API key
// for one workspace (say, for a CI job), and the key leaks. docs/API.md confines
// it to that workspace: its routes, /v1 and the caller's own /api/me reads.
func TestBoundKeyStaysInItsWorkspace(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root") // the instance's first user is its administrator
	if !root.IsAdmin {
		t.Fatal("the first user is not an instance admin")
	}
	colleague := ts.signup("colleague")
	ci, private := ts.createWorkspace(root, "CI"), ts.createWorkspace(root, "Private board")
	ts.addMember(ci, root, colleague, "member")
	ts.addMember(private, root, colleague, "member")
	// A live invitation (its link sits in the outbox) and a chat shared with root in each workspace.
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + private.ID + "/invitations", token: root.token,
		body: map[string]string{"email": uniqueEmail("invitee"), "role": "admin"}})
	for _, ws := range []api.WorkspaceJSON{ci, private} {
		var ch api.ChatJSON
		ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/chats", token: colleague.token, body: map[string]string{"name": "Chat in " + ws.Name}}).json(&ch)
		ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/chats/" + ch.ID + "/shares", token: colleague.token, body: map[string]int64{"user_id": root.ID}})
	}
	var key api.TokenJSON
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: root.token, body: map[string]string{"name": "ci", "workspace_id": ci.ID}}).json(&key)

	// Instance administration, live invite and reset links, backups and metrics: refused.
	for _, r := range []req{
		{method: "GET", path: "/api/admin/users"},
		{method: "PATCH", path: fmt.Sprintf("/api/admin/users/%d", colleague.ID), body: map[string]bool{"is_admin": true}},
		{method: "GET", path: "/api/admin/settings"},
		{method: "PATCH", path: "/api/admin/settings", body: map[string]string{"signup_policy": "open"}},
		{method: "GET", path: "/api/admin/outbox"},
		{method: "POST", path: "/api/admin/backups"},
		{method: "GET", path: "/api/admin/backups"},
		{method: "GET", path: "/metrics"},
		// Another workspace of the same person, existing or not: the same 403.
		{method: "GET", path: "/api/workspaces/" + private.ID},
		{method: "GET", path: "/api/workspaces/" + private.ID + "/chats"},
		{method: "GET", path: "/api/workspaces/00000000-0000-0000-0000-000000000000"},
		// Account-wide actions.
		{method: "POST", path: "/api/me/password", body: map[string]string{"current_password": testPassword, "new_password": "taken-over-1"}},
		{method: "DELETE", path: "/api/me", body: map[string]string{"current_password": testPassword}},
		{method: "PATCH", path: "/api/me", body: map[string]string{"name": "Owned"}},
		{method: "POST", path: "/api/me/tokens", body: map[string]string{"name": "more", "workspace_id": ci.ID}},
		{method: "POST", path: "/api/me/tokens", body: map[string]string{"name": "unbound"}},
		{method: "GET", path: "/api/me/tokens"},
		{method: "POST", path: "/api/workspaces", body: map[string]string{"name": "Mine now"}},
		{method: "GET", path: "/api/me/invitations"},
		{method: "GET", path: "/api/me/usage"},
	} {
		r.token = key.Token
		if res := ts.do(r); res.Status != 403 || (strings.HasPrefix(r.path, "/api/") && res.errCode() != "forbidden") {
			t.Errorf("%s %s with a bound key: %d %s", r.method, r.path, res.Status, res.Body)
		}
	}
	if res := ts.must(200, req{method: "GET", path: "/api/admin/users", token: root.token}); !strings.Contains(string(res.Body), colleague.Email) {
		t.Fatalf("the session lost instance administration: %s", res.Body)
	}
	// Lists across workspaces show the key's workspace only.
	var wss api.List[api.WorkspaceJSON]
	ts.must(200, req{method: "GET", path: "/api/workspaces", token: key.Token}).json(&wss)
	if len(wss.Items) != 1 || wss.Items[0].ID != ci.ID || wss.Items[0].Role != "owner" {
		t.Fatalf("a bound key lists workspaces %+v", wss.Items)
	}
	ts.must(200, req{method: "GET", path: "/api/workspaces", token: root.token}).json(&wss)
	if len(wss.Items) != 2 {
		t.Fatalf("the session lists %d workspaces, want 2", len(wss.Items))
	}
	var shared api.List[api.ChatJSON]
	ts.must(200, req{method: "GET", path: "/api/me/shared-chats", token: key.Token}).json(&shared)
	if len(shared.Items) != 1 || shared.Items[0].WorkspaceID != ci.ID {
		t.Fatalf("a bound key reads shared chats %+v", shared.Items)
	}
	// Its own workspace and the caller's own profile stay reachable.
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + ci.ID + "/members", token: key.Token})
	ts.must(200, req{method: "GET", path: "/api/me", token: key.Token})
	// The web UI does not take the key as a session: its layout would list every workspace.
	for _, path := range []string{"/login", "/no-such-page", "/w/" + ci.ID, "/admin"} {
		res := ts.do(req{method: "GET", path: path, token: key.Token})
		if strings.Contains(string(res.Body), private.ID) || strings.Contains(string(res.Body), "Private board") {
			t.Errorf("%s with a bound key shows the other workspace (%d)", path, res.Status)
		}
	}
	// The password was not changed and the account is still there.
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": root.Email, "password": testPassword}})
	// A key may still sign itself out, which revokes only the key.
	ts.must(204, req{method: "POST", path: "/api/auth/logout", token: key.Token})
	ts.must(401, req{method: "GET", path: "/api/me", token: key.Token})
	ts.must(200, req{method: "GET", path: "/api/me", token: root.token})
}

// A key without a workspace acts as its owner everywhere: that is what
// Prometheus uses for /metrics.
func TestUnboundKeyKeepsInstanceAdministration(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	var key api.TokenJSON
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: root.token, body: map[string]string{"name": "prometheus"}}).json(&key)
	ts.must(200, req{method: "GET", path: "/metrics", token: key.Token})
	ts.must(200, req{method: "GET", path: "/api/admin/users", token: key.Token})
}

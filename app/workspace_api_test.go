package app

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"quire/app/http/api"
)

func TestMemberManagementRules(t *testing.T) {
	ts := newTestServer(t)
	owner, admin, member := ts.signup("owner"), ts.signup("admin"), ts.signup("member")
	ws := ts.createWorkspace(owner, "Acme")
	if ws.Role != "owner" || ws.OwnerID != owner.ID || ws.Plan == "" {
		t.Fatalf("created workspace %+v", ws)
	}
	ts.addMember(ws, owner, admin, "admin")
	ts.addMember(ws, admin, member, "member") // admins add people too
	base := "/api/workspaces/" + ws.ID
	// Adding twice → 409; a malformed email → 400 on the email field.
	ts.must(409, req{method: "POST", path: base + "/members", token: owner.token, body: map[string]string{"email": member.Email}})
	if res := ts.must(400, req{method: "POST", path: base + "/members", token: owner.token, body: map[string]string{"email": "ghost-at-example.com"}}); res.errField() != "email" {
		t.Fatalf("malformed email: %s", res.Body)
	}
	ownerPath := fmt.Sprintf("%s/members/%d", base, owner.ID)
	memberPath := fmt.Sprintf("%s/members/%d", base, member.ID)
	// Nobody changes or removes the owner; nobody is promoted to owner.
	ts.must(403, req{method: "PATCH", path: ownerPath, token: admin.token, body: map[string]string{"role": "member"}})
	ts.must(403, req{method: "DELETE", path: ownerPath, token: admin.token})
	ts.must(403, req{method: "PATCH", path: memberPath, token: owner.token, body: map[string]string{"role": "owner"}})
	if res := ts.must(400, req{method: "PATCH", path: memberPath, token: owner.token, body: map[string]string{"role": "boss"}}); res.errField() != "role" {
		t.Fatalf("bad role: %s", res.Body)
	}
	// Members cannot manage members.
	ts.must(403, req{method: "PATCH", path: memberPath, token: member.token, body: map[string]string{"role": "admin"}})
	// Promote, then list shows it.
	ts.must(200, req{method: "PATCH", path: memberPath, token: admin.token, body: map[string]string{"role": "admin"}})
	var members api.List[api.MemberJSON]
	ts.must(200, req{method: "GET", path: base + "/members", token: member.token}).json(&members)
	roles := map[int64]string{}
	for _, m := range members.Items {
		roles[m.UserID] = m.Role
	}
	if roles[owner.ID] != "owner" || roles[admin.ID] != "admin" || roles[member.ID] != "admin" || len(roles) != 3 {
		t.Fatalf("members %+v", members.Items)
	}
	// Removing someone takes their access away at once.
	ts.must(204, req{method: "DELETE", path: memberPath, token: admin.token})
	ts.must(404, req{method: "GET", path: base, token: member.token})
	ts.must(404, req{method: "DELETE", path: memberPath, token: admin.token})
}

func TestTransferLeaveAndDelete(t *testing.T) {
	ts := newTestServer(t)
	ts.signup("root") // the instance's admin: the owner below is an ordinary account
	owner, member, outsider := ts.signup("owner"), ts.signup("member"), ts.signup("outsider")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, member, "member")
	base := "/api/workspaces/" + ws.ID
	// The owner cannot leave or delete their account while others depend on the workspace.
	ts.must(409, req{method: "POST", path: base + "/leave", token: owner.token})
	ts.must(409, req{method: "DELETE", path: "/api/me", token: owner.token, body: map[string]string{"current_password": testPassword}})
	// Transfer only to a member.
	if res := ts.must(400, req{method: "POST", path: base + "/transfer", token: owner.token, body: map[string]int64{"user_id": outsider.ID}}); res.errField() != "user_id" {
		t.Fatalf("transfer to outsider: %s", res.Body)
	}
	var after api.WorkspaceJSON
	ts.must(200, req{method: "POST", path: base + "/transfer", token: owner.token, body: map[string]int64{"user_id": member.ID}}).json(&after)
	if after.OwnerID != member.ID || after.Role != "admin" {
		t.Fatalf("after transfer %+v", after)
	}
	// The old owner is now an admin: cannot delete, can leave.
	ts.must(403, req{method: "DELETE", path: base, token: owner.token})
	ts.must(204, req{method: "POST", path: base + "/leave", token: owner.token})
	ts.must(404, req{method: "GET", path: base, token: owner.token})
	// The new owner deletes it; it is gone for everyone.
	ts.must(204, req{method: "DELETE", path: base, token: member.token})
	ts.must(404, req{method: "GET", path: base, token: member.token})
	// Now the old owner can delete their account (they own nothing shared).
	ts.must(400, req{method: "DELETE", path: "/api/me", token: owner.token, body: map[string]string{"current_password": "wrong-password"}})
	ts.must(204, req{method: "DELETE", path: "/api/me", token: owner.token, body: map[string]string{"current_password": testPassword}})
	ts.must(401, req{method: "GET", path: "/api/me", token: owner.token})
	ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": owner.Email, "password": testPassword}})
}

func TestAPIKeys(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("scripter")
	ws1, ws2 := ts.createWorkspace(u, "One"), ts.createWorkspace(u, "Two")
	var key api.TokenJSON
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: u.token, body: map[string]string{"name": "ci", "workspace_id": ws1.ID}}).json(&key)
	if key.Token == "" || key.WorkspaceID == nil || *key.WorkspaceID != ws1.ID {
		t.Fatalf("key %+v", key)
	}
	// The key reaches its workspace and no other (docs/API.md: 403).
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + ws1.ID, token: key.Token})
	ts.must(403, req{method: "GET", path: "/api/workspaces/" + ws2.ID, token: key.Token})
	// Listing never shows the secret again.
	var keys api.List[api.TokenJSON]
	ts.must(200, req{method: "GET", path: "/api/me/tokens", token: u.token}).json(&keys)
	if len(keys.Items) != 1 || keys.Items[0].Token != "" || keys.Items[0].LastUsedAt == nil {
		t.Fatalf("keys %+v", keys.Items)
	}
	// A key for a workspace the user is not in is refused.
	other := ts.signup("other")
	ws3 := ts.createWorkspace(other, "Theirs")
	if res := ts.must(400, req{method: "POST", path: "/api/me/tokens", token: u.token, body: map[string]string{"name": "x", "workspace_id": ws3.ID}}); res.errField() != "workspace_id" {
		t.Fatalf("foreign workspace key: %s", res.Body)
	}
	// Another user cannot revoke it; its owner can, and it stops working.
	path := "/api/me/tokens/" + strconv.FormatInt(key.ID, 10)
	ts.must(404, req{method: "DELETE", path: path, token: other.token})
	ts.must(204, req{method: "DELETE", path: path, token: u.token})
	ts.must(401, req{method: "GET", path: "/api/workspaces/" + ws1.ID, token: key.Token})
}

func TestAdminUsersAndOutbox(t *testing.T) {
	ts := newTestServer(t)
	root, bob := ts.signup("root"), ts.signup("bob")
	// Disabling revokes sessions and blocks login.
	ts.must(200, req{method: "PATCH", path: fmt.Sprintf("/api/admin/users/%d", bob.ID), token: root.token, body: map[string]bool{"disabled": true}})
	ts.must(401, req{method: "GET", path: "/api/me", token: bob.token})
	ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": bob.Email, "password": testPassword}})
	// The last admin cannot demote or disable themselves.
	ts.must(409, req{method: "PATCH", path: fmt.Sprintf("/api/admin/users/%d", root.ID), token: root.token, body: map[string]bool{"is_admin": false}})
	ts.must(404, req{method: "PATCH", path: "/api/admin/users/99999", token: root.token, body: map[string]bool{"is_admin": false}})
	// Reset mail lands in the outbox the admin reads.
	ts.must(204, req{method: "POST", path: "/api/auth/password-reset", body: map[string]string{"email": root.Email}})
	var mails api.List[api.MailJSON]
	ts.must(200, req{method: "GET", path: "/api/admin/outbox", token: root.token}).json(&mails)
	if len(mails.Items) != 1 || mails.Items[0].To != root.Email || mails.Items[0].Sent {
		t.Fatalf("outbox %+v", mails.Items)
	}
}

func TestPagination(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("pager")
	made := map[string]bool{}
	for i := range 5 {
		made[ts.createWorkspace(u, fmt.Sprintf("W%d", i)).ID] = true
	}
	seen := map[string]bool{}
	path := "/api/workspaces?limit=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var l api.List[api.WorkspaceJSON]
		ts.must(200, req{method: "GET", path: path, token: u.token}).json(&l)
		for _, w := range l.Items {
			if seen[w.ID] {
				t.Fatalf("workspace %s on two pages", w.ID)
			}
			seen[w.ID] = true
		}
		if l.NextCursor == nil {
			break
		}
		path = "/api/workspaces?limit=2&cursor=" + *l.NextCursor
	}
	if len(seen) != len(made) {
		t.Fatalf("pages gave %d of %d workspaces", len(seen), len(made))
	}
	for _, bad := range []string{"?limit=0", "?limit=201", "?limit=x", "?cursor=%%%"} {
		ts.must(400, req{method: "GET", path: "/api/workspaces" + bad, token: u.token})
	}
}

// A workspace admin cannot put someone into a workspace: POST .../members makes
// an invitation that the person accepts, with the same answer whether or not an
// account uses the address. Only an instance admin adds an account directly.
func TestAddMemberInvitesWithoutEnumeration(t *testing.T) {
	ts := newTestServer(t)
	root := ts.quickUser("root")
	if !root.IsAdmin {
		t.Fatal("the first account is not instance admin")
	}
	owner, victim := ts.quickUser("owner"), ts.quickUser("victim")
	ws := ts.createWorkspace(owner, "Trap")
	base := "/api/workspaces/" + ws.ID
	existing := ts.do(req{method: "POST", path: base + "/members", token: owner.token, body: map[string]string{"email": victim.Email, "role": "admin"}})
	ghost := ts.do(req{method: "POST", path: base + "/members", token: owner.token, body: map[string]string{"email": "ghost@example.com", "role": "admin"}})
	shape := func(r response) []string {
		var m map[string]any
		r.json(&m)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	}
	if existing.Status != 202 || ghost.Status != 202 || fmt.Sprint(shape(existing)) != fmt.Sprint(shape(ghost)) {
		t.Fatalf("existing account: %d %s\nunknown address: %d %s", existing.Status, existing.Body, ghost.Status, ghost.Body)
	}
	// Nobody joined: the victim decides.
	ts.must(404, req{method: "GET", path: base, token: victim.token})
	var members api.List[api.MemberJSON]
	if ts.must(200, req{method: "GET", path: base + "/members", token: owner.token}).json(&members); len(members.Items) != 1 {
		t.Fatalf("members before accepting: %+v", members.Items)
	}
	ts.must(204, req{method: "POST", path: "/api/invitations/" + ts.inviteToken(victim.Email) + "/decline", token: victim.token})
	ts.must(404, req{method: "GET", path: base, token: victim.token})
	// The page does not offer a direct add to a workspace admin.
	page := ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/members", headers: map[string]string{"Cookie": "quire_session=" + owner.token}})
	if strings.Contains(string(page.Body), `id="add-member"`) || !strings.Contains(string(page.Body), `id="invite"`) {
		t.Fatal("members page offers a direct add to a workspace admin")
	}

	// The instance admin adds an existing account at once, within the seats.
	own := ts.createWorkspace(root, "Ops")
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + own.ID + "/members", token: root.token, body: map[string]string{"email": victim.Email}})
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + own.ID, token: victim.token})
	ts.must(202, req{method: "POST", path: "/api/workspaces/" + own.ID + "/members", token: root.token, body: map[string]string{"email": "ghost@example.com"}})
	seats := 3
	if err := ts.store.SetSeatLimit(context.Background(), own.ID, &seats); err != nil {
		t.Fatal(err)
	}
	ts.must(402, req{method: "POST", path: "/api/workspaces/" + own.ID + "/members", token: root.token, body: map[string]string{"email": owner.Email}})
	page = ts.must(200, req{method: "GET", path: "/w/" + own.ID + "/members", headers: map[string]string{"Cookie": "quire_session=" + root.token}})
	if !strings.Contains(string(page.Body), `id="add-member"`) {
		t.Fatal("members page lacks the instance admin's direct add")
	}
}

package app

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"quire/app/config"
	"quire/app/http/api"
)

var inviteLinkRe = regexp.MustCompile(`/invite/(qi_[A-Za-z0-9_-]+)`)

// inviteToken reads the newest invitation link mailed to addr from the outbox.
func (ts *testServer) inviteToken(addr string) string {
	ts.t.Helper()
	mails, _ := ts.store.ListMail(context.Background(), 0, 50)
	for _, m := range mails {
		if m.To == addr {
			if mm := inviteLinkRe.FindStringSubmatch(m.Body); mm != nil {
				return mm[1]
			}
		}
	}
	ts.t.Fatalf("no invitation mail to %s", addr)
	return ""
}

func TestInviteNewPersonIntoTeamOnInviteOnlyInstance(t *testing.T) {
	ts := newTestServer(t)
	owner := ts.signup("owner")
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: owner.token, body: map[string]string{"signup_policy": "invite_only"}})
	ws := ts.createWorkspace(owner, "Acme")
	base := "/api/workspaces/" + ws.ID
	var team api.TeamJSON
	ts.must(201, req{method: "POST", path: base + "/teams", token: owner.token, body: map[string]string{"name": "Support"}}).json(&team)

	email := uniqueEmail("newbie")
	var inv api.InvitationWithLink
	ts.must(201, req{method: "POST", path: base + "/invitations", token: owner.token,
		body: map[string]any{"email": email, "role": "admin", "team_id": team.ID}}).json(&inv)
	if inv.Status != "pending" || inv.TeamID == nil || *inv.TeamID != team.ID || !strings.Contains(inv.InviteURL, "/invite/qi_") {
		t.Fatalf("invitation %+v", inv)
	}
	token := ts.inviteToken(email)
	if !strings.HasSuffix(inv.InviteURL, token) {
		t.Fatal("the mailed link differs from the one given to the admin")
	}
	// Invite-only: a stranger cannot sign up, the invitee can, from the link.
	ts.must(403, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": uniqueEmail("stranger"), "password": testPassword}})
	ts.must(400, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": uniqueEmail("other"), "password": testPassword, "invitation_token": token}})
	var su struct {
		User        api.UserJSON
		Token       string
		WorkspaceID string `json:"workspace_id"`
	}
	ts.must(201, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": email, "password": testPassword, "invitation_token": token}}).json(&su)
	if su.WorkspaceID != ws.ID || !su.User.EmailVerified {
		t.Fatalf("signup from invitation: %+v", su)
	}
	var got api.WorkspaceJSON
	ts.must(200, req{method: "GET", path: base, token: su.Token}).json(&got)
	if got.Role != "admin" {
		t.Fatalf("joined as %q", got.Role)
	}
	ts.must(200, req{method: "GET", path: fmt.Sprintf("%s/teams/%d", base, team.ID), token: su.Token}).json(&team)
	if team.MemberCount != 2 {
		t.Fatalf("team members %+v", team.Members)
	}
	// The link is single use.
	if res := ts.must(410, req{method: "POST", path: "/api/invitations/" + token + "/accept", token: su.Token}); res.errCode() != "gone" {
		t.Fatalf("reused invitation: %s", res.Body)
	}
	var pending api.List[api.InvitationJSON]
	ts.must(200, req{method: "GET", path: base + "/invitations", token: owner.token}).json(&pending)
	if len(pending.Items) != 0 {
		t.Fatalf("accepted invitation still pending: %+v", pending.Items)
	}
}

func TestInvitationRules(t *testing.T) {
	ts := newTestServer(t)
	owner, member, existing := ts.signup("owner"), ts.signup("member"), ts.signup("existing")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, member, "member")
	base := "/api/workspaces/" + ws.ID
	invite := func(email string) (api.InvitationWithLink, response) {
		var inv api.InvitationWithLink
		res := ts.do(req{method: "POST", path: base + "/invitations", token: owner.token, body: map[string]string{"email": email}})
		if res.Status == 201 {
			res.json(&inv)
		}
		return inv, res
	}
	if _, res := invite(member.Email); res.Status != 409 {
		t.Fatalf("inviting a member: %d %s", res.Status, res.Body)
	}
	first, _ := invite(existing.Email)
	if _, res := invite(existing.Email); res.Status != 409 {
		t.Fatalf("inviting twice: %d", res.Status)
	}
	if res := ts.must(400, req{method: "POST", path: base + "/invitations", token: owner.token, body: map[string]any{"email": "x@example.com", "team_id": 999}}); res.errField() != "team_id" {
		t.Fatalf("foreign team: %s", res.Body)
	}
	ts.must(403, req{method: "POST", path: base + "/invitations", token: owner.token, body: map[string]any{"email": "x@example.com", "role": "owner"}})

	// The wrong person cannot use the token.
	token := ts.inviteToken(existing.Email)
	ts.must(403, req{method: "POST", path: "/api/invitations/" + token + "/accept", token: member.token})
	// Resend: a new token replaces the old one.
	var resent api.InvitationWithLink
	ts.must(200, req{method: "POST", path: fmt.Sprintf("%s/invitations/%d/resend", base, first.ID), token: owner.token}).json(&resent)
	newToken := ts.inviteToken(existing.Email)
	if newToken == token || !strings.HasSuffix(resent.InviteURL, newToken) {
		t.Fatal("resend did not issue a new token")
	}
	ts.must(404, req{method: "POST", path: "/api/invitations/" + token + "/accept", token: existing.token})
	// Without the token, only a verified address sees and answers its invitations.
	var mine api.List[api.InvitationJSON]
	ts.must(200, req{method: "GET", path: "/api/me/invitations", token: existing.token}).json(&mine)
	if len(mine.Items) != 0 {
		t.Fatalf("an unverified address sees its invitations: %+v", mine.Items)
	}
	ts.must(403, req{method: "POST", path: fmt.Sprintf("/api/me/invitations/%d/accept", first.ID), token: existing.token})
	for _, u := range []user{existing, member} {
		if err := ts.store.SetEmailVerified(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
	}
	// The verified invitee sees it among their invitations and accepts it there.
	ts.must(200, req{method: "GET", path: "/api/me/invitations", token: existing.token}).json(&mine)
	if len(mine.Items) != 1 || mine.Items[0].WorkspaceName != "Acme" || mine.Items[0].InviterName == "" {
		t.Fatalf("my invitations %+v", mine.Items)
	}
	ts.must(404, req{method: "POST", path: fmt.Sprintf("/api/me/invitations/%d/accept", first.ID), token: member.token})
	ts.must(200, req{method: "POST", path: fmt.Sprintf("/api/me/invitations/%d/accept", first.ID), token: existing.token})
	ts.must(200, req{method: "GET", path: base, token: existing.token})

	// Cancelled and declined invitations are gone.
	third := ts.signup("third")
	inv3, _ := invite(third.Email)
	tok3 := ts.inviteToken(third.Email)
	ts.must(204, req{method: "DELETE", path: fmt.Sprintf("%s/invitations/%d", base, inv3.ID), token: owner.token})
	if res := ts.must(410, req{method: "POST", path: "/api/invitations/" + tok3 + "/accept", token: third.token}); !strings.Contains(string(res.Body), "cancelled") {
		t.Fatalf("cancelled: %s", res.Body)
	}
	ts.must(410, req{method: "DELETE", path: fmt.Sprintf("%s/invitations/%d", base, inv3.ID), token: owner.token})
	fourth := ts.signup("fourth")
	invite(fourth.Email)
	tok4 := ts.inviteToken(fourth.Email)
	ts.must(204, req{method: "POST", path: "/api/invitations/" + tok4 + "/decline", token: fourth.token})
	ts.must(410, req{method: "POST", path: "/api/invitations/" + tok4 + "/accept", token: fourth.token})
	ts.must(404, req{method: "GET", path: base, token: fourth.token})
}

func TestExpiredInvitationIsGone(t *testing.T) {
	ts := newTestServer(t)
	owner, late := ts.signup("owner"), ts.signup("late")
	ws := ts.createWorkspace(owner, "Acme")
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: owner.token, body: map[string]string{"email": late.Email}})
	token := ts.inviteToken(late.Email)
	// As if its lifetime had passed: no store method ages invitations.
	if _, err := ts.rawDB().Exec(`UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE workspace_id = ? AND status = 'pending'`, ws.ID); err != nil {
		t.Fatal(err)
	}
	if res := ts.must(410, req{method: "POST", path: "/api/invitations/" + token + "/accept", token: late.token}); !strings.Contains(string(res.Body), "expired") {
		t.Fatalf("expired: %s", res.Body)
	}
	// An expired invitation no longer blocks a new one.
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: owner.token, body: map[string]string{"email": late.Email}})
}

func TestSeatLimit(t *testing.T) {
	ts := newTestServer(t)
	owner, a, b := ts.signup("owner"), ts.signup("a"), ts.signup("b")
	ws := ts.createWorkspace(owner, "Small")
	limit := 2
	if err := ts.store.SetSeatLimit(context.Background(), ws.ID, &limit); err != nil {
		t.Fatal(err)
	}
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: owner.token, body: map[string]string{"email": a.Email}})
	res := ts.must(402, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: owner.token, body: map[string]string{"email": b.Email}})
	if res.errCode() != "quota_exceeded" || !strings.Contains(string(res.Body), "seat") {
		t.Fatalf("seat limit: %s", res.Body)
	}
	ts.must(402, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/members", token: owner.token, body: map[string]string{"email": b.Email}})
}

func TestTeams(t *testing.T) {
	ts := newTestServer(t)
	owner, lead, member, outsider := ts.signup("owner"), ts.signup("lead"), ts.signup("member"), ts.signup("outsider")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, lead, "member")
	ts.addMember(ws, owner, member, "member")
	base := "/api/workspaces/" + ws.ID
	ts.must(403, req{method: "POST", path: base + "/teams", token: member.token, body: map[string]string{"name": "Rogue"}})
	var team api.TeamJSON
	ts.must(201, req{method: "POST", path: base + "/teams", token: owner.token, body: map[string]string{"name": "Docs", "description": "Writers"}}).json(&team)
	ts.must(409, req{method: "POST", path: base + "/teams", token: owner.token, body: map[string]string{"name": "Docs"}})
	tp := fmt.Sprintf("%s/teams/%d", base, team.ID)
	// Hand the team to a plain member: they now manage it, other members cannot.
	ts.must(400, req{method: "PATCH", path: tp, token: owner.token, body: map[string]int64{"owner_id": outsider.ID}})
	ts.must(200, req{method: "PATCH", path: tp, token: owner.token, body: map[string]int64{"owner_id": lead.ID}})
	ts.must(201, req{method: "POST", path: tp + "/members", token: lead.token, body: map[string]int64{"user_id": member.ID}})
	ts.must(409, req{method: "POST", path: tp + "/members", token: lead.token, body: map[string]int64{"user_id": member.ID}})
	if res := ts.must(400, req{method: "POST", path: tp + "/members", token: lead.token, body: map[string]int64{"user_id": outsider.ID}}); res.errField() != "user_id" {
		t.Fatalf("outsider into team: %s", res.Body)
	}
	ts.must(403, req{method: "DELETE", path: fmt.Sprintf("%s/members/%d", tp, lead.ID), token: member.token})
	ts.must(403, req{method: "PATCH", path: tp, token: member.token, body: map[string]string{"name": "Mine"}})
	// Everyone in the workspace sees who is in which team.
	var teams api.List[api.TeamJSON]
	ts.must(200, req{method: "GET", path: base + "/teams", token: member.token}).json(&teams)
	if len(teams.Items) != 1 || teams.Items[0].MemberCount != 3 || *teams.Items[0].OwnerID != lead.ID {
		t.Fatalf("teams %+v", teams.Items)
	}
	// Leaving the workspace takes someone out of its teams.
	ts.must(204, req{method: "POST", path: base + "/leave", token: member.token})
	ts.must(200, req{method: "GET", path: tp, token: lead.token}).json(&team)
	for _, m := range team.Members {
		if m.UserID == member.ID {
			t.Fatal("a person who left the workspace is still in its team")
		}
	}
	ts.must(404, req{method: "GET", path: tp, token: outsider.token})
	ts.must(204, req{method: "DELETE", path: tp, token: lead.token})
	ts.must(404, req{method: "GET", path: tp, token: owner.token})
}

func TestFolders(t *testing.T) {
	ts := newTestServer(t)
	owner, member := ts.signup("owner"), ts.signup("member")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, member, "member")
	base := "/api/workspaces/" + ws.ID + "/folders"
	var top, child api.FolderJSON
	ts.must(201, req{method: "POST", path: base, token: member.token, body: map[string]string{"name": "Projects"}}).json(&top)
	ts.must(201, req{method: "POST", path: base, token: member.token, body: map[string]any{"name": "Alpha", "parent_id": top.ID}}).json(&child)
	// One level of nesting only, and only inside one's own folders.
	if res := ts.must(400, req{method: "POST", path: base, token: member.token, body: map[string]any{"name": "Deep", "parent_id": child.ID}}); res.errField() != "parent_id" {
		t.Fatalf("deep nesting: %s", res.Body)
	}
	ts.must(400, req{method: "POST", path: base, token: owner.token, body: map[string]any{"name": "Theirs", "parent_id": top.ID}})
	ts.must(400, req{method: "PATCH", path: fmt.Sprintf("%s/%d", base, top.ID), token: member.token, body: map[string]any{"parent_id": child.ID}})
	// Folders are private: the owner of the workspace neither lists nor touches them.
	var l api.List[api.FolderJSON]
	ts.must(200, req{method: "GET", path: base, token: owner.token}).json(&l)
	if len(l.Items) != 0 {
		t.Fatalf("another member's folders listed: %+v", l.Items)
	}
	ts.must(404, req{method: "PATCH", path: fmt.Sprintf("%s/%d", base, top.ID), token: owner.token, body: map[string]string{"name": "Mine"}})
	ts.must(404, req{method: "DELETE", path: fmt.Sprintf("%s/%d", base, top.ID), token: owner.token})
	ts.must(200, req{method: "PATCH", path: fmt.Sprintf("%s/%d", base, top.ID), token: member.token, body: map[string]string{"name": "Work"}})
	// Deleting the parent moves the child up instead of deleting it.
	ts.must(204, req{method: "DELETE", path: fmt.Sprintf("%s/%d", base, top.ID), token: member.token})
	ts.must(200, req{method: "GET", path: base, token: member.token}).json(&l)
	if len(l.Items) != 1 || l.Items[0].ID != child.ID || l.Items[0].ParentID != nil {
		t.Fatalf("after deleting the parent: %+v", l.Items)
	}
}

func TestInvitationTTLConfig(t *testing.T) {
	if d := config.Default().InvitationTTL.Duration.Hours(); d != 7*24 {
		t.Fatalf("default invitation TTL %vh, want 7 days", d)
	}
}

// Registering an invited address first does not give its invitations away:
// without the mailed token, only a verified address sees and answers them, and
// an invite-only instance needs the token to sign up at all.
func TestInvitationNeedsTheMailedTokenOrAVerifiedAddress(t *testing.T) {
	ts := newTestServer(t)
	root := ts.quickUser("root")
	owner := ts.signup("owner")
	ws := ts.createWorkspace(owner, "Acme")
	base := "/api/workspaces/" + ws.ID
	victim := uniqueEmail("victim")
	var inv api.InvitationWithLink
	ts.must(201, req{method: "POST", path: base + "/invitations", token: owner.token, body: map[string]string{"email": victim, "role": "admin"}}).json(&inv)

	// The attacker signs up with the victim's address (open signup) but has no token.
	var attacker struct{ Token string }
	ts.must(201, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": victim, "password": testPassword}}).json(&attacker)
	var mine api.List[api.InvitationJSON]
	if ts.must(200, req{method: "GET", path: "/api/me/invitations", token: attacker.Token}).json(&mine); len(mine.Items) != 0 {
		t.Fatalf("an unverified account sees the invitations to its address: %+v", mine.Items)
	}
	for _, action := range []string{"accept", "decline"} {
		res := ts.must(403, req{method: "POST", path: fmt.Sprintf("/api/me/invitations/%d/%s", inv.ID, action), token: attacker.Token})
		if msg := string(res.Body); !strings.Contains(msg, "invitation mail") || !strings.Contains(msg, "verif") {
			t.Fatalf("403 does not say what to do: %s", msg)
		}
	}
	ts.must(404, req{method: "GET", path: base, token: attacker.Token})
	page := ts.must(200, req{method: "GET", path: "/invitations", headers: map[string]string{"Cookie": "quire_session=" + attacker.Token}})
	if !strings.Contains(string(page.Body), `id="unverified"`) || strings.Contains(string(page.Body), "Acme") {
		t.Fatal("the invitations page shows an unverified account what was sent to its address")
	}
	var pending api.List[api.InvitationJSON]
	if ts.must(200, req{method: "GET", path: base + "/invitations", token: owner.token}).json(&pending); len(pending.Items) != 1 {
		t.Fatalf("the invitation is no longer pending: %+v", pending.Items)
	}

	// Invite-only: an invited address alone does not open signup; the token does.
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: root.token, body: map[string]string{"signup_policy": "invite_only"}})
	invited := uniqueEmail("invited")
	ts.must(201, req{method: "POST", path: base + "/invitations", token: owner.token, body: map[string]string{"email": invited}})
	res := ts.must(403, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": invited, "password": testPassword}})
	if !strings.Contains(string(res.Body), "invitation mail") {
		t.Fatalf("invite-only refusal does not point to the mail: %s", res.Body)
	}
	ts.must(400, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": invited, "password": testPassword, "invitation_token": "qi_guessed"}})
	ts.must(201, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": invited, "password": testPassword, "invitation_token": ts.inviteToken(invited)}})
}

// Answering with the mailed token proves the address: afterwards the account's
// invitations can be answered without a token too.
func TestMailedTokenVerifiesTheAddress(t *testing.T) {
	ts := newTestServer(t)
	ts.quickUser("root")
	owner, u := ts.signup("owner"), ts.signup("invitee")
	if u.EmailVerified {
		t.Fatal("a plain signup starts verified")
	}
	a, b := ts.createWorkspace(owner, "A"), ts.createWorkspace(owner, "B")
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + a.ID + "/invitations", token: owner.token, body: map[string]string{"email": u.Email}})
	ts.must(200, req{method: "POST", path: "/api/invitations/" + ts.inviteToken(u.Email) + "/accept", token: u.token})
	var me api.UserJSON
	if ts.must(200, req{method: "GET", path: "/api/me", token: u.token}).json(&me); !me.EmailVerified {
		t.Fatal("accepting with the mailed token did not verify the address")
	}
	var inv api.InvitationWithLink
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + b.ID + "/invitations", token: owner.token, body: map[string]string{"email": u.Email}}).json(&inv)
	ts.must(200, req{method: "POST", path: fmt.Sprintf("/api/me/invitations/%d/accept", inv.ID), token: u.token})
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + b.ID, token: u.token})
}

// An invitation to sam@… is not for ſam@… ("ſ" folds to "s" in strings.EqualFold).
func TestInvitationAddressComparedExactly(t *testing.T) {
	ts := newTestServer(t)
	ts.quickUser("root")
	owner := ts.signup("owner")
	ws := ts.createWorkspace(owner, "Acme")
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: owner.token, body: map[string]string{"email": "sam@example.com", "role": "admin"}})
	token := ts.inviteToken("sam@example.com")
	res := ts.must(400, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": "ſam@example.com", "password": testPassword, "invitation_token": token}})
	if res.errField() != "email" {
		t.Fatalf("signup as ſam with sam's invitation: %s", res.Body)
	}
	var longS struct{ Token string }
	ts.must(201, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": "ſam@example.com", "password": testPassword}}).json(&longS)
	ts.must(403, req{method: "POST", path: "/api/invitations/" + token + "/accept", token: longS.Token})
	ts.must(404, req{method: "GET", path: "/api/workspaces/" + ws.ID, token: longS.Token})
	// The real Sam, typing the address in capitals, can.
	var sam struct{ Token string }
	ts.must(201, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": "SAM@example.com", "password": testPassword, "invitation_token": token}}).json(&sam)
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + ws.ID, token: sam.Token})
}

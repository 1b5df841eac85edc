package app

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"quire/app/http/api"
)

// searchWords is what a keyword search finds for u in ws: the documents' names.
func (ts *testServer) searchWords(u string, wsID, query string) []string {
	ts.t.Helper()
	var out struct{ Results []api.SearchHit }
	ts.must(200, req{method: "POST", path: "/api/workspaces/" + wsID + "/search", token: u,
		body: map[string]any{"query": query, "mode": "keyword"}}).json(&out)
	var names []string
	for _, h := range out.Results {
		names = append(names, h.DocumentName)
	}
	return names
}

// waitParsed waits until a document's words are searchable (its vectors
// wait for an Ollama these tests do not run).
func (ts *testServer) waitParsed(u user, wsID, docID string) {
	ts.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var d api.DocumentJSON
		ts.must(200, req{method: "GET", path: "/api/workspaces/" + wsID + "/documents/" + docID, token: u.token}).json(&d)
		if d.Status == "ready" {
			return
		}
		if d.Status == "failed" || time.Now().After(deadline) {
			ts.t.Fatalf("document %s: %s", d.Status, d.ProcessingError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGroupRulesFollowTheProvidersGroups(t *testing.T) {
	e := newSSO(t)
	ts := e.ts
	startProcessing(t, ts)
	owner := ts.quickUser("owner")
	ws := ts.createWorkspace(owner, "Acme")
	base := "/api/workspaces/" + ws.ID
	var team api.TeamJSON
	ts.must(201, req{method: "POST", path: base + "/teams", token: owner.token, body: map[string]string{"name": "Support"}}).json(&team)
	var kb api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: owner.token, body: map[string]any{"name": "Runbooks"}}).json(&kb)
	ts.must(200, req{method: "PUT", path: base + "/knowledge-bases/" + kb.ID + "/access", token: owner.token,
		body: map[string]any{"shared_with_workspace": false, "team_ids": []int64{team.ID}}})
	var doc api.DocumentJSON
	res := ts.upload(owner, ws.ID, "escalation.md", []byte("# Escalation\n\nA zebracorn outage is escalated to the duty manager within ten minutes."),
		map[string]string{"knowledge_base_ids": kb.ID})
	if res.Status != 202 {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	res.json(&doc)
	ts.waitParsed(owner, ws.ID, doc.ID)

	for _, rule := range []map[string]any{{"group": "staff", "role": "member"}, {"group": "support", "team_id": team.ID}} {
		ts.must(201, req{method: "POST", path: base + "/group-rules", token: owner.token, body: rule})
	}

	e.person("carol", "carol@corp.example", true, "staff", "support")
	session := func() string {
		t.Helper()
		res := e.signIn("carol@corp.example", "")
		if res.Status != 303 {
			t.Fatalf("sign-in: %d %s", res.Status, res.Body)
		}
		return sessionOf(res)
	}
	carol := session()
	if got := ts.searchWords(carol, ws.ID, "zebracorn"); len(got) != 1 || got[0] != "escalation.md" {
		t.Fatalf("in the support group, the search finds %v", got)
	}
	var members api.List[api.MemberJSON]
	ts.must(200, req{method: "GET", path: base + "/members", token: owner.token}).json(&members)
	managed := map[string]bool{}
	for _, m := range members.Items {
		managed[m.Email] = m.Managed
	}
	if !managed["carol@corp.example"] || managed[owner.Email] {
		t.Fatalf("managed memberships: %v", managed)
	}
	page := ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/members", token: owner.token})
	if !strings.Contains(string(page.Body), "from group") {
		t.Fatal("the members page does not show the managed membership")
	}

	// Out of the support group at the provider: the next sign-in takes the
	// team, and with it the knowledge base's passage.
	e.op.SetGroups("carol", "staff")
	carol = session()
	if got := ts.searchWords(carol, ws.ID, "zebracorn"); len(got) != 0 {
		t.Fatalf("out of the support group, the search still finds %v", got)
	}
	ts.must(200, req{method: "GET", path: base, token: carol}) // still a member

	// Out of every group: out of the workspace.
	e.op.SetGroups("carol")
	carol = session()
	ts.must(404, req{method: "GET", path: base, token: carol})

	// Back in both: back in the team.
	e.op.SetGroups("carol", "staff", "support")
	carol = session()
	if got := ts.searchWords(carol, ws.ID, "zebracorn"); len(got) != 1 {
		t.Fatalf("back in the group, the search finds %v", got)
	}
}

func TestGroupRulesNeverTouchHandMadeMemberships(t *testing.T) {
	e := newSSO(t)
	ts := e.ts
	owner := ts.quickUser("owner")
	ws := ts.createWorkspace(owner, "Acme")
	base := "/api/workspaces/" + ws.ID
	var team api.TeamJSON
	ts.must(201, req{method: "POST", path: base + "/teams", token: owner.token, body: map[string]string{"name": "Support"}}).json(&team)
	ts.must(201, req{method: "POST", path: base + "/group-rules", token: owner.token, body: map[string]any{"group": "staff", "role": "admin"}})
	ts.must(201, req{method: "POST", path: base + "/group-rules", token: owner.token, body: map[string]any{"group": "support", "team_id": team.ID}})

	// Dave was added by hand, and put in the team by hand; his groups say nothing of either.
	dave := ts.quickUser("dave")
	ts.addMember(ws, owner, dave, "member")
	ts.must(201, req{method: "POST", path: base + "/teams/" + strconv.FormatInt(team.ID, 10) + "/members", token: owner.token, body: map[string]int64{"user_id": dave.ID}})
	e.person("dave", dave.Email, true)
	if res := e.signIn(dave.Email, ""); res.Status != 303 {
		t.Fatalf("sign-in: %d %s", res.Status, res.Body)
	}
	m, err := ts.store.GetMember(context.Background(), ws.ID, dave.ID)
	if err != nil || m.Role != "member" || m.Managed {
		t.Fatalf("a hand-made membership after sign-in: %+v %v", m, err)
	}
	var got api.TeamJSON
	ts.must(200, req{method: "GET", path: base + "/teams/" + strconv.FormatInt(team.ID, 10), token: owner.token}).json(&got)
	if len(got.Members) != 2 {
		t.Fatalf("the hand-made team place went: %+v", got.Members)
	}

	// Erin comes in by the rule (as admin); an admin then sets her role by
	// hand, which makes the membership hand-made: leaving the group keeps it.
	e.person("erin", "erin@corp.example", true, "staff")
	e.signIn("erin@corp.example", "")
	erin, _ := ts.store.UserByEmail(context.Background(), "erin@corp.example")
	if m, err := ts.store.GetMember(context.Background(), ws.ID, erin.ID); err != nil || m.Role != "admin" || !m.Managed {
		t.Fatalf("the rule's membership: %+v %v", m, err)
	}
	ts.must(200, req{method: "PATCH", path: base + "/members/" + strconv.FormatInt(erin.ID, 10), token: owner.token, body: map[string]string{"role": "member"}})
	e.op.SetGroups("erin")
	e.signIn("erin@corp.example", "")
	if m, err := ts.store.GetMember(context.Background(), ws.ID, erin.ID); err != nil || m.Role != "member" || m.Managed {
		t.Fatalf("a membership set by hand after leaving the group: %+v %v", m, err)
	}
	// The owner is never demoted or removed by a rule.
	e.person("owner", owner.Email, true)
	e.signIn(owner.Email, "")
	if m, err := ts.store.GetMember(context.Background(), ws.ID, owner.ID); err != nil || m.Role != "owner" {
		t.Fatalf("the owner after a sign-in without groups: %+v %v", m, err)
	}
}

func TestGroupRulesRefuseHostileInput(t *testing.T) {
	ts := newTestServer(t)
	owner := ts.signup("owner")
	ws := ts.createWorkspace(owner, "Acme")
	other := ts.createWorkspace(owner, "Other")
	base := "/api/workspaces/" + ws.ID
	var theirs api.TeamJSON
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + other.ID + "/teams", token: owner.token, body: map[string]string{"name": "Theirs"}}).json(&theirs)
	for name, c := range map[string]struct {
		body  any
		field string
	}{
		"another workspace's team": {map[string]any{"group": "g", "team_id": theirs.ID}, "team_id"},
		"both role and team":       {map[string]any{"group": "g", "role": "member", "team_id": theirs.ID}, "role"},
		"neither":                  {map[string]any{"group": "g"}, "role"},
		"owner role":               {map[string]any{"group": "g", "role": "owner"}, "role"},
		"control characters":       {map[string]any{"group": "eng\x00ineering", "role": "member"}, "group"},
		"newline":                  {map[string]any{"group": "eng\nadmins", "role": "member"}, "group"},
		"empty group":              {map[string]any{"group": "  ", "role": "member"}, "group"},
		"oversized group":          {map[string]any{"group": strings.Repeat("g", 257), "role": "member"}, "group"},
		"negative team":            {map[string]any{"group": "g", "team_id": -1}, "team_id"},
		"invalid UTF-8":            {`{"group":"\xff\xfe","role":"member"}`, ""},
	} {
		res := ts.do(req{method: "POST", path: base + "/group-rules", token: owner.token, body: c.body})
		if res.Status != 400 || (c.field != "" && res.errField() != c.field) {
			t.Errorf("%s: %d field %q: %s", name, res.Status, res.errField(), res.Body)
		}
	}
	ts.must(201, req{method: "POST", path: base + "/group-rules", token: owner.token, body: map[string]any{"group": "staff", "role": "member"}})
	ts.must(409, req{method: "POST", path: base + "/group-rules", token: owner.token, body: map[string]any{"group": " staff ", "role": "member"}})
	// Another workspace's rule cannot be deleted through this one.
	var r api.GroupRuleJSON
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + other.ID + "/group-rules", token: owner.token, body: map[string]any{"group": "x", "role": "member"}}).json(&r)
	for _, id := range []string{strconv.FormatInt(r.ID, 10), "0", "-1", "abc", "99999999999999999999"} {
		ts.must(404, req{method: "DELETE", path: base + "/group-rules/" + id, token: owner.token})
	}
	var rules api.List[api.GroupRuleJSON]
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + other.ID + "/group-rules", token: owner.token}).json(&rules)
	if len(rules.Items) != 1 {
		t.Fatalf("the other workspace's rules: %+v", rules.Items)
	}
	// A deleted team takes its rules with it.
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + other.ID + "/group-rules", token: owner.token, body: map[string]any{"group": "y", "team_id": theirs.ID}})
	ts.must(204, req{method: "DELETE", path: "/api/workspaces/" + other.ID + "/teams/" + strconv.FormatInt(theirs.ID, 10), token: owner.token})
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + other.ID + "/group-rules", token: owner.token}).json(&rules)
	if len(rules.Items) != 1 {
		t.Fatalf("rules after the team was deleted: %+v", rules.Items)
	}
}

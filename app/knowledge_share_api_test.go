package app

import (
	"fmt"
	"testing"

	"quire/app/http/api"
)

// The attacker's story: an admin who is demoted to member keeps manager
// rights on the knowledge bases they created. They must not be able to use
// those to show the board's restricted documents to the whole workspace.
func TestDemotedAdminCannotReshareRestrictedDocuments(t *testing.T) {
	ts := newTestServer(t)
	owner, demoted, bystander := ts.signup("owner"), ts.signup("demoted"), ts.signup("bystander")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, demoted, "admin")
	ts.addMember(ws, owner, bystander, "member")
	base := "/api/workspaces/" + ws.ID
	// The board's papers: a knowledge base granted to the board team only, which the demoted admin sits on.
	var board api.TeamJSON
	ts.must(201, req{method: "POST", path: base + "/teams", token: owner.token, body: map[string]string{"name": "Board"}}).json(&board)
	ts.must(201, req{method: "POST", path: fmt.Sprintf("%s/teams/%d/members", base, board.ID), token: owner.token, body: map[string]int64{"user_id": demoted.ID}})
	var papers api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: owner.token, body: map[string]any{"name": "Board papers", "shared_with_workspace": false}}).json(&papers)
	ts.must(200, req{method: "PUT", path: base + "/knowledge-bases/" + papers.ID + "/access", token: owner.token, body: map[string]any{"shared_with_workspace": false, "team_ids": []int64{board.ID}}})
	var salaries api.DocumentJSON
	ts.upload(owner, ws.ID, "salaries.txt", []byte("Everyone's salary."), map[string]string{"knowledge_base_ids": papers.ID}).json(&salaries)
	doc := base + "/documents/" + salaries.ID

	// While an admin, they create two knowledge bases: one for everyone, and a
	// private one into which they (rightly, as an admin) put the salaries.
	var notes, drafts api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: demoted.token, body: map[string]any{"name": "Notes", "shared_with_workspace": true}}).json(&notes)
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: demoted.token, body: map[string]any{"name": "Drafts", "shared_with_workspace": false}}).json(&drafts)
	ts.must(200, req{method: "POST", path: base + "/knowledge-bases/" + drafts.ID + "/documents", token: demoted.token, body: map[string]any{"document_ids": []string{salaries.ID}}})
	ts.must(200, req{method: "PATCH", path: fmt.Sprintf("%s/members/%d", base, demoted.ID), token: owner.token, body: map[string]string{"role": "member"}})

	// Now a member: they still see the salaries (board team) but may not share them.
	ts.must(200, req{method: "GET", path: doc, token: demoted.token})
	if res := ts.must(403, req{method: "POST", path: base + "/knowledge-bases/" + notes.ID + "/documents", token: demoted.token,
		body: map[string]any{"document_ids": []string{salaries.ID}}}); res.errCode() != "forbidden" {
		t.Fatalf("add: %s", res.Body)
	}
	// Nor re-widen the private knowledge base that holds them: not to everyone, not to another team.
	var everyoneTeam api.TeamJSON
	ts.must(201, req{method: "POST", path: base + "/teams", token: owner.token, body: map[string]string{"name": "Everyone"}}).json(&everyoneTeam)
	dp := base + "/knowledge-bases/" + drafts.ID
	ts.must(403, req{method: "PUT", path: dp + "/access", token: demoted.token, body: map[string]any{"shared_with_workspace": true, "team_ids": []int64{}}})
	ts.must(403, req{method: "PUT", path: dp + "/access", token: demoted.token, body: map[string]any{"shared_with_workspace": false, "team_ids": []int64{everyoneTeam.ID}}})
	ts.must(403, req{method: "PATCH", path: dp, token: demoted.token, body: map[string]any{"shared_with_workspace": true}})
	// The bystander still cannot see them, anywhere.
	ts.must(404, req{method: "GET", path: doc, token: bystander.token})
	var docs api.List[api.DocumentJSON]
	ts.must(200, req{method: "GET", path: base + "/documents", token: bystander.token}).json(&docs)
	if len(docs.Items) != 0 {
		t.Fatalf("the bystander lists %+v", docs.Items)
	}
	var acc api.KbAccessJSON
	ts.must(200, req{method: "GET", path: dp + "/access", token: owner.token}).json(&acc)
	if acc.SharedWithWorkspace || len(acc.TeamIDs) != 0 {
		t.Fatalf("the refused changes were applied: %+v", acc)
	}

	// What a member may do stays: narrow access, rename, take documents out,
	// and share what they uploaded themselves.
	ts.must(200, req{method: "PUT", path: dp + "/access", token: demoted.token, body: map[string]any{"shared_with_workspace": false, "team_ids": []int64{}}})
	ts.must(200, req{method: "PATCH", path: dp, token: demoted.token, body: map[string]string{"name": "Old drafts"}})
	var mine api.DocumentJSON
	ts.upload(demoted, ws.ID, "mine.txt", []byte("My own notes."), nil).json(&mine)
	ts.must(200, req{method: "POST", path: base + "/knowledge-bases/" + notes.ID + "/documents", token: demoted.token, body: map[string]any{"document_ids": []string{mine.ID}}})
	ts.must(200, req{method: "GET", path: base + "/documents/" + mine.ID, token: bystander.token})
	ts.must(200, req{method: "POST", path: dp + "/documents/remove", token: demoted.token, body: map[string]any{"document_ids": []string{salaries.ID}}})
	ts.must(200, req{method: "POST", path: dp + "/documents", token: demoted.token, body: map[string]any{"document_ids": []string{mine.ID}}})
	ts.must(200, req{method: "PUT", path: dp + "/access", token: demoted.token, body: map[string]any{"shared_with_workspace": true, "team_ids": []int64{}}})

	// A current admin decides for every document.
	ts.must(200, req{method: "POST", path: base + "/knowledge-bases/" + notes.ID + "/documents", token: owner.token, body: map[string]any{"document_ids": []string{salaries.ID}}})
	ts.must(200, req{method: "GET", path: doc, token: bystander.token})
}

package app

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"quire/app/http/api"
)

type bulkReply struct {
	Action  string             `json:"action"`
	Counts  map[string]int     `json:"counts"`
	Results []api.BulkItemJSON `json:"results"`
}

// bulkFixture: an owner with a shared knowledge base, a member, and an
// outsider with a workspace and a document of their own.
type bulkFixture struct {
	ts               *testServer
	owner, member    user
	outsider         user
	base, otherBase  string
	kb, otherKB      string
	foreignDoc       string
	ownerShared      string // the owner's, in the shared knowledge base: the member sees it
	ownerPrivate     string // the owner's, in no knowledge base: the member does not see it
	memberA, memberB string
}

func newBulkFixture(t *testing.T) *bulkFixture {
	ts := newTestServer(t)
	f := &bulkFixture{ts: ts, owner: ts.signup("owner"), member: ts.signup("member"), outsider: ts.signup("outsider")}
	ws := ts.createWorkspace(f.owner, "Acme")
	ts.addMember(ws, f.owner, f.member, "member")
	other := ts.createWorkspace(f.outsider, "Other")
	f.base, f.otherBase = "/api/workspaces/"+ws.ID, "/api/workspaces/"+other.ID
	var kb, otherKB struct{ ID string }
	ts.must(201, req{method: "POST", path: f.base + "/knowledge-bases", token: f.owner.token, body: map[string]any{"name": "Handbook"}}).json(&kb)
	ts.must(201, req{method: "POST", path: f.otherBase + "/knowledge-bases", token: f.outsider.token, body: map[string]any{"name": "Theirs"}}).json(&otherKB)
	f.kb, f.otherKB = kb.ID, otherKB.ID
	up := func(u user, wsID, name string, fields map[string]string) string {
		res := ts.upload(u, wsID, name, []byte("# "+name+"\n\nSome text about "+name+"."), fields)
		if res.Status != 202 {
			t.Fatalf("upload %s: %d %s", name, res.Status, res.Body)
		}
		var d api.DocumentJSON
		res.json(&d)
		return d.ID
	}
	f.ownerShared = up(f.owner, ws.ID, "policy.md", map[string]string{"knowledge_base_ids": f.kb})
	f.ownerPrivate = up(f.owner, ws.ID, "salaries.md", nil)
	f.memberA = up(f.member, ws.ID, "notes-a.md", nil)
	f.memberB = up(f.member, ws.ID, "notes-b.md", nil)
	f.foreignDoc = up(f.outsider, other.ID, "foreign.md", nil)
	return f
}

func (f *bulkFixture) bulk(u user, base string, body map[string]any) (int, bulkReply) {
	res := f.ts.do(req{method: "POST", path: base + "/documents/bulk", token: u.token, body: body})
	var out bulkReply
	if res.Status == 200 {
		res.json(&out)
	}
	return res.Status, out
}

func outcomes(r bulkReply) map[string]string {
	out := map[string]string{}
	for _, it := range r.Results {
		out[it.ID] = it.Outcome
	}
	return out
}

func TestBulkAddAndRemoveSaysWhatHappened(t *testing.T) {
	f := newBulkFixture(t)
	ts := f.ts
	ids := []string{f.ownerShared, f.ownerPrivate, f.memberA, f.memberA, f.foreignDoc, "no-such-document"}
	code, r := f.bulk(f.owner, f.base, map[string]any{"action": "add_to_knowledge_base", "knowledge_base_id": f.kb, "document_ids": ids})
	if code != 200 {
		t.Fatalf("add: %d", code)
	}
	want := map[string]int{"added": 2, "already_in": 1, "not_found": 2}
	if !maps.Equal(r.Counts, want) || len(r.Results) != 5 {
		t.Fatalf("add: counts %v, %d results; want %v and each id once", r.Counts, len(r.Results), want)
	}
	for _, it := range r.Results {
		if it.Outcome == "not_found" && it.Name != "" {
			t.Errorf("a not-found id got a name: %+v", it)
		}
	}
	var kbDocs struct{ Items []api.DocumentJSON }
	ts.must(200, req{method: "GET", path: f.base + "/knowledge-bases/" + f.kb + "/documents", token: f.owner.token}).json(&kbDocs)
	if len(kbDocs.Items) != 3 {
		t.Fatalf("the knowledge base holds %d documents, want 3", len(kbDocs.Items))
	}
	// Another workspace's document was not linked, and is unchanged for its owner.
	ts.must(200, req{method: "GET", path: f.otherBase + "/documents/" + f.foreignDoc, token: f.outsider.token})

	code, r = f.bulk(f.owner, f.base, map[string]any{"action": "remove_from_knowledge_base", "knowledge_base_id": f.kb,
		"document_ids": []string{f.memberA, f.memberB}})
	if code != 200 || !maps.Equal(r.Counts, map[string]int{"removed": 1, "not_in": 1}) {
		t.Fatalf("remove: %d %v", code, r.Counts)
	}
}

// A member may delete and reprocess only their own documents; what they
// cannot see answers exactly as what does not exist.
func TestBulkAuthorisesEachDocument(t *testing.T) {
	f := newBulkFixture(t)
	ts := f.ts
	code, r := f.bulk(f.member, f.base, map[string]any{"action": "delete",
		"document_ids": []string{f.memberA, f.ownerShared, f.ownerPrivate, f.foreignDoc, "no-such-document"}})
	if code != 200 {
		t.Fatalf("delete: %d", code)
	}
	got := outcomes(r)
	if got[f.memberA] != "deleted" || got[f.ownerShared] != "forbidden" {
		t.Fatalf("member's delete: %v", got)
	}
	for _, id := range []string{f.ownerPrivate, f.foreignDoc, "no-such-document"} {
		if got[id] != "not_found" {
			t.Errorf("%s: %s, want not_found like any unknown id", id, got[id])
		}
	}
	for _, it := range r.Results {
		if it.ID == f.ownerPrivate && it.Name != "" {
			t.Errorf("the name of a document the member cannot see leaked: %q", it.Name)
		}
	}
	ts.must(404, req{method: "GET", path: f.base + "/documents/" + f.memberA, token: f.member.token})
	for _, id := range []string{f.ownerShared, f.ownerPrivate} {
		ts.must(200, req{method: "GET", path: f.base + "/documents/" + id, token: f.owner.token})
	}
	ts.must(200, req{method: "GET", path: f.otherBase + "/documents/" + f.foreignDoc, token: f.outsider.token})

	code, r = f.bulk(f.member, f.base, map[string]any{"action": "reprocess", "document_ids": []string{f.memberB, f.ownerShared}})
	if got := outcomes(r); code != 200 || (got[f.memberB] != "queued" && got[f.memberB] != "busy") || got[f.ownerShared] != "forbidden" {
		t.Fatalf("member's reprocess: %d %v", code, got)
	}
	// A member manages no knowledge base they did not create: refused as a whole.
	if code, _ := f.bulk(f.member, f.base, map[string]any{"action": "add_to_knowledge_base", "knowledge_base_id": f.kb,
		"document_ids": []string{f.memberB}}); code != 403 {
		t.Fatalf("member adds to the owner's knowledge base: %d", code)
	}
	// The outsider, in their own workspace, names Acme's documents: nothing happens to them.
	code, r = f.bulk(f.outsider, f.otherBase, map[string]any{"action": "delete", "document_ids": []string{f.ownerShared, f.memberB}})
	if code != 200 || !maps.Equal(r.Counts, map[string]int{"not_found": 2}) {
		t.Fatalf("cross-workspace delete: %d %v", code, r.Counts)
	}
	ts.must(200, req{method: "GET", path: f.base + "/documents/" + f.ownerShared, token: f.owner.token})
	// And an Acme admin cannot reach into the other workspace's knowledge base.
	if code, _ := f.bulk(f.owner, f.base, map[string]any{"action": "add_to_knowledge_base", "knowledge_base_id": f.otherKB,
		"document_ids": []string{f.ownerShared}}); code != 404 {
		t.Fatalf("another workspace's knowledge base: %d, want 404", code)
	}
}

func TestBulkRefusesHostileRequests(t *testing.T) {
	f := newBulkFixture(t)
	many := make([]string, 201)
	for i := range many {
		many[i] = fmt.Sprintf("id-%d", i)
	}
	for name, tc := range map[string]struct {
		body  map[string]any
		field string
	}{
		"no ids":          {map[string]any{"action": "delete", "document_ids": []string{}}, "document_ids"},
		"only empty ids":  {map[string]any{"action": "delete", "document_ids": []string{"", ""}}, "document_ids"},
		"201 ids":         {map[string]any{"action": "delete", "document_ids": many}, "document_ids"},
		"an oversized id": {map[string]any{"action": "delete", "document_ids": []string{strings.Repeat("a", 65)}}, "document_ids"},
		"unknown action":  {map[string]any{"action": "drop table", "document_ids": []string{f.memberA}}, "action"},
		"no action":       {map[string]any{"document_ids": []string{f.memberA}}, "action"},
	} {
		res := f.ts.do(req{method: "POST", path: f.base + "/documents/bulk", token: f.owner.token, body: tc.body})
		if res.Status != 400 || res.errField() != tc.field {
			t.Errorf("%s: %d %s, want 400 on %s", name, res.Status, res.Body, tc.field)
		}
	}
	if code, _ := f.bulk(f.owner, f.base, map[string]any{"action": "add_to_knowledge_base", "document_ids": []string{f.memberA}}); code != 404 {
		t.Errorf("add without a knowledge base: %d, want 404", code)
	}
	// Control characters and markup in an id are just an id that matches nothing.
	odd := "\x00\x1b[31m<img src=x onerror=alert(1)>"
	code, r := f.bulk(f.owner, f.base, map[string]any{"action": "delete", "document_ids": []string{odd, f.memberA + "' OR 1=1 --"}})
	if code != 200 || !maps.Equal(r.Counts, map[string]int{"not_found": 2}) {
		t.Fatalf("odd ids: %d %v", code, r.Counts)
	}
	f.ts.must(200, req{method: "GET", path: f.base + "/documents/" + f.memberA, token: f.owner.token})
	// A malformed body is refused as a whole, not half-applied.
	if res := f.ts.do(req{method: "POST", path: f.base + "/documents/bulk", token: f.owner.token, body: `{"action":"delete","document_ids":"` + f.memberA + `"}`}); res.Status != 400 {
		t.Errorf("ids as a string: %d", res.Status)
	}
}

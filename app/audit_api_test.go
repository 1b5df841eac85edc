package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"quire/app/http/api"
	"quire/app/ops"
	"quire/store"
)

// auditRows flushes the audit writer and returns the rows f selects, newest first.
func (ts *testServer) auditRows(f store.AuditFilter) []store.AuditEntry {
	ts.t.Helper()
	if err := ts.srv.Audit().Flush(context.Background()); err != nil {
		ts.t.Fatal(err)
	}
	f.AllWorkspaces = f.Workspace == ""
	rows, err := ts.store.ListAudit(context.Background(), f)
	if err != nil {
		ts.t.Fatal(err)
	}
	return rows
}

// lastAudit is the newest row of action (fails when there is none).
func (ts *testServer) lastAudit(action string) store.AuditEntry {
	ts.t.Helper()
	rows := ts.auditRows(store.AuditFilter{Action: action, Limit: 1})
	if len(rows) == 0 {
		ts.t.Fatalf("no %s row in the audit log", action)
	}
	return rows[0]
}

func details(t *testing.T, e store.AuditEntry) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(e.Details), &d); err != nil {
		t.Fatalf("details of %d: %v", e.ID, err)
	}
	return d
}

// Each kind of action the issue lists is performed through the API, and its
// row is checked: who (account, email snapshot, session or key), where
// (workspace or the instance), what (action, target), how it ended.
func TestAuditRecordsEveryKindOfAction(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root") // the setup link: the instance's administrator
	ws := ts.createWorkspace(root, "Acme")
	base := "/api/workspaces/" + ws.ID
	bob := ts.quickUser("bob")
	carol := ts.quickUser("carol")
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	type check struct {
		action, workspace, targetType, targetID string
		actor                                   int64
		outcome                                 string
		detail                                  map[string]any // details that must be there
	}
	want := func(c check) {
		t.Helper()
		e := ts.lastAudit(c.action)
		if e.WorkspaceID != c.workspace || e.TargetType != c.targetType || (c.targetID != "" && e.TargetID != c.targetID) {
			t.Fatalf("%s: workspace %q target %s/%s, want %q %s/%s (%+v)", c.action, e.WorkspaceID, e.TargetType, e.TargetID, c.workspace, c.targetType, c.targetID, e)
		}
		if c.actor != 0 && (e.UserID == nil || *e.UserID != c.actor) {
			t.Fatalf("%s: actor %v, want %d", c.action, e.UserID, c.actor)
		}
		if e.Outcome != cmpOr(c.outcome, store.AuditOK) || e.Address == "" {
			t.Fatalf("%s: outcome %q address %q", c.action, e.Outcome, e.Address)
		}
		d := details(t, e)
		for k, v := range c.detail {
			if fmt.Sprint(d[k]) != fmt.Sprint(v) {
				t.Fatalf("%s: details[%s] = %v, want %v (%s)", c.action, k, d[k], v, e.Details)
			}
		}
	}

	// Sign-in (the setup link too) and failures, which no route can attribute.
	want(check{action: "auth.login", targetType: "user", targetID: id(root.ID), actor: root.ID, detail: map[string]any{"method": "setup"}})
	var login struct{ Token string }
	ts.must(200, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": bob.Email, "password": testPassword}}).json(&login)
	want(check{action: "auth.login", targetType: "user", targetID: id(bob.ID), actor: bob.ID, detail: map[string]any{"method": "password"}})
	if e := ts.lastAudit("auth.login"); e.Email != bob.Email || e.ActorKind != "session" || e.TokenID == nil {
		t.Fatalf("login row %+v", e)
	}
	ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": bob.Email, "password": "not-it"}})
	want(check{action: "auth.login_failed", targetType: "user", targetID: id(bob.ID), actor: bob.ID, outcome: "denied", detail: map[string]any{"reason": "wrong password"}})
	ts.must(401, req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": "Nobody@Example.com", "password": "x"}})
	if e := ts.lastAudit("auth.login_failed"); e.UserID != nil || e.Email != "nobody@example.com" || details(t, e)["reason"] != "no such account" {
		t.Fatalf("unknown account row %+v", e)
	}
	ts.must(204, req{method: "POST", path: "/api/auth/logout", token: login.Token})
	want(check{action: "auth.logout", actor: bob.ID})

	// Membership and roles.
	ts.must(201, req{method: "POST", path: base + "/members", token: root.token, body: map[string]string{"email": bob.Email, "role": "member"}})
	want(check{action: "member.added", workspace: ws.ID, targetType: "user", targetID: id(bob.ID), actor: root.ID, detail: map[string]any{"role": "member"}})
	ts.must(200, req{method: "PATCH", path: base + "/members/" + id(bob.ID), token: root.token, body: map[string]string{"role": "admin"}})
	want(check{action: "member.role_changed", workspace: ws.ID, targetType: "user", targetID: id(bob.ID), detail: map[string]any{"role": "admin"}})

	// Invitations.
	var inv struct{ ID int64 }
	ts.must(201, req{method: "POST", path: base + "/invitations", token: root.token, body: map[string]string{"email": "dave@example.com", "role": "member"}}).json(&inv)
	want(check{action: "invitation.created", workspace: ws.ID, targetType: "invitation", targetID: id(inv.ID), detail: map[string]any{"role": "member"}})
	ts.must(204, req{method: "DELETE", path: base + "/invitations/" + id(inv.ID), token: root.token})
	want(check{action: "invitation.cancelled", workspace: ws.ID, targetType: "invitation", targetID: id(inv.ID)})

	// API keys: the secret is never in the log.
	var key struct {
		ID    int64
		Token string
	}
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: root.token, body: map[string]string{"name": "ci", "workspace_id": ws.ID}}).json(&key)
	want(check{action: "api_key.created", workspace: ws.ID, targetType: "api_key", targetID: id(key.ID), actor: root.ID}) // a key for the workspace is in its log
	if e := ts.lastAudit("api_key.created"); strings.Contains(e.Details+e.TargetLabel, key.Token[4:]) {
		t.Fatalf("the key's secret is in the log: %+v", e)
	}
	ts.must(200, req{method: "GET", path: base + "/members", token: key.Token}) // not audited: a read
	ts.must(204, req{method: "DELETE", path: "/api/me/tokens/" + id(key.ID), token: root.token})
	want(check{action: "api_key.deleted", targetType: "api_key", targetID: id(key.ID)})

	// Settings.
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: root.token, body: map[string]any{"allow_public_chats": true, "max_upload_mb": 20}})
	want(check{action: "settings.changed", actor: root.ID, detail: map[string]any{"allow_public_chats": true, "max_upload_mb": 20, "fields": "[allow_public_chats max_upload_mb]"}})

	// Documents: upload, download, passages read from the document page, deletion.
	var doc api.DocumentJSON
	ts.upload(root, ws.ID, "plan.md", []byte("# Plan\n\nThe quarterly plan."), nil).json(&doc)
	want(check{action: "document.uploaded", workspace: ws.ID, targetType: "document", targetID: doc.ID})
	if e := ts.lastAudit("document.uploaded"); e.TargetLabel != "plan.md" {
		t.Fatalf("upload label %q", e.TargetLabel)
	}
	ts.must(200, req{method: "GET", path: base + "/documents/" + doc.ID + "/file", token: root.token})
	want(check{action: "document.downloaded", workspace: ws.ID, targetType: "document", targetID: doc.ID})

	// Knowledge-base access.
	var kb api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: root.token, body: map[string]any{"name": "Policies"}}).json(&kb)
	want(check{action: "knowledge_base.created", workspace: ws.ID, targetType: "knowledge_base", targetID: kb.ID})
	ts.must(200, req{method: "PUT", path: base + "/knowledge-bases/" + kb.ID + "/access", token: root.token, body: map[string]any{"shared_with_workspace": false, "team_ids": []int64{}}})
	want(check{action: "knowledge_base.access_changed", workspace: ws.ID, targetType: "knowledge_base", targetID: kb.ID, detail: map[string]any{"shared_with_workspace": false}})

	// Shares, public links and exports.
	var ch api.ChatJSON
	ts.must(201, req{method: "POST", path: base + "/chats", token: root.token, body: map[string]string{"name": "Findings"}}).json(&ch)
	cp := base + "/chats/" + ch.ID
	ts.must(201, req{method: "POST", path: cp + "/shares", token: root.token, body: map[string]int64{"user_id": bob.ID}})
	want(check{action: "chat.shared", workspace: ws.ID, targetType: "share", detail: map[string]any{"chat": ch.ID, "user_id": bob.ID}})
	ts.must(200, req{method: "POST", path: cp + "/public", token: root.token, body: map[string]bool{"enabled": true}})
	want(check{action: "chat.public_link_changed", workspace: ws.ID, targetType: "chat", targetID: ch.ID, detail: map[string]any{"enabled": true}})
	if e := ts.lastAudit("chat.public_link_changed"); e.TargetLabel != "Findings" {
		t.Fatalf("chat label %q", e.TargetLabel)
	}
	ts.must(200, req{method: "GET", path: cp + "/export?format=md", token: root.token})
	want(check{action: "chat.exported", workspace: ws.ID, targetType: "chat", targetID: ch.ID})
	ts.must(200, req{method: "GET", path: base + "/usage/export?group_by=model", token: root.token})
	want(check{action: "usage.exported", workspace: ws.ID, targetType: "workspace", targetID: ws.ID})

	// Backups.
	ts.must(201, req{method: "POST", path: "/api/admin/backups", token: root.token})
	want(check{action: "backup.created", targetType: "backup", actor: root.ID})

	// Deletions and removals; a refusal is recorded as denied.
	ts.must(204, req{method: "DELETE", path: base + "/documents/" + doc.ID, token: root.token})
	want(check{action: "document.deleted", workspace: ws.ID, targetType: "document", targetID: doc.ID})
	if e := ts.lastAudit("document.deleted"); e.TargetLabel != "plan.md" {
		t.Fatalf("deleted document label %q: the name must outlive the document", e.TargetLabel)
	}
	ts.must(204, req{method: "DELETE", path: base + "/members/" + id(bob.ID), token: root.token})
	want(check{action: "member.removed", workspace: ws.ID, targetType: "user", targetID: id(bob.ID)})
	ts.must(403, req{method: "PATCH", path: "/api/admin/settings", token: carol.token, body: map[string]any{"max_upload_mb": 1}})
	want(check{action: "settings.changed", actor: carol.ID, outcome: "denied", detail: map[string]any{"status": 403}})

	// An outsider's probe of the workspace is denied, and not filed under
	// the workspace (its id came from the outsider, not from authorisation).
	ts.must(404, req{method: "DELETE", path: base + "/documents/whatever", token: carol.token})
	if e := ts.lastAudit("document.deleted"); e.Outcome != "denied" || e.WorkspaceID != "" || *e.UserID != carol.ID {
		t.Fatalf("outsider probe %+v", e)
	}

	if v, err := ts.store.VerifyAudit(context.Background()); err != nil || v.Rows < 25 {
		t.Fatalf("verify: %+v %v", v, err)
	}
}

func cmpOr(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// The documents whose passages a person received through search are
// recorded per document, with the passages, by the shared use case.
func TestAuditRecordsPassagesReadBySearch(t *testing.T) {
	ts := newTestServer(t)
	startProcessing(t, ts)
	u := ts.signup("reader")
	ws := ts.createWorkspace(u, "Acme")
	base := "/api/workspaces/" + ws.ID
	var a, b api.DocumentJSON
	ts.upload(u, ws.ID, "security.md", []byte("# Security\n\nReport a lost badge to the security office."), nil).json(&a)
	ts.upload(u, ws.ID, "kitchen.md", []byte("# Kitchen\n\nThe coffee machine is descaled on friday."), nil).json(&b)
	for _, id := range []string{a.ID, b.ID} {
		waitParsed(t, ts, u, ws.ID, id)
	}
	var found struct{ Results []api.SearchHit }
	ts.must(200, req{method: "POST", path: base + "/search", token: u.token, body: map[string]any{"query": "lost badge", "mode": "keyword"}}).json(&found)
	if len(found.Results) == 0 {
		t.Fatal("nothing found")
	}
	rows := ts.auditRows(store.AuditFilter{Action: "passages.read"})
	if len(rows) != 1 || rows[0].TargetID != a.ID || rows[0].TargetLabel != "security.md" || rows[0].WorkspaceID != ws.ID || *rows[0].UserID != u.ID {
		t.Fatalf("passages.read rows %+v", rows)
	}
	d := details(t, rows[0])
	if d["via"] != "POST /api/workspaces/:ws/search" || fmt.Sprint(d["chunk_ids"]) != "["+found.Results[0].ChunkID+"]" {
		t.Fatalf("details %s", rows[0].Details)
	}
	// A search that finds nothing records nothing.
	ts.must(200, req{method: "POST", path: base + "/search", token: u.token, body: map[string]any{"query": "zebra", "mode": "keyword"}})
	if rows := ts.auditRows(store.AuditFilter{Action: "passages.read"}); len(rows) != 1 {
		t.Fatalf("%d rows after an empty search", len(rows))
	}
	// The filter by document finds it.
	var list api.List[api.AuditEntryJSON]
	ts.must(200, req{method: "GET", path: base + "/audit?document_id=" + a.ID, token: u.token}).json(&list)
	if len(list.Items) == 0 || list.Items[0].Action != "passages.read" {
		t.Fatalf("by document: %+v", list.Items)
	}
}

// waitParsed waits until a document is ready for keyword search (vectors
// may wait for a model server these tests do not run).
func waitParsed(t *testing.T, ts *testServer, u user, wsID, docID string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var d api.DocumentJSON
		ts.must(200, req{method: "GET", path: "/api/workspaces/" + wsID + "/documents/" + docID, token: u.token}).json(&d)
		if d.Status == "ready" {
			return
		}
		if d.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("document %s: %s", d.Status, d.ProcessingError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A chat's sources and /v1 completions with knowledge bases read passages
// through Retrieve; embeddings read none.
func TestAuditRecordsPassagesReadByChatAndV1(t *testing.T) {
	ts, _ := newOllamaServer(t)
	u := ts.signup("asker")
	ws := ts.createWorkspace(u, "Acme")
	base := "/api/workspaces/" + ws.ID
	var kb api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: u.token, body: map[string]any{"name": "Policies"}}).json(&kb)
	var d api.DocumentJSON
	ts.upload(u, ws.ID, "travel.md", []byte("# Travel\n\nHotel receipts go to finance within thirty days."), map[string]string{"knowledge_base_ids": kb.ID}).json(&d)
	ts.waitReady(u, ws.ID, d.ID)

	var ch api.ChatJSON
	ts.must(201, req{method: "POST", path: base + "/chats", token: u.token, body: map[string]any{"name": "Q", "knowledge_base_ids": []string{kb.ID}}}).json(&ch)
	ts.must(201, req{method: "POST", path: base + "/chats/" + ch.ID + "/messages", token: u.token, body: map[string]any{"content": "When do hotel receipts go to finance?"}})
	rows := ts.auditRows(store.AuditFilter{Action: "passages.read", TargetID: d.ID})
	if len(rows) != 1 || *rows[0].UserID != u.ID || details(t, rows[0])["via"] != "POST /api/workspaces/:ws/chats/:chat/messages" {
		t.Fatalf("chat passages.read %+v", rows)
	}

	var key struct{ Token string }
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: u.token, body: map[string]string{"name": "sdk", "workspace_id": ws.ID}}).json(&key)
	o := ts.srv.currentSettings()
	ts.must(200, req{method: "POST", path: "/v1/embeddings", token: key.Token, body: map[string]any{"model": o.DefaultEmbeddingModel, "input": "hotel receipts"}})
	ts.must(200, req{method: "POST", path: "/v1/chat/completions", token: key.Token, body: map[string]any{
		"model": o.DefaultChatModel, "max_tokens": 8, "knowledge_base_ids": []string{kb.ID},
		"messages": []map[string]string{{"role": "user", "content": "hotel receipts finance"}}}})
	rows = ts.auditRows(store.AuditFilter{Action: "passages.read", TargetID: d.ID})
	if len(rows) != 2 {
		t.Fatalf("after /v1: %d passages.read rows (embeddings must add none)", len(rows))
	}
	if e := rows[0]; e.ActorKind != "api_key" || e.TokenID == nil || details(t, e)["via"] != "POST /v1/chat/completions" {
		t.Fatalf("/v1 passages.read %+v", e)
	}
}

// Reading the log: instance admins see everything; workspace owners and
// admins only their workspace's rows, never instance rows nor another
// workspace's; members are refused; bad filters are 400 naming the filter.
func TestAuditReadingIsConfinedAndFiltersAreChecked(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	owner := ts.quickUser("owner")
	member := ts.quickUser("member")
	ws := ts.createWorkspace(owner, "Mine")
	other := ts.createWorkspace(root, "Theirs")
	ts.addMember(ws, owner, member, "member")
	if e := ts.lastAudit("member.added"); e.TargetType != "invitation" || e.WorkspaceID != ws.ID || *e.UserID != owner.ID {
		t.Fatalf("a workspace admin adding a person invites them: %+v", e) // 202, not a membership yet
	}
	if e := ts.lastAudit("invitation.accepted"); *e.UserID != member.ID || e.TargetID != "" || e.WorkspaceID != ws.ID {
		t.Fatalf("accepting by link: %+v (the link's secret must not be the target)", e)
	}
	ts.must(200, req{method: "PATCH", path: "/api/workspaces/" + ws.ID, token: owner.token, body: map[string]string{"name": "Mine 2"}})
	ts.must(200, req{method: "PATCH", path: "/api/workspaces/" + other.ID, token: root.token, body: map[string]string{"name": "Theirs 2"}})
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: root.token, body: map[string]any{"max_upload_mb": 20}})
	ts.srv.Audit().Flush(context.Background())

	var mine api.List[api.AuditEntryJSON]
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/audit", token: owner.token}).json(&mine)
	if len(mine.Items) == 0 {
		t.Fatal("the owner sees nothing")
	}
	for _, e := range mine.Items {
		if e.WorkspaceID == nil || *e.WorkspaceID != ws.ID {
			t.Fatalf("the workspace log shows %+v", e)
		}
	}
	var all api.List[api.AuditEntryJSON]
	ts.must(200, req{method: "GET", path: "/api/admin/audit?limit=200", token: root.token}).json(&all)
	seen := map[string]bool{}
	for _, e := range all.Items {
		seen[e.Action+"@"+fmt.Sprint(e.WorkspaceID != nil && *e.WorkspaceID == other.ID)] = true
	}
	if !seen["settings.changed@false"] || !seen["workspace.updated@true"] || !seen["auth.login@false"] {
		t.Fatalf("the admin log misses rows: %v", seen)
	}
	var narrowed api.List[api.AuditEntryJSON]
	ts.must(200, req{method: "GET", path: "/api/admin/audit?workspace_id=" + other.ID, token: root.token}).json(&narrowed)
	for _, e := range narrowed.Items {
		if e.WorkspaceID == nil || *e.WorkspaceID != other.ID {
			t.Fatalf("?workspace_id= shows %+v", e)
		}
	}

	ts.must(403, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/audit", token: member.token})
	ts.must(403, req{method: "GET", path: "/w/" + ws.ID + "/audit", token: member.token})
	ts.must(404, req{method: "GET", path: "/api/workspaces/" + other.ID + "/audit", token: owner.token})
	ts.must(403, req{method: "GET", path: "/api/admin/audit", token: owner.token})
	ts.must(401, req{method: "GET", path: "/api/admin/audit"})

	huge := strings.Repeat("a", 1500) // under the 4 KB request line fasthttp reads
	for _, tc := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"from=2026-13-45", "from"},
		{"to=" + huge, "to"},
		{"from=2026-02-01&to=2026-01-01", "to"},
		{"document_id=a&target=b", "target"},
		{"action=DROP%20TABLE", "action"},
		{"action=" + huge, "action"},
		{"actor=" + huge, "actor"},
		{"actor=-3", "actor"},
		{"target=a%00b", "target"},
		{"target=" + huge, "target"},
		{"limit=100000", "limit"},
		{"cursor=%%%", "cursor"},
		{"cursor=bm90LWEtbnVtYmVy", "cursor"},
		{"format=xml", "format"},
		{"format=jsonl&cursor=MQ", "cursor"},
	} {
		res := ts.do(req{method: "GET", path: "/api/workspaces/" + ws.ID + "/audit?" + tc.query, token: owner.token})
		if res.Status != 400 || res.errField() != tc.field {
			t.Errorf("%.60s: %d %s, want 400 on %s", tc.query, res.Status, res.Body, tc.field)
		}
	}
	// The page says what is wrong instead of an empty list.
	page := string(ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/audit?from=junk", token: owner.token}).Body)
	if !strings.Contains(page, `id="audit-error"`) || strings.Contains(page, `id="audit-rows"`) {
		t.Fatal("the page does not name the bad filter")
	}
}

func TestAuditPagingAndExport(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	ws := ts.createWorkspace(root, "Acme")
	for i := range 7 {
		ts.must(200, req{method: "PATCH", path: "/api/workspaces/" + ws.ID, token: root.token, body: map[string]string{"name": fmt.Sprint("Acme ", i)}})
	}
	ts.srv.Audit().Flush(context.Background())
	path := "/api/workspaces/" + ws.ID + "/audit?action=workspace.updated&limit=3"
	var ids []int64
	cursor := ""
	for range 5 {
		var p api.List[api.AuditEntryJSON]
		ts.must(200, req{method: "GET", path: path + cursor, token: root.token}).json(&p)
		for _, e := range p.Items {
			ids = append(ids, e.ID)
		}
		if p.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if len(ids) != 7 {
		t.Fatalf("paged %v", ids)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] >= ids[i-1] {
			t.Fatalf("not newest first without repeats: %v", ids)
		}
	}

	res := ts.must(200, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/audit?format=jsonl&action=workspace.", token: root.token})
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/x-ndjson") || !strings.Contains(res.Header.Get("Content-Disposition"), ".jsonl") {
		t.Fatalf("export headers %v", res.Header)
	}
	sc := bufio.NewScanner(bytes.NewReader(res.Body))
	n := 0
	for sc.Scan() {
		var e api.AuditEntryJSON
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || !strings.HasPrefix(e.Action, "workspace.") {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		n++
	}
	if n != 8 { // created + 7 renames
		t.Fatalf("exported %d lines", n)
	}
	if e := ts.lastAudit("audit.exported"); e.WorkspaceID != ws.ID || !strings.Contains(details(t, e)["query"].(string), "format=jsonl") {
		t.Fatalf("export not recorded: %+v", e)
	}
	// The pages show the rows with an export link and the next page.
	page := string(ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/audit?action=workspace.updated", token: root.token}).Body)
	if strings.Count(page, "<code>workspace.updated</code>") != 7 || !strings.Contains(page, `id="audit-export"`) {
		t.Fatal("the workspace page does not list the rows")
	}
	admin := string(ts.must(200, req{method: "GET", path: "/admin/audit?action=auth.", token: root.token}).Body)
	if !strings.Contains(admin, "<code>auth.login</code>") || !strings.Contains(admin, `aria-current="page">Audit log`) {
		t.Fatal("the admin page does not list sign-ins")
	}
}

// A backup holds the audit log, and the restored copy still verifies.
func TestAuditLogIsInBackups(t *testing.T) {
	ts := newTestServer(t)
	root := ts.signup("root")
	ts.createWorkspace(root, "Acme")
	ts.srv.Audit().Flush(context.Background())
	before := ts.auditRows(store.AuditFilter{})
	file := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := ops.Create(context.Background(), ops.Source{Store: ts.store, FilesDir: ts.cfg.FilesDir(), Version: "test"}, file); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := ops.Restore(context.Background(), file, dir, store.LatestSchemaVersion()); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenExisting(filepath.Join(dir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.VerifyAudit(context.Background())
	if err != nil || v.Rows != int64(len(before)) || v.LastID != before[0].ID {
		t.Fatalf("restored log: %+v %v, want %d rows", v, err, len(before))
	}
}

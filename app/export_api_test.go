package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"quire/app/http/api"
	"quire/store"
)

// A chat downloads whole, as Markdown or JSON, for whoever may read it: more
// messages than the chat page shows, in order, the cited source under the
// answer and the uncited one left out, under a file name safe in a header.
func TestChatExport(t *testing.T) {
	ts := newTestServer(t)
	owner, reader, member := ts.signup("owner"), ts.signup("reader"), ts.signup("member")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, reader, "member")
	ts.addMember(ws, owner, member, "member")
	base := "/api/workspaces/" + ws.ID
	var chat api.ChatJSON
	ts.must(201, req{method: "POST", path: base + "/chats", token: owner.token, body: map[string]string{"name": `Q3 "plan" / ../../etc; ünïcode`}}).json(&chat)
	ctx := context.Background()
	const turns = 300 // 600 messages: past the page's 200 and the export's page of 500
	for i := range turns {
		q, err := ts.store.AppendMessage(ctx, ws.ID, chat.ID, "user", fmt.Sprintf("Question %d", i), "", "complete")
		if err != nil {
			t.Fatal(err)
		}
		a, err := ts.store.AddMessage(ctx, ws.ID, chat.ID, "assistant", "", q.ID, "m", "streaming")
		if err != nil {
			t.Fatal(err)
		}
		res := storeResult(fmt.Sprintf("Answer %d [1].", i), `[{"n":1,"document_name":"handbook.pdf","page_number":2,"section_heading":"Leave","cited":true},{"n":2,"document_name":"uncited.txt","cited":false}]`)
		if err := ts.store.FinishMessage(ctx, ws.ID, a.ID, res); err != nil {
			t.Fatal(err)
		}
	}
	cp := base + "/chats/" + chat.ID
	ts.must(201, req{method: "POST", path: cp + "/shares", token: owner.token, body: map[string]int64{"user_id": reader.ID}})

	md := ts.must(200, req{method: "GET", path: cp + "/export?format=md", token: reader.token})
	if ct := md.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/markdown") {
		t.Fatalf("Markdown export served as %q", ct)
	}
	if cd := md.Header.Get("Content-Disposition"); cd != `attachment; filename="q3-plan-etc-n-code.md"` {
		t.Fatalf("Content-Disposition %q", cd)
	}
	text := string(md.Body)
	if !strings.HasPrefix(text, "# Q3 \"plan\" / ../../etc; ünïcode\n") || !strings.Contains(text, "Answer 299 [1].") ||
		strings.Index(text, "Question 0\n") > strings.Index(text, "Question 299\n") {
		t.Fatalf("Markdown export:\n%.400s", text)
	}
	if !strings.Contains(text, "- [1] handbook.pdf, p. 2 — Leave") || strings.Contains(text, "uncited.txt") {
		t.Fatalf("the export's sources are not the cited ones:\n%.600s", text)
	}

	var out struct {
		Chat     api.ChatJSON
		Messages []api.MessageJSON
	}
	js := ts.must(200, req{method: "GET", path: cp + "/export?format=json", token: owner.token})
	js.json(&out)
	if cd := js.Header.Get("Content-Disposition"); !strings.HasSuffix(cd, `.json"`) {
		t.Fatalf("JSON Content-Disposition %q", cd)
	}
	if out.Chat.ID != chat.ID || len(out.Messages) != 2*turns || out.Messages[0].Content != "Question 0" || out.Messages[2*turns-1].Content != "Answer 299 [1]." {
		t.Fatalf("JSON export: chat %s, %d messages", out.Chat.ID, len(out.Messages))
	}
	for i, m := range out.Messages {
		if m.SequenceNumber != i+1 || m.ContentHTML != "" {
			t.Fatalf("message %d of the export: %+v", i, m)
		}
	}

	// Hostile: an unknown format, a member it is not shared with, another workspace.
	if r := ts.do(req{method: "GET", path: cp + "/export?format=html", token: owner.token}); r.Status != 400 || r.errField() != "format" {
		t.Fatalf("format=html: %d %s", r.Status, r.Body)
	}
	ts.must(404, req{method: "GET", path: cp + "/export", token: member.token})
	other := ts.createWorkspace(member, "Elsewhere")
	ts.must(404, req{method: "GET", path: "/api/workspaces/" + other.ID + "/chats/" + chat.ID + "/export", token: member.token})
	ts.must(401, req{method: "GET", path: cp + "/export"})
}

// An unnamed chat downloads as chat.md titled "New chat".
func TestChatExportUnnamed(t *testing.T) {
	ts := newTestServer(t)
	owner := ts.signup("owner")
	ws := ts.createWorkspace(owner, "Acme")
	var chat api.ChatJSON
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/chats", token: owner.token}).json(&chat)
	r := ts.must(200, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/chats/" + chat.ID + "/export", token: owner.token})
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="chat.md"` || !strings.HasPrefix(string(r.Body), "# New chat\n") {
		t.Fatalf("unnamed export %q:\n%s", cd, r.Body)
	}
}

func storeResult(content, citations string) store.MessageResult {
	return store.MessageResult{Content: content, Status: store.MsgComplete, Citations: json.RawMessage(citations)}
}

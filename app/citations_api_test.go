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

// storedReply stores a question and a finished reply with the given sources.
func storedReply(t *testing.T, ts *testServer, wsID, chatID, content, status string, sources string) *store.Message {
	t.Helper()
	ctx := context.Background()
	q, err := ts.store.AppendMessage(ctx, wsID, chatID, "user", "what does the handbook say?", "", store.MsgComplete)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ts.store.AddMessage(ctx, wsID, chatID, "assistant", "", q.ID, "tiny", store.MsgStreaming)
	if err := ts.store.FinishMessage(ctx, wsID, a.ID, store.MessageResult{Content: content, Status: status, Citations: json.RawMessage(sources)}); err != nil {
		t.Fatal(err)
	}
	return a
}

func sourcesJSON(cited ...int) string {
	var parts []string
	for n := 1; n <= 5; n++ {
		c := false
		for _, k := range cited {
			c = c || k == n
		}
		parts = append(parts, fmt.Sprintf(`{"n":%d,"chunk_id":"chunk-%d","document_id":"doc-%d","document_name":"doc%d.txt","snippet":"passage number %d","cited":%v}`, n, n, n, n, n, c))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Only what a reply cites is listed, numbered as cited: a reply stopped
// before any text lists nothing, and a public page neither shows the passages
// it did not cite nor links an [n] to nowhere.
func TestOnlyCitedSourcesAreShown(t *testing.T) {
	ts := newTestServer(t)
	u, cp := chatFixture(ts)
	parts := strings.Split(cp, "/")
	wsID, chatID := parts[3], parts[5]
	stopped := storedReply(t, ts, wsID, chatID, "", store.MsgStopped, sourcesJSON())
	cited := storedReply(t, ts, wsID, chatID, "The handbook says so [2], not [7].", store.MsgComplete, sourcesJSON(2))

	page := string(ts.must(200, req{method: "GET", path: "/w/" + wsID + "/c/" + chatID, token: u.token}).Body)
	stoppedHTML := page[strings.Index(page, `id="m-`+stopped.ID+`"`):strings.Index(page, `id="m-`+cited.ID+`"`)]
	if strings.Contains(stoppedHTML, `class="sources"`) {
		t.Errorf("a reply stopped before any text lists sources:\n%s", stoppedHTML)
	}
	for _, n := range []int{1, 3, 4, 5} {
		if strings.Contains(page, fmt.Sprintf("passage number %d", n)) {
			t.Errorf("the chat page shows uncited passage %d", n)
		}
	}
	if !strings.Contains(page, "passage number 2") {
		t.Error("the chat page does not show the cited passage")
	}

	var pub struct {
		PublicID string `json:"public_id"`
	}
	ts.must(200, req{method: "POST", path: cp + "/public", token: u.token, body: map[string]bool{"enabled": true}}).json(&pub)
	public := string(ts.must(200, req{method: "GET", path: "/p/" + pub.PublicID}).Body)
	anchor := "src-" + cited.ID + "-2"
	if !strings.Contains(public, `href="#`+anchor+`"`) || !strings.Contains(public, `id="`+anchor+`"`) {
		t.Errorf("the public page's [2] does not link to its passage on the page (#%s)", anchor)
	}
	if strings.Contains(public, `data-cite="7"`) || !strings.Contains(public, "[7]") {
		t.Error("an [n] with no source should stay text, not a dead link")
	}
	for _, n := range []int{1, 3, 4, 5} {
		if strings.Contains(public, fmt.Sprintf("passage number %d", n)) {
			t.Errorf("the public page shows uncited passage %d", n)
		}
	}
	var transcript api.PublicChat
	ts.must(200, req{method: "GET", path: "/api/public/chats/" + pub.PublicID}).json(&transcript)
	for _, m := range transcript.Messages {
		var srcs []map[string]any
		json.Unmarshal(m.Citations, &srcs)
		if want := map[string]int{stopped.ID: 0, cited.ID: 1}[m.ID]; m.Role == "assistant" && (len(srcs) != want || (want == 1 && srcs[0]["n"] != 2.0)) {
			t.Errorf("public API message %s lists %d sources %v, want %d", m.ID, len(srcs), srcs, want)
		}
	}
}

// The passage behind [n] for the side panel: cited sources only, inside the
// chat, as the reader may see it.
func TestCitationPassage(t *testing.T) {
	ts := newTestServer(t)
	u, cp := chatFixture(ts)
	parts := strings.Split(cp, "/")
	a := storedReply(t, ts, parts[3], parts[5], "Yes [2].", store.MsgComplete, sourcesJSON(2))
	var p struct {
		N            int    `json:"n"`
		DocumentName string `json:"document_name"`
		Passage      string `json:"passage"`
		CanOpen      bool   `json:"can_open"`
	}
	ts.must(200, req{method: "GET", path: cp + "/messages/" + a.ID + "/citations/2", token: u.token}).json(&p)
	// The document is gone (never stored here): the stored snippet, and no link to open.
	if p.N != 2 || p.DocumentName != "doc2.txt" || p.Passage != "passage number 2" || p.CanOpen {
		t.Fatalf("citation 2: %+v", p)
	}
	ts.must(404, req{method: "GET", path: cp + "/messages/" + a.ID + "/citations/1", token: u.token}) // retrieved, not cited
	ts.must(404, req{method: "GET", path: cp + "/messages/" + a.ID + "/citations/9", token: u.token})
	for _, n := range []string{"0", "-1", "abc", "1000", "99999999999999999999"} {
		ts.must(400, req{method: "GET", path: cp + "/messages/" + a.ID + "/citations/" + n, token: u.token})
	}
	other := ts.signup("other")
	ts.must(404, req{method: "GET", path: cp + "/messages/" + a.ID + "/citations/2", token: other.token})
}

// Thumbs up/down with a note: per user per message, on answers only, inside
// chats the caller can read; shown to the workspace's admins per model.
func TestFeedbackOnAnswers(t *testing.T) {
	ts := newTestServer(t)
	alice, cp := chatFixture(ts)
	parts := strings.Split(cp, "/")
	wsID, chatID := parts[3], parts[5]
	a := storedReply(t, ts, wsID, chatID, "Yes [2].", store.MsgComplete, sourcesJSON(2))
	fb := cp + "/messages/" + a.ID + "/feedback"

	var got api.FeedbackJSON
	ts.must(200, req{method: "PUT", path: fb, token: alice.token, body: map[string]string{"rating": "down", "note": "wrong year"}}).json(&got)
	if got.Rating != "down" || got.Note != "wrong year" {
		t.Fatalf("rating: %+v", got)
	}
	msgs := ts.path(alice, cp)
	if f := msgs[1].Feedback; f == nil || f.Rating != "down" || msgs[0].Feedback != nil {
		t.Fatalf("the transcript's ratings: %+v / %+v", msgs[0].Feedback, msgs[1].Feedback)
	}

	// Hostile: a question, an overlong note, control characters, a bad rating.
	q := msgs[0].ID
	if r := ts.must(400, req{method: "PUT", path: cp + "/messages/" + q + "/feedback", token: alice.token, body: map[string]string{"rating": "up"}}); r.errField() != "msg" {
		t.Errorf("rating a question: field %q", r.errField())
	}
	if r := ts.must(400, req{method: "PUT", path: fb, token: alice.token, body: map[string]string{"rating": "up", "note": strings.Repeat("x", 2001)}}); r.errField() != "note" {
		t.Errorf("an overlong note: field %q", r.errField())
	}
	ts.must(400, req{method: "PUT", path: fb, token: alice.token, body: map[string]string{"rating": "up", "note": "ok\x1b]8;;http://evil\x07click"}})
	ts.must(400, req{method: "PUT", path: fb, token: alice.token, body: map[string]string{"rating": "5"}})
	ts.must(400, req{method: "PUT", path: fb, token: alice.token, body: `{"rating":"up","note":"x","extra":1}`})

	// Another user's chat: not found, not even rated as a reader elsewhere.
	bob := ts.signup("bob")
	ts.must(404, req{method: "PUT", path: fb, token: bob.token, body: map[string]string{"rating": "up"}})
	ws, _ := ts.store.WorkspaceByID(context.Background(), wsID)
	ts.addMember(api.WorkspaceView(ws), alice, bob, "member")
	ts.must(404, req{method: "PUT", path: fb, token: bob.token, body: map[string]string{"rating": "up"}}) // a member, but not shared
	ts.must(403, req{method: "GET", path: "/api/workspaces/" + wsID + "/feedback", token: bob.token})

	// Shared with bob: his rating is his own.
	ts.must(201, req{method: "POST", path: cp + "/shares", token: alice.token, body: map[string]int64{"user_id": bob.ID}})
	ts.must(200, req{method: "PUT", path: fb, token: bob.token, body: map[string]string{"rating": "up"}})
	if f := ts.path(alice, cp)[1].Feedback; f == nil || f.Rating != "down" {
		t.Fatalf("bob's rating changed alice's: %+v", f)
	}
	var sum api.FeedbackSummaryJSON
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + wsID + "/feedback", token: alice.token}).json(&sum)
	if len(sum.ByModel) != 1 || sum.ByModel[0] != (api.TallyJSON{Name: "tiny", Up: 1, Down: 1}) || len(sum.Notes) != 1 || sum.Notes[0].Note != "wrong year" {
		t.Fatalf("summary: %+v", sum)
	}
	ts.must(204, req{method: "DELETE", path: fb, token: bob.token})
	ts.must(404, req{method: "DELETE", path: fb, token: bob.token})
}

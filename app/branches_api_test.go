package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"quire/app/config"
	"quire/app/http/api"
	"quire/store"
)

func contentsOf(items []api.BranchJSON) []string {
	var out []string
	for _, m := range items {
		out = append(out, m.Content)
	}
	return out
}

func (ts *testServer) path(u user, cp string) []api.BranchJSON {
	var msgs api.List[api.BranchJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	return msgs.Items
}

// An edit and a regeneration keep what they replace: each is a version of its
// turn, the transcript shows the current one with "n of m", and switching
// brings an earlier version back with everything that followed it.
func TestEditAndRegenerateKeepVersions(t *testing.T) {
	ts, o := newOllamaServer(t)
	u, cp := chatFixture(ts)
	post := func(path string, body any) {
		ts.must(201, req{method: "POST", path: cp + path, token: u.token, body: body})
	}
	post("/messages", map[string]string{"content": "first"})
	post("/messages", map[string]string{"content": "second"})
	before := ts.path(u, cp)
	post("/regenerate", nil)
	after := ts.path(u, cp)
	last := after[len(after)-1]
	if len(after) != 4 || last.ID == before[3].ID || last.SiblingCount != 2 || last.SiblingIndex != 1 || !slices.Equal(last.SiblingIDs, []string{before[3].ID, last.ID}) {
		t.Fatalf("after regenerate, the last reply is %+v; want the second of two versions, the first kept", last)
	}

	// Back to the first answer of "second".
	ts.must(200, req{method: "POST", path: cp + "/messages/" + before[3].ID + "/switch", token: u.token})
	if got := ts.path(u, cp); got[3].ID != before[3].ID || got[3].SiblingIndex != 0 {
		t.Fatalf("after switching back: %+v", got[3])
	}

	// Editing the first question: a new version of turn 1, answered; the old
	// branch (four messages) stays.
	post("/messages/"+before[0].ID+"/edit", map[string]string{"content": "first, better"})
	got := ts.path(u, cp)
	if c := contentsOf(got); len(c) != 2 || c[0] != "first, better" || c[1] != o.ChatSentence || got[0].SiblingCount != 2 || got[0].SiblingIndex != 1 {
		t.Fatalf("after the edit: %q %+v", c, got[0])
	}
	ts.must(200, req{method: "POST", path: cp + "/messages/" + before[0].ID + "/switch", token: u.token})
	if c := contentsOf(ts.path(u, cp)); !slices.Equal(c, []string{"first", o.ChatSentence, "second", o.ChatSentence}) {
		t.Fatalf("the old branch after switching to it: %q", c)
	}
	// A new question continues the branch being read.
	post("/messages", map[string]string{"content": "third"})
	if c := contentsOf(ts.path(u, cp)); len(c) != 6 || c[2] != "second" || c[4] != "third" {
		t.Fatalf("a question on the old branch: %q", c)
	}
}

// Switching is the owner's, inside the chat: another chat's message, another
// workspace's chat, a shared reader and a reply being written are refused.
func TestSwitchBranchRefusals(t *testing.T) {
	ts := newTestServer(t)
	alice, cp := chatFixture(ts)
	ctx := context.Background()
	parts := strings.Split(cp, "/")
	wsID, chatID := parts[3], parts[5]
	q, _ := ts.store.AppendMessage(ctx, wsID, chatID, "user", "q", "", store.MsgComplete)
	var other api.ChatJSON
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + wsID + "/chats", token: alice.token, body: map[string]any{}}).json(&other)
	foreign, _ := ts.store.AppendMessage(ctx, wsID, other.ID, "user", "elsewhere", "", store.MsgComplete)
	ts.must(404, req{method: "POST", path: cp + "/messages/" + foreign.ID + "/switch", token: alice.token})
	ts.must(404, req{method: "POST", path: cp + "/messages/not-a-message/switch", token: alice.token})
	ts.must(404, req{method: "POST", path: cp + "/messages/" + foreign.ID + "/edit", token: alice.token, body: map[string]string{"content": "x"}})

	// Bob has his own workspace; alice's chat id under it is nothing.
	bob := ts.signup("bob")
	bws := ts.createWorkspace(bob, "Bob's")
	ts.must(404, req{method: "POST", path: "/api/workspaces/" + bws.ID + "/chats/" + chatID + "/messages/" + q.ID + "/switch", token: bob.token})
	ts.must(404, req{method: "POST", path: cp + "/messages/" + q.ID + "/switch", token: bob.token})

	// A reader of the shared chat sees its current path but cannot change it.
	ws, _ := ts.store.WorkspaceByID(ctx, wsID)
	ts.addMember(api.WorkspaceView(ws), alice, bob, "member")
	ts.must(201, req{method: "POST", path: cp + "/shares", token: alice.token, body: map[string]int64{"user_id": bob.ID}})
	ts.must(403, req{method: "POST", path: cp + "/messages/" + q.ID + "/switch", token: bob.token})
	if got := ts.path(bob, cp); len(got) != 1 || got[0].ID != q.ID {
		t.Fatalf("the reader's transcript: %+v", got)
	}
}

// recordingOllama puts a recorder in front of the real Ollama: the bodies
// of the chat calls Quire makes, to see what the model was given.
func recordingOllama(t *testing.T, target string) (string, func() []string) {
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/chat" {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(bodies)
	}
}

// The model is given the branch being read, never the other versions.
func TestModelSeesOnlyTheCurrentBranch(t *testing.T) {
	o := ollamaForTest(t)
	proxied, calls := recordingOllama(t, o.URL)
	ts := newTestServer(t, func(c *config.Config) { c.OllamaURL = proxied })
	setModels(t, ts, o)
	st := ts.srv.currentSettings()
	st.OllamaURL = proxied
	if err := ts.srv.saveSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	u, cp := chatFixture(ts)
	ask := func(path, content string) string {
		n := len(calls())
		ts.must(201, req{method: "POST", path: cp + path, token: u.token, body: map[string]string{"content": content}})
		for _, b := range calls()[n:] {
			if strings.Contains(b, content) && !strings.Contains(b, "Write a title") {
				var body struct{ Messages []struct{ Content string } }
				json.Unmarshal([]byte(b), &body)
				var all []string
				for _, m := range body.Messages {
					all = append(all, m.Content)
				}
				return strings.Join(all, "\n")
			}
		}
		t.Fatalf("no chat call carried %q", content)
		return ""
	}
	ask("/messages", "alpha question")
	q1 := ts.path(u, cp)[0].ID
	ask("/messages/"+q1+"/edit", "beta question")
	if p := ask("/messages", "gamma question"); !strings.Contains(p, "beta question") || strings.Contains(p, "alpha question") {
		t.Fatalf("on the edited branch the model was given:\n%s", p)
	}
	ts.must(200, req{method: "POST", path: cp + "/messages/" + q1 + "/switch", token: u.token})
	if p := ask("/messages", "delta question"); !strings.Contains(p, "alpha question") || strings.Contains(p, "beta question") || strings.Contains(p, "gamma question") {
		t.Fatalf("on the first branch the model was given:\n%s", p)
	}
}

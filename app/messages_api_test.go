package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"quire/app/http/api"
)

type sse struct {
	name string
	data json.RawMessage
}

func parseSSE(t *testing.T, body []byte) []sse {
	var out []sse
	var cur sse
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = json.RawMessage(strings.TrimPrefix(line, "data: "))
		case line == "" && cur.name != "":
			out = append(out, cur)
			cur = sse{}
		}
	}
	return out
}

// chatFixture: a member with a chat in a workspace.
func chatFixture(ts *testServer) (user, string) {
	u := ts.signup("asker")
	ws := ts.createWorkspace(u, "Acme")
	var ch api.ChatJSON
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/chats", token: u.token, body: map[string]any{}}).json(&ch)
	return u, "/api/workspaces/" + ws.ID + "/chats/" + ch.ID
}

func TestStreamedReplyFromRealOllama(t *testing.T) {
	ts, o := newOllamaServer(t)
	u, cp := chatFixture(ts)
	res := ts.must(200, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "How do answers work?"},
		headers: map[string]string{"Accept": "text/event-stream"}})
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	evs := parseSSE(t, res.Body)
	if len(evs) < 4 || evs[0].name != "user_message" || evs[1].name != "citations" || evs[len(evs)-1].name != "done" {
		t.Fatalf("events %v", evs)
	}
	var text strings.Builder
	for _, e := range evs[2 : len(evs)-1] {
		if e.name != "delta" {
			t.Fatalf("unexpected %s between citations and done", e.name)
		}
		var d struct{ Content string }
		json.Unmarshal(e.data, &d)
		text.WriteString(d.Content)
	}
	var done api.MessageJSON
	json.Unmarshal(evs[len(evs)-1].data, &done)
	if text.String() != o.ChatSentence || done.Content != o.ChatSentence || done.Status != "complete" || done.InputTokens == 0 || done.OutputTokens == 0 {
		t.Fatalf("streamed %q, stored %+v", text.String(), done)
	}
	var msgs api.List[api.MessageJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	if len(msgs.Items) != 2 || msgs.Items[0].Role != "user" || msgs.Items[1].Content != o.ChatSentence || *msgs.Items[1].ParentID != msgs.Items[0].ID {
		t.Fatalf("stored messages %+v", msgs.Items)
	}
	// The chat got a title from its first exchange (written after the reply).
	var ch api.ChatJSON
	for range 250 { // up to 5 s
		if ts.must(200, req{method: "GET", path: cp, token: u.token}).json(&ch); ch.Name != "" {
			break
		}
		sleepBriefly()
	}
	if ch.Name == "" || strings.Contains(ch.Name, "[1]") {
		t.Fatalf("chat title %q", ch.Name)
	}
}

func TestJSONRegenerateAndEdit(t *testing.T) {
	ts, o := newOllamaServer(t)
	u, cp := chatFixture(ts)
	var out struct {
		UserMessage      api.MessageJSON `json:"user_message"`
		AssistantMessage api.MessageJSON `json:"assistant_message"`
	}
	ts.must(201, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "first"}}).json(&out)
	if out.UserMessage.SequenceNumber != 1 || out.AssistantMessage.SequenceNumber != 2 || out.AssistantMessage.Content != o.ChatSentence {
		t.Fatalf("reply %+v", out)
	}
	ts.must(201, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "second"}})
	ts.must(201, req{method: "POST", path: cp + "/regenerate", token: u.token}).json(&out)
	if out.UserMessage.Content != "second" {
		t.Fatalf("regenerate answered %q, want the last question", out.UserMessage.Content)
	}
	var msgs api.List[api.BranchJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	if len(msgs.Items) != 4 || msgs.Items[3].ID != out.AssistantMessage.ID || msgs.Items[2].Content != "second" {
		t.Fatalf("after regenerate %+v", msgs.Items)
	}
	ts.must(400, req{method: "POST", path: cp + "/messages/" + msgs.Items[1].ID + "/edit", token: u.token, body: map[string]string{"content": "x"}})
	ts.must(400, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "  "}})
	ts.must(409, req{method: "POST", path: cp + "/stop", token: u.token})
}

func TestOllamaDownKeepsTheQuestion(t *testing.T) {
	ts := newTestServer(t) // Ollama URL points at a closed port
	st := ts.srv.currentSettings()
	st.DefaultChatModel = "llama3"
	ts.srv.saveSettings(context.Background(), st)
	u, cp := chatFixture(ts)
	res := ts.must(503, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "Are you there?"},
		headers: map[string]string{"Accept": "text/event-stream"}})
	if res.errCode() != "model_unavailable" || !strings.Contains(string(res.Body), "Ollama") {
		t.Fatalf("down: %s", res.Body)
	}
	var msgs api.List[api.MessageJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	if len(msgs.Items) != 1 || msgs.Items[0].Content != "Are you there?" {
		t.Fatalf("the question was lost: %+v", msgs.Items)
	}
}

// fakeOllama answers /api/show and streams /api/chat as told: for faults a real
// server cannot produce on demand (a stream that stops before done, a slow one).
func fakeOllama(t *testing.T, chatHandler func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/show":
			fmt.Fprint(w, `{"capabilities":["completion"],"model_info":{"llama.context_length":4096}}`)
		case "/api/chat":
			chatHandler(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func ndjson(w http.ResponseWriter, content string, done bool) {
	fmt.Fprintf(w, `{"model":"fake","message":{"role":"assistant","content":%q},"done":%v,"prompt_eval_count":7,"eval_count":3}`+"\n", content, done)
	w.(http.Flusher).Flush()
}

func serverWithOllama(t *testing.T, url string) *testServer {
	ts := newTestServer(t)
	st := ts.srv.currentSettings()
	st.OllamaURL, st.DefaultChatModel = url, "fake"
	ts.srv.saveSettings(context.Background(), st)
	return ts
}

func TestDroppedStreamIsStoredAsFailed(t *testing.T) {
	fake := fakeOllama(t, func(w http.ResponseWriter, r *http.Request) {
		ndjson(w, "Half of", false)
		ndjson(w, " an answer", false) // and the connection ends without done
	})
	ts := serverWithOllama(t, fake.URL)
	ts.srv.currentSettings()
	u, cp := chatFixture(ts)
	res := ts.must(200, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "q"},
		headers: map[string]string{"Accept": "text/event-stream"}})
	evs := parseSSE(t, res.Body)
	if last := evs[len(evs)-1]; last.name != "error" || !strings.Contains(string(last.data), "stopped before finishing") {
		t.Fatalf("last event %s %s", last.name, last.data)
	}
	var msgs api.List[api.MessageJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	if a := msgs.Items[1]; a.Status != "failed" || a.Content != "Half of an answer" {
		t.Fatalf("stored %+v", a)
	}
}

// slowOllama streams a word every 20 ms, n words, then done.
func slowOllama(t *testing.T, n int) *httptest.Server {
	return fakeOllama(t, func(w http.ResponseWriter, r *http.Request) {
		for i := range n {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			ndjson(w, fmt.Sprintf("w%d ", i), false)
		}
		ndjson(w, "", true)
	})
}

// streamWords posts a question as SSE on a real socket and reports (by closing
// the channel) once n words of the reply have streamed.
func streamWords(t testing.TB, base, path, token string, n int) <-chan struct{} {
	words := make(chan struct{})
	go func() {
		r, _ := http.NewRequest("POST", base+path, strings.NewReader(`{"content":"long one"}`))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		sc, deltas := bufio.NewScanner(resp.Body), 0
		for sc.Scan() {
			if sc.Text() == "event: delta" {
				if deltas++; deltas == n {
					close(words)
				}
			}
		}
	}()
	select {
	case <-words:
	case <-time.After(10 * time.Second):
		t.Fatal("no words streamed within 10 s")
	}
	return words
}

func TestStopKeepsThePartialReply(t *testing.T) {
	ts := serverWithOllama(t, slowOllama(t, 200).URL)
	u, cp := chatFixture(ts)
	base := "http://" + ts.listen()
	streamWords(t, base, cp+"/messages", u.token, 2) // stop once a couple of words have streamed
	var stopped struct {
		AssistantMessage api.MessageJSON `json:"assistant_message"`
	}
	ts.must(200, req{method: "POST", path: cp + "/stop", token: u.token}).json(&stopped)
	a := stopped.AssistantMessage
	if a.Status != "stopped" || !strings.HasPrefix(a.Content, "w0 w1") || strings.Contains(a.Content, "w199") {
		t.Fatalf("stopped reply %+v", a)
	}
}

func TestReplyIsStoredWhenTheBrowserLeaves(t *testing.T) {
	ts := serverWithOllama(t, slowOllama(t, 15).URL)
	u, cp := chatFixture(ts)
	base := "http://" + ts.listen()
	r, _ := http.NewRequest("POST", base+cp+"/messages", strings.NewReader(`{"content":"and then?"}`))
	r.Header.Set("Authorization", "Bearer "+u.token)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	resp.Body.Read(buf) // the first event arrived...
	resp.Body.Close()   // ...and the browser went away
	deadline := time.Now().Add(5 * time.Second)
	for {
		var msgs api.List[api.MessageJSON]
		ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
		if len(msgs.Items) == 2 && msgs.Items[1].Status == "complete" {
			if !strings.HasPrefix(msgs.Items[1].Content, "w0 ") || !strings.Contains(msgs.Items[1].Content, "w14") {
				t.Fatalf("stored reply %q", msgs.Items[1].Content)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply not stored after the client left: %+v", msgs.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConcurrentPostsToOneChat(t *testing.T) {
	ts, _ := newOllamaServer(t)
	u, cp := chatFixture(ts)
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := ts.do(req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": fmt.Sprintf("q%d", i)}})
			codes <- res.Status
		}()
	}
	wg.Wait()
	close(codes)
	let := 0 // a post that arrives after the first reply has finished is let through too
	for c := range codes {
		if c != 201 && c != 409 {
			t.Fatalf("status %d under concurrent posts", c)
		}
		if c == 201 {
			let++
		}
	}
	if let == 0 {
		t.Fatal("no post was let through")
	}
	// The transcript is a branch in order, with the one reply right under its
	// question (the store's own test checks the numbers are distinct and
	// gap-free). Questions refused with 409 are stored as they raced in; one
	// stored before the reply began sits beside it as another version.
	var msgs api.List[api.BranchJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	replies := 0
	for i, m := range msgs.Items {
		if m.Role == "assistant" {
			replies++
			if i == 0 || msgs.Items[i-1].ID != *m.ParentID {
				t.Fatalf("the reply is not under its question: %+v", msgs.Items)
			}
		}
	}
	if replies != let {
		t.Fatalf("%d replies in the transcript, want one per post let through (%d)", replies, let)
	}
	for i := 1; i < len(msgs.Items); i++ {
		if msgs.Items[i].SequenceNumber <= msgs.Items[i-1].SequenceNumber {
			t.Fatalf("sequence numbers out of order: %+v", msgs.Items)
		}
	}
}

// A follow-up question sent as soon as the first reply's done event arrives
// is answered (201), even when the model takes seconds to write the chat's
// title: the title is written after the reply, outside the chat's one
// running reply.
func TestFollowUpRightAfterDoneWhileTheTitleIsSlow(t *testing.T) {
	titled := make(chan struct{})
	fake := fakeOllama(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "Write a title") {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
				return
			}
			ndjson(w, "Slow title", true)
			close(titled)
			return
		}
		ndjson(w, "An answer.", true)
	})
	ts := serverWithOllama(t, fake.URL)
	u, cp := chatFixture(ts) // unnamed: the first reply asks for a title
	res := ts.must(200, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "first"},
		headers: map[string]string{"Accept": "text/event-stream"}})
	if evs := parseSSE(t, res.Body); evs[len(evs)-1].name != "done" {
		t.Fatalf("events %v", evs)
	}
	began := time.Now()
	ts.must(201, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "and then?"}})
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("the follow-up took %v: it waited for the title", d)
	}
	select {
	case <-titled:
		t.Fatal("the title was already written: the test shows nothing")
	default:
	}
	<-titled
}

package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"quire/app/billing"
	"quire/app/config"
	"quire/app/http/api"
	"quire/app/http/request"
)

// countingOllama answers like Ollama with honest counts: the reply has exactly
// num_predict tokens (a real server stops there) and the prompt 20, after a
// pause so that parallel requests overlap. sem, when set, makes it serve that
// many requests at a time, as a real server with OLLAMA_NUM_PARALLEL does;
// arrived, when set, counts the chat requests received.
func countingOllama(t *testing.T, pause time.Duration, sem chan struct{}, arrived *atomic.Int64) string {
	return fakeOllama(t, func(w http.ResponseWriter, r *http.Request) {
		if arrived != nil {
			arrived.Add(1)
		}
		var in struct {
			Options struct {
				NumPredict int `json:"num_predict"`
			} `json:"options"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		if sem != nil {
			sem <- struct{}{}
			defer func() { <-sem }()
		}
		time.Sleep(pause)
		fmt.Fprintf(w, `{"model":"fake","message":{"role":"assistant","content":"ok"},"done":true,"prompt_eval_count":20,"eval_count":%d}`+"\n", in.Options.NumPredict)
	}).URL
}

// rawDB opens the test server's database file directly, to look at and age
// rows no API shows (reservations).
func (ts *testServer) rawDB() *sql.DB {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(ts.cfg.DataDir, "quire.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { db.Close() })
	return db
}

// chatsOf creates n chats for u in workspace wsID and returns their paths.
func (ts *testServer) chatsOf(u user, wsID string, n int, body map[string]any) []string {
	ts.t.Helper()
	paths := make([]string, n)
	for i := range paths {
		var ch api.ChatJSON
		ts.must(201, req{method: "POST", path: "/api/workspaces/" + wsID + "/chats", token: u.token, body: body}).json(&ch)
		paths[i] = "/api/workspaces/" + wsID + "/chats/" + ch.ID
	}
	return paths
}

// waitForReplies waits until no reply (nor its title) is being written in the chats.
func (ts *testServer) waitForReplies(paths []string) {
	ts.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range paths {
		for ts.srv.answer.Running(p[strings.LastIndex(p, "/")+1:]) != nil {
			if time.Now().After(deadline) {
				ts.t.Fatal("replies still running after 20 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Fifteen parallel questions against a 668-token monthly limit: every call
// reserves its worst case (prompt bytes + template overhead, and max_tokens as
// num_predict) before it starts, so the month's usage stays within the limit
// (bound asserted: limit + one call's estimate, in case an estimate ran short).
// Before, all fifteen passed a check of usage recorded after the calls.
func TestParallelRepliesStayWithinTheTokenLimit(t *testing.T) {
	const limit = 668
	ts := newTestServer(t, func(c *config.Config) {
		c.Generation = config.Generation{PerUser: 20, PerWorkspace: 20, InFlight: 20, PostsPerMinute: 20}
	})
	st := ts.srv.currentSettings()
	st.OllamaURL, st.DefaultChatModel, st.TokenLimit = countingOllama(t, 100*time.Millisecond, nil, nil), "fake", limit
	ts.srv.saveSettings(context.Background(), st)
	u := ts.signup("spender")
	ws := ts.createWorkspace(u, "Acme")
	paths := ts.chatsOf(u, ws.ID, 15, map[string]any{"name": "named", "max_tokens": 50})

	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := ts.do(req{method: "POST", path: p + "/messages", token: u.token, body: map[string]string{"content": fmt.Sprintf("question %d", i)}})
			mu.Lock()
			codes[res.Status]++
			mu.Unlock()
			if res.Status == 402 && res.errCode() != "quota_exceeded" {
				t.Errorf("402 with code %s", res.errCode())
			}
		}()
	}
	wg.Wait()
	ts.waitForReplies(paths)
	// One call's estimate: 64 + (8 + 10) for the question, 50 for the reply.
	const oneCall = 64 + 18 + 50
	costs, _ := ts.store.WorkspaceCosts(context.Background(), ws.ID)
	used := costs.InputTokens + costs.OutputTokens
	t.Logf("limit %d: used %d tokens; statuses %v", limit, used, codes)
	if used > limit+oneCall {
		t.Fatalf("used %d tokens against a limit of %d (bound %d); statuses %v", used, limit, limit+oneCall, codes)
	}
	if codes[201] == 0 || codes[402] == 0 || codes[201]+codes[402] != 15 {
		t.Fatalf("want some replies and the rest 402: %v", codes)
	}
	// Nothing is left reserved once the calls are settled.
	var held int
	ts.rawDB().QueryRow(`SELECT count(*) FROM usage_reservations`).Scan(&held)
	if held != 0 {
		t.Fatalf("%d reservations left after every call ended", held)
	}
}

// A reservation left by a process that died mid-call stops counting once it
// expires, and a restart releases all of them; a live one counts.
func TestQuotaReservationsLeftByACrashAreReleased(t *testing.T) {
	ts := newTestServer(t)
	st := ts.srv.currentSettings()
	st.TokenLimit = 100
	ts.srv.saveSettings(context.Background(), st)
	u := ts.quickUser("owner")
	ws := ts.createWorkspace(u, "Acme")
	ctx := context.Background()
	if _, err := ts.srv.plan.Reserve(ctx, ws.ID, "m", 60, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.srv.plan.Reserve(ctx, ws.ID, "m", 60, 0); err == nil || request.ToAPIError(err).Code != "quota_exceeded" {
		t.Fatalf("second hold of 60 within 100: %v", err)
	}
	ts.rawDB().Exec(`UPDATE usage_reservations SET expires_at = '2000-01-01T00:00:00.000000Z'`) // as if its process died long ago
	if _, err := ts.srv.plan.Reserve(ctx, ws.ID, "m", 60, 0); err != nil {
		t.Fatalf("an expired hold still counts: %v", err)
	}
	// A restart releases what the previous process held at once.
	srv, err := New(ctx, ts.cfg, ts.store, os.DirFS("../web"), ts.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.plan.Reserve(ctx, ws.ID, "m", 100, 0); err != nil {
		t.Fatalf("a hold from before the restart still counts: %v", err)
	}
}

// Sixty parallel uploads to a workspace on the Free plan (50 documents) create
// exactly 50: the count is checked in the transaction that adds the row.
func TestParallelUploadsStopAtTheDocumentLimit(t *testing.T) {
	ts := newTestServer(t)
	ts.srv.billing = billing.New(billing.Config{SecretKey: "sk_test_quire", APIURL: "http://127.0.0.1:1"}, ts.store, ts.srv.log) // no subscription: Free
	ts.srv.plan = ts.srv.newPlan()
	ts.rewire()
	u := ts.signup("uploader")
	ws := ts.createWorkspace(u, "Acme")
	limit := billing.Free().Documents
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range limit + 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := ts.upload(u, ws.ID, fmt.Sprintf("n%d.txt", i), []byte("some notes"), nil)
			mu.Lock()
			codes[res.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	count, _, _ := ts.store.DocumentTotals(context.Background(), ws.ID)
	if count != limit || int64(codes[202]) != limit || codes[402] != 10 {
		t.Fatalf("%d documents (limit %d), statuses %v", count, limit, codes)
	}
}

// One user firing 40 replies at once in one workspace does not hold up another
// workspace's reply. The fake model server serves 4 requests at a time, like a
// real one with OLLAMA_NUM_PARALLEL=4, and each reply takes 300 ms: before, the
// 40 queued ahead and the other workspace waited ~3 s; now the flooder holds
// at most 2 (per-user limit; the rest get 429 with Retry-After) and slots go
// round-robin across workspaces.
func TestFloodInOneWorkspaceDoesNotStarveAnother(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Generation.PostsPerMinute = 100 })
	st := ts.srv.currentSettings()
	var arrived, refused atomic.Int64
	st.OllamaURL, st.DefaultChatModel = countingOllama(t, 300*time.Millisecond, make(chan struct{}, 4), &arrived), "fake"
	ts.srv.saveSettings(context.Background(), st)
	flooder, other := ts.signup("flooder"), ts.signup("other")
	wsA, wsB := ts.createWorkspace(flooder, "Busy"), ts.createWorkspace(other, "Quiet")
	flood := ts.chatsOf(flooder, wsA.ID, 40, map[string]any{"name": "f"})
	quiet := ts.chatsOf(other, wsB.ID, 1, map[string]any{"name": "q"})[0]

	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := ts.do(req{method: "POST", path: p + "/messages", token: flooder.token, body: map[string]string{"content": "flood"}})
			if res.Status != 201 {
				refused.Add(1)
			}
			mu.Lock()
			codes[res.Status]++
			mu.Unlock()
			if res.Status == 429 && (res.errCode() != "rate_limited" || res.Header.Get("Retry-After") == "") {
				t.Errorf("429 without rate_limited and Retry-After: %v %s", res.Header, res.Body)
			}
		}()
	}
	// Ask once every flood request is either refused or at the model server.
	for deadline := time.Now().Add(10 * time.Second); arrived.Load()+refused.Load() < int64(len(flood)); {
		if time.Now().After(deadline) {
			t.Fatalf("the flood did not arrive: %d at the model, %d refused", arrived.Load(), refused.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	ts.must(201, req{method: "POST", path: quiet + "/messages", token: other.token, body: map[string]string{"content": "hello?"}})
	latency := time.Since(start)
	wg.Wait()
	t.Logf("other workspace's reply during the flood: %v; flood statuses %v", latency.Round(time.Millisecond), codes)
	if codes[429] < 35 || codes[201] > 5 {
		t.Fatalf("the flooder was not limited: %v", codes)
	}
	if latency > 1500*time.Millisecond { // one reply is 300 ms
		t.Fatalf("the other workspace's reply took %v during the flood", latency)
	}
}

// The same with the real Ollama test server: the flooder gets 429s and the
// other workspace's reply latency, measured with and without the flood, stays
// close (the figures are logged).
func TestFloodWithRealOllama(t *testing.T) {
	ts, o := newOllamaServer(t)
	flooder, other := ts.signup("flooder"), ts.signup("other")
	wsA, wsB := ts.createWorkspace(flooder, "Busy"), ts.createWorkspace(other, "Quiet")
	flood := ts.chatsOf(flooder, wsA.ID, 40, map[string]any{"name": "f", "max_tokens": 256})
	quiet := ts.chatsOf(other, wsB.ID, 1, map[string]any{"name": "q"})[0]
	ask := func() time.Duration {
		start := time.Now()
		var out struct {
			AssistantMessage api.MessageJSON `json:"assistant_message"`
		}
		ts.must(201, req{method: "POST", path: quiet + "/messages", token: other.token, body: map[string]string{"content": "How do answers work?"}}).json(&out)
		if out.AssistantMessage.Content != o.ChatSentence {
			t.Fatalf("reply %+v", out.AssistantMessage)
		}
		return time.Since(start)
	}
	ask() // warm
	alone := ask()

	stop := make(chan struct{})
	var limited, served int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range flood { // each chat posts again as soon as it can, until stopped
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res := ts.do(req{method: "POST", path: p + "/messages", token: flooder.token, body: map[string]string{"content": "Tell me everything."}})
				mu.Lock()
				if res.Status == 429 {
					limited++
				} else if res.Status == 201 {
					served++
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	during := ask()
	close(stop)
	wg.Wait()
	t.Logf("other workspace's reply: %v alone, %v during the flood (flooder: %d served, %d refused with 429)",
		alone.Round(time.Millisecond), during.Round(time.Millisecond), served, limited)
	if limited == 0 {
		t.Fatal("the flooder never got 429")
	}
	if during > alone*5+2*time.Second {
		t.Fatalf("the other workspace waited %v during the flood (%v alone)", during, alone)
	}
}

// Sampling settings and model names are validated on every entry point, with
// 400 invalid_request naming the field.
func TestGenerationSettingsAreValidated(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("dev")
	ws := ts.createWorkspace(u, "Acme")
	var key api.TokenJSON
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: u.token, body: map[string]string{"name": "sdk", "workspace_id": ws.ID}}).json(&key)
	chats := "/api/workspaces/" + ws.ID + "/chats"
	var ch api.ChatJSON
	ts.must(201, req{method: "POST", path: chats, token: u.token, body: map[string]any{"model": "llama3.2:3b", "max_tokens": 32768, "temperature": 0, "top_p": 1}}).json(&ch)
	bad := []struct {
		field string
		body  map[string]any
	}{
		{"model", map[string]any{"model": "llama3; rm -rf /"}},
		{"model", map[string]any{"model": strings.Repeat("m", 201)}},
		{"model", map[string]any{"model": "../../etc/passwd\n"}},
		{"max_tokens", map[string]any{"max_tokens": 0}},
		{"max_tokens", map[string]any{"max_tokens": 32769}},
		{"temperature", map[string]any{"temperature": 2.5}},
		{"temperature", map[string]any{"temperature": -1}},
		{"top_p", map[string]any{"top_p": 1.5}},
		{"top_p", map[string]any{"top_p": 0}},
	}
	for _, b := range bad {
		for _, r := range []req{{method: "POST", path: chats, body: b.body}, {method: "PATCH", path: chats + "/" + ch.ID, body: b.body}} {
			r.token = u.token
			res := ts.do(r)
			if res.Status != 400 || res.errCode() != "invalid_request" || res.errField() != b.field {
				t.Errorf("%s %v: %d %s, want 400 naming %s", r.method, b.body, res.Status, res.Body, b.field)
			}
		}
		v1 := map[string]any{"model": "llama3", "messages": []map[string]string{{"role": "user", "content": "hi"}}}
		for k, v := range b.body {
			v1[k] = v
		}
		if res := ts.do(req{method: "POST", path: "/v1/chat/completions", token: key.Token, body: v1}); res.Status != 400 || res.errField() != b.field {
			t.Errorf("/v1/chat/completions %v: %d %s, want 400 naming %s", b.body, res.Status, res.Body, b.field)
		}
	}
	if res := ts.do(req{method: "POST", path: "/v1/embeddings", token: key.Token, body: map[string]any{"model": "nomic embed!", "input": "x"}}); res.Status != 400 || res.errField() != "model" {
		t.Errorf("/v1/embeddings with a bad model name: %d %s", res.Status, res.Body)
	}
}

// A question over 32 KB is refused with 413 naming the limit, and nothing is stored.
func TestLongQuestionIsRefused(t *testing.T) {
	ts := newTestServer(t)
	u, cp := chatFixture(ts)
	res := ts.do(req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": strings.Repeat("a", 32<<10+1)}})
	if res.Status != 413 || res.errCode() != "payload_too_large" || res.errField() != "content" || !strings.Contains(string(res.Body), "32 KB") {
		t.Fatalf("33 KB question: %d %s", res.Status, res.Body)
	}
	var msgs api.List[api.MessageJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	if len(msgs.Items) != 0 {
		t.Fatalf("the refused question was stored: %d messages", len(msgs.Items))
	}
}

// Posts to a chat whose model is missing keep the question (503) until the
// user's posts for the minute are spent; then 429 with Retry-After, nothing stored.
func TestPostsPerMinuteAreCapped(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Generation.PostsPerMinute = 5 })
	st := ts.srv.currentSettings()
	st.DefaultChatModel = "missing"
	ts.srv.saveSettings(context.Background(), st)
	u, cp := chatFixture(ts)
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := ts.do(req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": strings.Repeat("x", 1000)}})
			mu.Lock()
			codes[res.Status]++
			mu.Unlock()
			if res.Status == 429 && res.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}()
	}
	wg.Wait()
	var msgs api.List[api.MessageJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	if codes[503] != 5 || codes[429] != 15 || len(msgs.Items) != 5 {
		t.Fatalf("statuses %v, %d questions stored; want 5 kept (503) and 15 refused (429)", codes, len(msgs.Items))
	}
}

// GET messages and the public chat page through a long chat with docs/API.md's
// ?limit=&cursor=; latest=true gives the newest page.
func TestMessageListsArePaginated(t *testing.T) {
	ts := newTestServer(t)
	u, cp := chatFixture(ts)
	parts := strings.Split(cp, "/")
	ctx := context.Background()
	for i := range 7 {
		if _, err := ts.store.AppendMessage(ctx, parts[3], parts[5], "user", fmt.Sprintf("m%d", i+1), "", "complete"); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	path := cp + "/messages?limit=3"
	for pages := 0; ; pages++ {
		var l api.List[api.MessageJSON]
		ts.must(200, req{method: "GET", path: path, token: u.token}).json(&l)
		if len(l.Items) > 3 || pages > 3 {
			t.Fatalf("page of %d (limit 3), page %d", len(l.Items), pages)
		}
		for _, m := range l.Items {
			got = append(got, m.Content)
		}
		if l.NextCursor == nil {
			break
		}
		path = cp + "/messages?limit=3&cursor=" + *l.NextCursor
	}
	if strings.Join(got, ",") != "m1,m2,m3,m4,m5,m6,m7" {
		t.Fatalf("paged through %v", got)
	}
	var latest api.List[api.MessageJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages?limit=2&latest=true", token: u.token}).json(&latest)
	if len(latest.Items) != 2 || latest.Items[0].Content != "m6" || latest.Items[1].Content != "m7" {
		t.Fatalf("latest page %+v", latest.Items)
	}
	ts.must(400, req{method: "GET", path: cp + "/messages?limit=201", token: u.token})

	var pub struct {
		PublicID string `json:"public_id"`
	}
	ts.must(200, req{method: "POST", path: cp + "/public", token: u.token, body: map[string]bool{"enabled": true}}).json(&pub)
	var pc api.PublicChat
	ts.must(200, req{method: "GET", path: "/api/public/chats/" + pub.PublicID + "?limit=4"}).json(&pc)
	if len(pc.Messages) != 4 || pc.NextCursor == nil {
		t.Fatalf("public page: %d messages, next %v", len(pc.Messages), pc.NextCursor)
	}
	ts.must(200, req{method: "GET", path: "/api/public/chats/" + pub.PublicID + "?limit=4&cursor=" + *pc.NextCursor}).json(&pc)
	if len(pc.Messages) != 3 || pc.NextCursor != nil || pc.Messages[2].Content != "m7" {
		t.Fatalf("public second page %+v", pc)
	}
}

// A non-streamed reply that cannot reach the model answers 503
// model_unavailable (docs/API.md); the question and the failed reply are kept.
func TestJSONReplyWithModelGoneIs503(t *testing.T) {
	gone := fakeOllama(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"model 'fake' not found"}`)
	})
	ts := serverWithOllama(t, gone.URL)
	u, cp := chatFixture(ts)
	res := ts.do(req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "still there?"}})
	if res.Status != 503 || res.errCode() != "model_unavailable" {
		t.Fatalf("model gone: %d %s", res.Status, res.Body)
	}
	var msgs api.List[api.MessageJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	if len(msgs.Items) != 2 || msgs.Items[0].Content != "still there?" || msgs.Items[1].Status != "failed" {
		t.Fatalf("stored %+v", msgs.Items)
	}
}

// The public page of a long chat shows one page and links to the next.
func TestPublicPageLinksToLaterMessages(t *testing.T) {
	ts := newTestServer(t)
	u, cp := chatFixture(ts)
	parts := strings.Split(cp, "/")
	for i := range 52 {
		if _, err := ts.store.AppendMessage(context.Background(), parts[3], parts[5], "user", fmt.Sprintf("message number %d", i+1), "", "complete"); err != nil {
			t.Fatal(err)
		}
	}
	var pub struct {
		PublicID string `json:"public_id"`
	}
	ts.must(200, req{method: "POST", path: cp + "/public", token: u.token, body: map[string]bool{"enabled": true}}).json(&pub)
	page := string(ts.must(200, req{method: "GET", path: "/p/" + pub.PublicID}).Body)
	if !strings.Contains(page, "message number 50<") || strings.Contains(page, "message number 51<") || !strings.Contains(page, "Later messages") {
		t.Fatalf("first public page does not stop at 50 with a link to the rest")
	}
	next := page[strings.Index(page, `href="?cursor=`)+len(`href="?cursor=`):]
	next = next[:strings.Index(next, `"`)]
	page = string(ts.must(200, req{method: "GET", path: "/p/" + pub.PublicID + "?cursor=" + next}).Body)
	if !strings.Contains(page, "message number 52<") || strings.Contains(page, "message number 50<") || strings.Contains(page, "Later messages") {
		t.Fatalf("second public page")
	}
}

// A reply stopped before Ollama's final message (which carries the counts)
// is still accounted, from its text: stopping early is not a way around the quota.
func TestStoppedReplyIsAccounted(t *testing.T) {
	ts := serverWithOllama(t, slowOllama(t, 200).URL)
	u, cp := chatFixture(ts)
	base := "http://" + ts.listen()
	streamWords(t, base, cp+"/messages", u.token, 2)
	ts.must(200, req{method: "POST", path: cp + "/stop", token: u.token})
	costs, _ := ts.store.WorkspaceCosts(context.Background(), strings.Split(cp, "/")[3])
	if costs.InputTokens == 0 || costs.OutputTokens == 0 {
		t.Fatalf("stopped reply accounted as %+v", costs)
	}
}

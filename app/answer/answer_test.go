package answer_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"quire/app/answer"
	"quire/app/chat"
	"quire/app/config"
	"quire/app/fault"
	"quire/app/llm"
	"quire/app/llm/ollamatest"
	"quire/app/ops"
	"quire/app/plan"
	"quire/store"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

type env struct {
	st   *store.Store
	svc  *answer.Service
	ws   *store.Workspace
	user *store.User
}

func newEnv(t *testing.T, ollamaURL, model string, prices map[string]config.Price) *env {
	t.Helper()
	return newEnvFull(t, ollamaURL, model, prices, nil)
}

// newEnvWith is newEnv whose chats search their knowledge bases with search.
func newEnvWith(t *testing.T, ollamaURL, model string, search answer.Searcher) *env {
	t.Helper()
	return newEnvFull(t, ollamaURL, model, nil, search)
}

func newEnvFull(t *testing.T, ollamaURL, model string, prices map[string]config.Price, search answer.Searcher) *env {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client, err := llm.New(ollamaURL, llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := plan.New(plan.Config{Store: st, Prices: prices, SelfHosted: func() (int64, int64) { return 0, 0 }})
	svc := answer.New(answer.Config{Store: st, LLM: client, Plan: p, Search: search, DefaultModel: func() string { return model },
		PerUser: 4, PerWorkspace: 8, InFlight: 4})
	t.Cleanup(func() { svc.Shutdown(time.Now().Add(10 * time.Second)) })
	u, err := st.CreateUser(t.Context(), "asker@example.com", "Asker", "x", true)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.CreateWorkspace(t.Context(), u.ID, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return &env{st, svc, ws, u}
}

func (e *env) chat(t *testing.T, name string) *store.Chat {
	t.Helper()
	ch, err := e.st.CreateChat(t.Context(), e.ws.ID, e.user.ID, store.ChatFields{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// ask stores a question in ch and starts its reply.
func (e *env) ask(t *testing.T, ch *store.Chat, question string) (*answer.Generation, error) {
	t.Helper()
	q, err := e.st.AppendMessage(t.Context(), e.ws.ID, ch.ID, "user", question, "", store.MsgComplete)
	if err != nil {
		t.Fatal(err)
	}
	return e.svc.Ask(t.Context(), answer.Turn{WorkspaceID: e.ws.ID, Viewer: store.Viewer{UserID: e.user.ID}, Chat: ch, Question: q})
}

func wait(t *testing.T, g *answer.Generation) answer.Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := g.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.Failure != nil {
		t.Fatalf("reply failed: %v", out.Failure)
	}
	return out
}

// slowTitleOllama answers questions at once and titles after delay.
func slowTitleOllama(t *testing.T, delay time.Duration, titles *atomic.Int64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/show":
			fmt.Fprint(w, `{"capabilities":["completion"],"model_info":{"llama.context_length":4096}}`)
		case "/api/chat":
			body, _ := io.ReadAll(r.Body)
			content := "An answer [1]."
			if strings.Contains(string(body), "Write a title") {
				select {
				case <-time.After(delay):
				case <-r.Context().Done():
					return
				}
				content = "Slow title"
				titles.Add(1)
			}
			fmt.Fprintf(w, `{"model":"fake","message":{"role":"assistant","content":%q},"done":true,"done_reason":"stop","prompt_eval_count":7,"eval_count":3}`+"\n", content)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The title is written after the reply is stored and the chat is free: a
// follow-up question asked on seeing done is accepted while the (slow) title
// is still being written, and the title arrives afterwards.
func TestFollowUpAcceptedRightAfterDoneWhileTitling(t *testing.T) {
	var titles atomic.Int64
	e := newEnv(t, slowTitleOllama(t, 3*time.Second, &titles), "fake", nil)
	ch := e.chat(t, "") // unnamed: the first reply triggers a title
	g, err := e.ask(t, ch, "first question")
	if err != nil {
		t.Fatal(err)
	}
	var sawDone bool
	for cursor := 0; !sawDone; {
		evs, done, wake := g.Next(cursor)
		cursor += len(evs)
		for _, ev := range evs {
			sawDone = sawDone || ev.Name == answer.EventDone
		}
		if !sawDone && !done {
			<-wake
		}
		if done && !sawDone {
			t.Fatalf("ended without done: %+v", evs)
		}
	}
	began := time.Now()
	g2, err := e.ask(t, ch, "a quick follow-up")
	if err != nil {
		t.Fatalf("follow-up right after done: %v", err)
	}
	out := wait(t, g2)
	if out.Message.Content != "An answer [1]." || out.Message.Status != store.MsgComplete {
		t.Fatalf("follow-up reply %+v", out.Message)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("the follow-up waited %v behind the title", d)
	}
	if titles.Load() != 0 {
		t.Fatal("the title was written before the follow-up was answered; the test does not show anything")
	}
	e.svc.Shutdown(time.Now().Add(10 * time.Second)) // waits for the title
	got, err := e.st.GetChat(t.Context(), e.ws.ID, ch.ID)
	if err != nil || got.Name != "Slow title" || titles.Load() != 1 {
		t.Fatalf("chat title %q (%d titles written) %v", got.Name, titles.Load(), err)
	}
}

// One reply at a time per chat; the model check and the scheduler refuse with faults.
func TestRefusals(t *testing.T) {
	var titles atomic.Int64
	e := newEnv(t, slowTitleOllama(t, 0, &titles), "fake", nil)
	ch := e.chat(t, "named")
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/show" {
			fmt.Fprint(w, `{"capabilities":["completion"]}`)
			return
		}
		<-release
		fmt.Fprint(w, `{"model":"fake","message":{"role":"assistant","content":"late"},"done":true,"prompt_eval_count":1,"eval_count":1}`+"\n")
	}))
	defer slow.Close()
	defer close(release)
	e2 := newEnv(t, slow.URL, "fake", nil)
	ch2 := e2.chat(t, "named")
	g, err := e2.ask(t, ch2, "one")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.ask(t, ch2, "two"); !fault.Is(err, fault.Conflict) || e2.svc.Idle(ch2.ID) == nil || e2.svc.Running(ch2.ID) != g {
		t.Fatalf("second reply in a busy chat: %v", err)
	}
	g.Stop()
	if out, _ := g.Wait(t.Context()); out.Message == nil || out.Message.Status != store.MsgStopped {
		t.Fatalf("stopped reply %+v", out.Message)
	}

	noModel := newEnv(t, slow.URL, "", nil)
	if _, err := noModel.ask(t, noModel.chat(t, "x"), "hi"); !fault.Is(err, fault.Unavailable) || !strings.Contains(err.Error(), "no chat model") {
		t.Fatalf("no model: %v", err)
	}
	embed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"capabilities":["embedding"]}`)
	}))
	defer embed.Close()
	em := newEnv(t, embed.URL, "embedder", nil)
	if _, err := em.ask(t, em.chat(t, "x"), "hi"); !fault.Is(err, fault.Invalid) || err.(*fault.Error).Field != "model" {
		t.Fatalf("embedding model asked to chat: %v", err)
	}
	if _, err := e.ask(t, ch, "fine"); err != nil {
		t.Fatal(err)
	}
}

// ollamaCalls reads the count of successful chat calls from the metrics.
func ollamaCalls(t *testing.T) int {
	var buf strings.Builder
	if err := ops.Default.Write(&buf, "test"); err != nil {
		t.Fatal(err)
	}
	prefix := `quire_ollama_call_duration_seconds_count{kind="chat",outcome="ok"} `
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			n, _ := strconv.Atoi(rest)
			return n
		}
	}
	return 0
}

// A question asked in a chat and the same question as a /v1 completion go
// through the same code: the same Ollama metric increment and the same kind
// of ai_usage row (model, tokens, cost).
func TestChatAndCompletionAccountAlike(t *testing.T) {
	o := ollamatest.StartShared(t)
	prices := map[string]config.Price{o.ChatModel: {InputPerMillion: "1000", OutputPerMillion: "2000"}}
	e := newEnv(t, o.URL, o.ChatModel, prices)
	series := func() store.UsagePoint {
		pts, err := e.st.UsageSeries(t.Context(), e.ws.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "model")
		if err != nil || len(pts) > 1 {
			t.Fatalf("usage %+v %v", pts, err)
		}
		if len(pts) == 0 {
			return store.UsagePoint{}
		}
		return pts[0]
	}

	calls := ollamaCalls(t)
	g, err := e.ask(t, e.chat(t, "named"), "How does Quire answer?") // named: no title call
	if err != nil {
		t.Fatal(err)
	}
	byChat := wait(t, g)
	afterChat := series()
	if got := ollamaCalls(t); got != calls+1 {
		t.Fatalf("chat: %d Ollama chat calls observed, want 1", got-calls)
	}
	if afterChat.Key != o.ChatModel || afterChat.Calls != 1 || afterChat.InputTokens == 0 || afterChat.OutputTokens == 0 || afterChat.CostMicros == 0 ||
		afterChat.InputTokens != int64(byChat.Message.InputTokens) {
		t.Fatalf("chat usage %+v for reply %+v", afterChat, byChat.Message)
	}

	g, err = e.svc.Complete(t.Context(), answer.Completion{WorkspaceID: e.ws.ID, Viewer: store.Viewer{UserID: e.user.ID},
		Request: chat.Request{Model: o.ChatModel, Question: "How does Quire answer?"}})
	if err != nil {
		t.Fatal(err)
	}
	byAPI := wait(t, g)
	if byAPI.Message != nil || byAPI.Result.Content != o.ChatSentence {
		t.Fatalf("completion %+v", byAPI)
	}
	if got := ollamaCalls(t); got != calls+2 {
		t.Fatalf("completion: %d Ollama chat calls observed in all, want 2", got-calls)
	}
	both := series()
	api := store.UsagePoint{Calls: both.Calls - afterChat.Calls, InputTokens: both.InputTokens - afterChat.InputTokens,
		OutputTokens: both.OutputTokens - afterChat.OutputTokens, CostMicros: both.CostMicros - afterChat.CostMicros}
	if api.Calls != 1 || api.InputTokens != afterChat.InputTokens || api.OutputTokens != afterChat.OutputTokens || api.CostMicros != afterChat.CostMicros {
		t.Fatalf("the same question cost %+v as a completion and %+v in a chat", api, afterChat)
	}
}

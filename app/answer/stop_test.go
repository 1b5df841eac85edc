package answer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"quire/app/answer"
	"quire/app/rag"
	"quire/store"
)

// slowSearch is a knowledge search whose query embedding takes until its
// context ends (or a minute): the phase in which a question used to vanish.
type slowSearch struct{ started chan struct{} }

func (s slowSearch) Retrieve(ctx context.Context, _ string, _ store.Viewer, _ []string, _ string, _ int) (*rag.Response, error) {
	close(s.started)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Minute):
		return &rag.Response{}, nil
	}
}

// Stop works while the sources are still being searched: the generation is
// registered before retrieval starts, the stop ends it at once, nothing is
// asked of the model, and the reply is stored as stopped and empty.
func TestStopWhileRetrieving(t *testing.T) {
	var chats atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/show":
			fmt.Fprint(w, `{"capabilities":["completion"],"model_info":{"llama.context_length":4096}}`)
		case "/api/chat":
			chats.Add(1)
			fmt.Fprint(w, `{"model":"fake","message":{"role":"assistant","content":"An answer anyway."},"done":true,"done_reason":"stop","prompt_eval_count":7,"eval_count":3}`+"\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	search := slowSearch{started: make(chan struct{})}
	e := newEnvWith(t, srv.URL, "fake", search)
	kb, err := e.st.CreateKnowledgeBase(t.Context(), e.ws.ID, e.user.ID, "Handbook", "", true)
	if err != nil {
		t.Fatal(err)
	}
	name, ids := "named", []string{kb.ID}
	ch, err := e.st.CreateChat(t.Context(), e.ws.ID, e.user.ID, store.ChatFields{Name: &name, KnowledgeBaseIDs: &ids})
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.ask(t, ch, "What does the handbook say?")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-search.started:
	case <-time.After(10 * time.Second):
		t.Fatal("retrieval never started")
	}
	if e.svc.Running(ch.ID) != g {
		t.Fatal("the reply is not registered while its sources are searched: Stop would answer 409")
	}
	began := time.Now()
	g.Stop()
	out := wait(t, g)
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("the stop took %v", d)
	}
	if out.Message == nil || out.Message.Status != store.MsgStopped || out.Message.Content != "" {
		t.Fatalf("reply stopped while searching: %+v", out.Message)
	}
	if n := chats.Load(); n != 0 {
		t.Fatalf("the model was asked %d times after the stop: the answer arrived anyway", n)
	}
	if e.svc.Running(ch.ID) != nil {
		t.Fatal("the chat is still busy after the stop")
	}
	var sawCitations bool
	evs, _, _ := g.Next(0)
	for _, ev := range evs {
		sawCitations = sawCitations || ev.Name == answer.EventCitations
	}
	if sawCitations {
		t.Fatal("a stopped search still announced sources")
	}
}

// A refused question (the model cannot chat) leaves the chat free.
func TestRefusedAskEndsItsGeneration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"capabilities":["embedding"]}`)
	}))
	t.Cleanup(srv.Close)
	e := newEnv(t, srv.URL, "embedder", nil)
	ch := e.chat(t, "named")
	if _, err := e.ask(t, ch, "hi"); err == nil {
		t.Fatal("an embedding model was asked to chat")
	}
	if e.svc.Running(ch.ID) != nil || e.svc.Idle(ch.ID) != nil {
		t.Fatal("a refused question left the chat busy")
	}
}

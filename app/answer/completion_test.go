package answer_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"quire/app/answer"
	"quire/app/chat"
	"quire/app/fault"
	"quire/app/llm"
	"quire/app/llm/ollamatest"
	"quire/app/plan"
	"quire/app/rag"
	"quire/store"
)

type fakeSearch struct {
	resp *rag.Response
	err  error
}

func (f fakeSearch) Retrieve(context.Context, string, store.Viewer, []string, string, int) (*rag.Response, error) {
	return f.resp, f.err
}

func completionService(t *testing.T, url string, search answer.Searcher) (*answer.Service, *store.Workspace, *store.User) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client, _ := llm.New(url, llm.Options{})
	p := plan.New(plan.Config{Store: st, SelfHosted: func() (int64, int64) { return 0, 0 }})
	svc := answer.New(answer.Config{Store: st, LLM: client, Plan: p, Search: search, DefaultModel: func() string { return "" }, PerUser: 4, PerWorkspace: 8, InFlight: 4})
	t.Cleanup(func() { svc.Shutdown(time.Now().Add(10 * time.Second)) })
	u, _ := st.CreateUser(t.Context(), "api@example.com", "API", "x", true)
	ws, _ := st.CreateWorkspace(t.Context(), u.ID, "Acme")
	return svc, ws, u
}

func conversationRequest(model string) chat.Request {
	return chat.Request{Model: model, Question: "What?", Conversation: []llm.Message{{Role: "user", Content: "What?"}}}
}

// A completion asked to answer from knowledge bases is not answered
// ungrounded when the search fails; its sources reach the outcome, with the
// search's warning.
func TestCompletionGroundingIsNeverSilent(t *testing.T) {
	o := ollamatest.StartShared(t)
	svc, ws, u := completionService(t, o.URL, fakeSearch{err: errors.New("the index is unreadable")})
	g, err := svc.Complete(t.Context(), answer.Completion{WorkspaceID: ws.ID, Viewer: store.Viewer{UserID: u.ID}, Request: conversationRequest(o.ChatModel), KnowledgeBaseIDs: []string{"kb"}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := g.Wait(t.Context())
	if out.Failure == nil || out.Failure.Code != "retrieval_failed" || out.Failure.Kind != fault.Unavailable || out.Result.Content != "" {
		t.Fatalf("failed retrieval: %+v", out)
	}

	svc, ws, u = completionService(t, o.URL, fakeSearch{resp: &rag.Response{Warning: "keyword search only: the model server is down",
		Results: []rag.Result{{ChunkID: "c1", DocumentID: "d1", DocumentName: "Handbook", Content: "Quire answers from documents."}}}})
	g, err = svc.Complete(t.Context(), answer.Completion{WorkspaceID: ws.ID, Viewer: store.Viewer{UserID: u.ID}, Request: conversationRequest(o.ChatModel), KnowledgeBaseIDs: []string{"kb"}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ = g.Wait(t.Context())
	if out.Failure != nil || len(out.Result.Sources) != 1 || !out.Result.Sources[0].Cited || out.Warning == "" {
		t.Fatalf("grounded completion: %+v", out)
	}
}

// The caller's conversation is refused whole when it does not fit, never cut.
func TestCompletionConversationTooLong(t *testing.T) {
	o := ollamatest.StartShared(t)
	svc, ws, u := completionService(t, o.URL, nil)
	req := conversationRequest(o.ChatModel)
	for range 2000 {
		req.Conversation = append(req.Conversation, llm.Message{Role: "user", Content: "a question of a few words"}, llm.Message{Role: "assistant", Content: "an answer"})
	}
	_, err := svc.Complete(t.Context(), answer.Completion{WorkspaceID: ws.ID, Viewer: store.Viewer{UserID: u.ID}, Request: req})
	if f, ok := fault.As(err); !ok || f.Code != "context_length_exceeded" || f.Kind != fault.Invalid {
		t.Fatalf("too long: %v", err)
	}
}

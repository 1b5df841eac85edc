package answer_test

import (
	"testing"

	"quire/app/answer"
	"quire/app/fault"
	"quire/app/llm/ollamatest"
	"quire/store"
)

// Regenerate and Edit add versions and keep the old ones; the refusals come
// before anything is stored.
func TestRegenerateAndEditAddVersions(t *testing.T) {
	o := ollamatest.StartShared(t)
	e := newEnv(t, o.URL, o.ChatModel, nil)
	ch := e.chat(t, "named")
	turn := answer.Turn{WorkspaceID: e.ws.ID, Viewer: store.Viewer{UserID: e.user.ID}, Chat: ch}
	if _, _, err := e.svc.Regenerate(t.Context(), turn); !fault.Is(err, fault.Conflict) {
		t.Fatalf("regenerating an empty chat: %v", err)
	}
	g, err := e.ask(t, ch, "first")
	if err != nil {
		t.Fatal(err)
	}
	first := wait(t, g).Message
	g, q, err := e.svc.Regenerate(t.Context(), turn)
	if err != nil || q.Content != "first" {
		t.Fatalf("regenerate: %v (question %+v)", err, q)
	}
	second := wait(t, g).Message
	path, _ := e.st.CurrentPath(t.Context(), e.ws.ID, ch.ID, store.PathPage{Limit: 10})
	if len(path) != 2 || path[1].ID != second.ID || len(path[1].Siblings) != 2 || path[1].Siblings[0] != first.ID {
		t.Fatalf("after regenerating: %+v", path)
	}

	if _, _, err := e.svc.Edit(t.Context(), turn, second.ID, "x"); !fault.Is(err, fault.Invalid) {
		t.Fatalf("editing an answer: %v", err)
	}
	if _, _, err := e.svc.Edit(t.Context(), turn, "no-such-message", "x"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("editing a message of no chat: %v", err)
	}
	g, q, err = e.svc.Edit(t.Context(), turn, path[0].ID, "first, better")
	if err != nil || q.ParentID != path[0].ParentID || q.ID == path[0].ID {
		t.Fatalf("edit: %v (new question %+v)", err, q)
	}
	wait(t, g)
	now, _ := e.st.CurrentPath(t.Context(), e.ws.ID, ch.ID, store.PathPage{Limit: 10})
	if len(now) != 2 || now[0].Content != "first, better" || len(now[0].Siblings) != 2 {
		t.Fatalf("after editing: %+v", now)
	}
	if _, err := e.st.GetMessage(t.Context(), e.ws.ID, ch.ID, first.ID); err != nil {
		t.Fatalf("the first answer is gone: %v", err)
	}
}

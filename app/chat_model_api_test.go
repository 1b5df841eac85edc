package app

import (
	"strings"
	"testing"

	"quire/app/http/api"
)

// A chat is given installed chat models only: a name the model server does
// not have, or an embedding model, is a 400 naming the field, and the chat
// keeps its model.
func TestChatModelMustBeInstalled(t *testing.T) {
	ts, o := newOllamaServer(t)
	owner := ts.signup("owner")
	ws := ts.createWorkspace(owner, "Acme")
	base := "/api/workspaces/" + ws.ID + "/chats"
	var chat api.ChatJSON
	ts.must(201, req{method: "POST", path: base, token: owner.token}).json(&chat)
	cp := base + "/" + chat.ID
	for _, bad := range []string{"no-such-model", "no-such-model:7b", o.EmbedModel} {
		r := ts.do(req{method: "PATCH", path: cp, token: owner.token, body: map[string]string{"model": bad}})
		if r.Status != 400 || r.errField() != "model" || !strings.Contains(string(r.Body), bad) {
			t.Fatalf("PATCH model %q: %d %s", bad, r.Status, r.Body)
		}
		if r := ts.do(req{method: "POST", path: base, token: owner.token, body: map[string]string{"model": bad}}); r.Status != 400 || r.errField() != "model" {
			t.Fatalf("create with model %q: %d %s", bad, r.Status, r.Body)
		}
	}
	var got api.ChatJSON
	ts.must(200, req{method: "GET", path: cp, token: owner.token}).json(&got)
	if got.Model != chat.Model {
		t.Fatalf("a refused model changed the chat's model to %q", got.Model)
	}
	ts.must(200, req{method: "PATCH", path: cp, token: owner.token, body: map[string]string{"model": o.ChatModel + ":latest"}})
	ts.must(200, req{method: "PATCH", path: cp, token: owner.token, body: map[string]string{"model": ""}}) // the instance default
}

package app

import (
	"encoding/json"
	"strings"
	"testing"

	"quire/app/http/api"
)

func TestOpenAICompatibleEndpoints(t *testing.T) {
	ts, o := newOllamaServer(t)
	u := ts.signup("dev")
	ws := ts.createWorkspace(u, "Acme")
	var key api.TokenJSON
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: u.token, body: map[string]string{"name": "sdk", "workspace_id": ws.ID}}).json(&key)
	var loose api.TokenJSON
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: u.token, body: map[string]string{"name": "loose"}}).json(&loose)

	// Only workspace-bound keys.
	ts.must(403, req{method: "GET", path: "/v1/models", token: u.token})
	ts.must(403, req{method: "GET", path: "/v1/models", token: loose.Token})
	var models struct {
		Object string
		Data   []struct{ ID string }
	}
	ts.must(200, req{method: "GET", path: "/v1/models", token: key.Token}).json(&models)
	names := map[string]bool{}
	for _, m := range models.Data {
		names[m.ID] = true
	}
	if models.Object != "list" || !names[o.ChatModel+":latest"] && !names[o.ChatModel] {
		t.Fatalf("models %+v", models)
	}

	// Non-streaming completion, with extra OpenAI fields the server ignores.
	var comp struct {
		Object  string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	ts.must(200, req{method: "POST", path: "/v1/chat/completions", token: key.Token, body: map[string]any{
		"model": o.ChatModel, "n": 1, "user": "x", "messages": []map[string]any{
			{"role": "system", "content": "Be brief."},
			{"role": "user", "content": []map[string]string{{"type": "text", "text": "Hello?"}}},
		}}}).json(&comp)
	if comp.Object != "chat.completion" || comp.Choices[0].Message.Content != o.ChatSentence || comp.Choices[0].FinishReason != "stop" || comp.Usage.CompletionTokens == 0 {
		t.Fatalf("completion %+v", comp)
	}

	// Streaming completion: chunks then [DONE].
	res := ts.must(200, req{method: "POST", path: "/v1/chat/completions", token: key.Token, body: map[string]any{
		"model": o.ChatModel, "stream": true, "messages": []map[string]string{{"role": "user", "content": "Hi"}}}})
	var text strings.Builder
	lines := strings.Split(string(res.Body), "\n\n")
	for _, l := range lines {
		l = strings.TrimPrefix(strings.TrimSpace(l), "data: ")
		if l == "" || l == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		json.Unmarshal([]byte(l), &ch)
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	if text.String() != o.ChatSentence || !strings.Contains(string(res.Body), "data: [DONE]") {
		t.Fatalf("streamed %q:\n%s", text.String(), res.Body)
	}

	// Embeddings.
	var emb struct {
		Data []struct {
			Index     int
			Embedding []float32
		}
	}
	ts.must(200, req{method: "POST", path: "/v1/embeddings", token: key.Token, body: map[string]any{"model": o.EmbedModel, "input": []string{"alpha beta", "gamma"}}}).json(&emb)
	if len(emb.Data) != 2 || len(emb.Data[1].Embedding) != o.EmbedDim || emb.Data[1].Index != 1 {
		t.Fatalf("embeddings: %d items", len(emb.Data))
	}
	ts.must(400, req{method: "POST", path: "/v1/embeddings", token: key.Token, body: map[string]any{"model": o.EmbedModel, "input": 5}})
	if res := ts.must(404, req{method: "POST", path: "/v1/chat/completions", token: key.Token, body: map[string]any{
		"model": "not-installed", "messages": []map[string]string{{"role": "user", "content": "Hi"}}}}); res.errCode() != "model_not_found" {
		t.Fatalf("missing model: %s", res.Body)
	}
}

package app

import (
	"encoding/json"
	"strings"
	"testing"

	"quire/app/http/api"
)

func TestAdminModelsAndPull(t *testing.T) {
	ts, o := newOllamaServer(t)
	admin := ts.signup("root")
	var models api.List[api.ModelJSON]
	ts.must(200, req{method: "GET", path: "/api/admin/models", token: admin.token}).json(&models)
	byName := map[string]api.ModelJSON{}
	for _, m := range models.Items {
		byName[strings.TrimSuffix(m.Name, ":latest")] = m
	}
	chatM, embedM := byName[o.ChatModel], byName[o.EmbedModel]
	if !chatM.Chat || chatM.Embedding || !embedM.Embedding || embedM.Dimensions != o.EmbedDim || chatM.ContextLength == 0 {
		t.Fatalf("models %+v", models.Items)
	}
	// Offline, a pull streams a sentence saying why instead of hanging.
	res := ts.must(200, req{method: "POST", path: "/api/admin/models/pull", token: admin.token, body: map[string]string{"name": "llama3.2"}})
	assertPullSentence(t, res.Body, "llama3.2")
	var jobs api.List[api.TaskJSON]
	ts.must(200, req{method: "GET", path: "/api/admin/jobs", token: admin.token}).json(&jobs)
}

// assertPullSentence checks that a pull ended with an error event whose message
// is a sentence about the model, not a Go error with URLs and dial details.
func assertPullSentence(t *testing.T, body []byte, model string) {
	t.Helper()
	evs := parseSSE(t, body)
	if len(evs) == 0 || evs[len(evs)-1].name != "error" {
		t.Fatalf("pull events %v", evs)
	}
	var e struct{ Code, Message string }
	if err := json.Unmarshal(evs[len(evs)-1].data, &e); err != nil {
		t.Fatal(err)
	}
	m := e.Message
	if e.Code != "model_unavailable" || !strings.Contains(m, model) || m[0] < 'A' || m[0] > 'Z' || !strings.HasSuffix(m, ".") {
		t.Fatalf("pull error %+v is not a sentence about %s", e, model)
	}
	for _, raw := range []string{"dial tcp", "Get \"", "http://", "https://", "connection refused", "lookup "} {
		if strings.Contains(m, raw) {
			t.Fatalf("pull error shows the raw error (%q): %s", raw, m)
		}
	}
}

// With Ollama down, a pull says so in a sentence.
func TestPullWithOllamaDownSaysSo(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("root")
	res := ts.must(200, req{method: "POST", path: "/api/admin/models/pull", token: admin.token, body: map[string]string{"name": "nomic-embed-text"}})
	assertPullSentence(t, res.Body, "nomic-embed-text")
	if !strings.Contains(string(res.Body), "cannot be reached") {
		t.Fatalf("the message does not say Ollama is unreachable: %s", res.Body)
	}
}

// Names that are not a model name are refused before Ollama is asked.
func TestPullRefusesHostileNames(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("root")
	member := ts.signup("member")
	for _, name := range []string{"", "   ", strings.Repeat("m", 201), "llama3.2\nX: y", "a b", "nomic\x00"} {
		if res := ts.do(req{method: "POST", path: "/api/admin/models/pull", token: admin.token, body: map[string]string{"name": name}}); res.Status != 400 || res.errField() != "name" {
			t.Errorf("name %q: %d %s", name, res.Status, res.Body)
		}
	}
	ts.must(403, req{method: "POST", path: "/api/admin/models/pull", token: member.token, body: map[string]string{"name": "llama3.2"}})
}

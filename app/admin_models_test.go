package app

import (
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
	// Offline, a pull streams a clear error instead of hanging.
	res := ts.must(200, req{method: "POST", path: "/api/admin/models/pull", token: admin.token, body: map[string]string{"name": "llama3.2"}})
	evs := parseSSE(t, res.Body)
	if len(evs) == 0 || evs[len(evs)-1].name != "error" || !strings.Contains(string(evs[len(evs)-1].data), "pulling llama3.2 failed") {
		t.Fatalf("pull events %v", evs)
	}
	var jobs api.List[api.TaskJSON]
	ts.must(200, req{method: "GET", path: "/api/admin/jobs", token: admin.token}).json(&jobs)
}

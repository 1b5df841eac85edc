package app

import (
	"strings"
	"testing"
	"time"

	"quire/app/http/api"
)

// waitReady polls a document until it is ready (or fails the test).
func (ts *testServer) waitReady(u user, wsID, docID string) api.DocumentJSON {
	ts.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var d api.DocumentJSON
		ts.must(200, req{method: "GET", path: "/api/workspaces/" + wsID + "/documents/" + docID, token: u.token}).json(&d)
		if d.Status == "ready" && !d.VectorsPending {
			return d
		}
		if d.Status == "failed" {
			ts.t.Fatalf("document failed: %s", d.ProcessingError)
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("document still %s (%d%%) after 30s: %s", d.Status, d.Progress, d.ProcessingError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUploadProcessSearchAndCite(t *testing.T) {
	ts, o := newOllamaServer(t)
	u := ts.signup("reader")
	ws := ts.createWorkspace(u, "Acme")
	base := "/api/workspaces/" + ws.ID
	var kb api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: u.token, body: map[string]any{"name": "Policies"}}).json(&kb)
	docs := map[string]string{
		"travel.md":   "# Travel\n\nEconomy class flights are booked through the travel desk. Hotel receipts go to finance within thirty days.",
		"security.md": "# Security\n\nLaptops must use full disk encryption. Report a lost badge to the security office immediately.",
		"kitchen.md":  "# Kitchen\n\nThe coffee machine is descaled every friday. Label your lunch in the fridge.",
	}
	ids := map[string]string{}
	for name, body := range docs {
		var d api.DocumentJSON
		res := ts.upload(u, ws.ID, name, []byte(body), map[string]string{"knowledge_base_ids": kb.ID})
		if res.Status != 202 {
			t.Fatalf("%s: %d %s", name, res.Status, res.Body)
		}
		res.json(&d)
		ids[name] = d.ID
	}
	for name, id := range ids {
		d := ts.waitReady(u, ws.ID, id)
		if d.ChunkCount == 0 || d.EmbeddingModel == "" {
			t.Fatalf("%s: %+v", name, d)
		}
	}
	var chunks api.List[api.ChunkJSON]
	ts.must(200, req{method: "GET", path: base + "/documents/" + ids["travel.md"] + "/chunks", token: u.token}).json(&chunks)
	if len(chunks.Items) == 0 || chunks.Items[0].SectionHeading != "Travel" || !strings.Contains(chunks.Items[0].Content, "travel desk") {
		t.Fatalf("chunks %+v", chunks.Items)
	}
	// The right document is first in every mode for a query sharing its words.
	for _, mode := range []string{"hybrid", "vector", "keyword"} {
		var out struct{ Results []api.SearchHit }
		query := "lost badge security office"
		if mode == "keyword" {
			query = "lost badge" // exact words: a phrase of the text
		}
		ts.must(200, req{method: "POST", path: base + "/search", token: u.token, body: map[string]any{"query": query, "mode": mode}}).json(&out)
		if len(out.Results) == 0 || out.Results[0].DocumentID != ids["security.md"] {
			t.Fatalf("%s: top result %+v", mode, out.Results)
		}
		if mode == "keyword" && !strings.Contains(string(out.Results[0].Highlight), "<mark>") {
			t.Fatalf("keyword result without highlight: %q", out.Results[0].Highlight)
		}
	}
	ts.must(400, req{method: "POST", path: base + "/search", token: u.token, body: map[string]any{"query": "x", "mode": "psychic"}})

	// A chat with the KB attached cites the retrieved document.
	var ch api.ChatJSON
	ts.must(201, req{method: "POST", path: base + "/chats", token: u.token, body: map[string]any{"knowledge_base_ids": []string{kb.ID}}}).json(&ch)
	var reply struct {
		AssistantMessage api.MessageJSON `json:"assistant_message"`
	}
	ts.must(201, req{method: "POST", path: base + "/chats/" + ch.ID + "/messages", token: u.token, body: map[string]string{"content": "Where do hotel receipts go for travel?"}}).json(&reply)
	var cites []struct {
		N            int
		ChunkID      string `json:"chunk_id"`
		DocumentID   string `json:"document_id"`
		DocumentName string `json:"document_name"`
		Cited        bool
	}
	if err := jsonUnmarshal(reply.AssistantMessage.Citations, &cites); err != nil || len(cites) == 0 {
		t.Fatalf("citations %s", reply.AssistantMessage.Citations)
	}
	if cites[0].N != 1 || !cites[0].Cited || cites[0].DocumentID != ids["travel.md"] || cites[0].ChunkID == "" {
		t.Fatalf("first citation %+v (the tiny model cites [1]; [1] must be the best source)", cites[0])
	}
	if reply.AssistantMessage.Content != o.ChatSentence {
		t.Fatalf("reply %q", reply.AssistantMessage.Content)
	}

	// Re-process rebuilds the same chunks; delete removes the document from search.
	ts.must(202, req{method: "POST", path: base + "/documents/" + ids["kitchen.md"] + "/reprocess", token: u.token})
	ts.waitReady(u, ws.ID, ids["kitchen.md"])
	ts.must(204, req{method: "DELETE", path: base + "/documents/" + ids["security.md"], token: u.token})
	var out struct{ Results []api.SearchHit }
	ts.must(200, req{method: "POST", path: base + "/search", token: u.token, body: map[string]any{"query": "lost badge", "mode": "keyword"}}).json(&out)
	for _, r := range out.Results {
		if r.DocumentID == ids["security.md"] {
			t.Fatal("a deleted document is still found")
		}
	}
	// The embedding calls were accounted.
	var usage struct{ Series []api.UsagePointJSON }
	ts.must(200, req{method: "GET", path: base + "/usage?group_by=model", token: u.token}).json(&usage)
	models := map[string]bool{}
	for _, p := range usage.Series {
		models[p.Key] = true
	}
	if !models[o.EmbedModel] || !models[o.ChatModel] {
		t.Fatalf("usage by model %+v", usage.Series)
	}
	var accepted struct{ Queued int }
	ts.must(202, req{method: "POST", path: "/api/admin/reindex", token: u.token}).json(&accepted)
}

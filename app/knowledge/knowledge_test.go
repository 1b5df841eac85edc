package knowledge_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"quire/app/llm"
	"quire/app/llm/ollamatest"
	"quire/app/llm/tinymodel"
	"quire/app/rag"
	"quire/store"
)

// corpus is a small document set; each document has its own vocabulary (words
// the tiny embedding model knows) so the right one must win a query.
var corpus = []struct{ file, content string }{
	{"ocean.html", "<html><body><h1>Sea travel</h1><p>The ship will sail across the ocean to the island; the boat carries the crew and the cargo.</p></body></html>"},
	{"invoice.md", "# Billing\n\nThe invoice lists the tax, the price and the payment date for each customer order.\n"},
	{"garden.txt", "Plant the green tree in spring. Water the garden soil and the flower bed every morning.\n"},
	{"music.txt", "The band will sing a song; the piano and the guitar play music for the dance tonight.\n"},
	{"engine.txt", "The engine burns fuel and makes heat; measure the power and the speed of the machine.\n"},
}

func ingestCorpus(t *testing.T, e *env, model string) map[string]*store.Document {
	t.Helper()
	docs := map[string]*store.Document{}
	for i, c := range corpus {
		kb := e.shared
		if i == 0 {
			kb = e.engOnly // ocean.html is for the engineering team only
		}
		docs[c.file] = e.upload(t, e.ws.ID, c.file, c.content, kb)
	}
	for name, d := range docs {
		docs[name] = e.waitEmbedded(t, e.ws.ID, d.ID, model)
	}
	return docs
}

func TestIngestAndSearch(t *testing.T) {
	srv := ollamatest.StartShared(t)
	e := newEnv(t, srv.URL, srv.EmbedModel)
	docs := ingestCorpus(t, e, srv.EmbedModel)
	for _, d := range docs {
		e.checkIndexed(t, d, true)
		if d.ProcessingError != "" || d.Progress != 100 {
			t.Errorf("%s: %+v", d.Name, d)
		}
	}
	if h := docs["ocean.html"]; h.ChunkCount != 1 {
		t.Errorf("ocean.html has %d chunks", h.ChunkCount)
	}

	for _, tc := range []struct {
		mode  rag.Mode
		query string
		want  string
	}{
		{rag.ModeVector, "which ship will sail to the island", "ocean.html"},
		{rag.ModeVector, "water the green tree", "garden.txt"},
		{rag.ModeKeyword, "payment date", "invoice.md"}, // keyword mode is exact words: a phrase
		{rag.ModeKeyword, "guitar", "music.txt"},
		{rag.ModeHybrid, "the power of the engine", "engine.txt"},
		{rag.ModeHybrid, "sing a song", "music.txt"},
	} {
		resp := e.search(t, e.admin(), tc.mode, tc.query)
		if resp.Mode != tc.mode || len(resp.Results) == 0 || resp.Results[0].DocumentName != tc.want {
			t.Errorf("%s %q: got %v (mode %s), want %s first", tc.mode, tc.query, names(resp.Results), resp.Mode, tc.want)
			continue
		}
		top := resp.Results[0]
		if top.ChunkID == "" || top.Content == "" || len(top.KnowledgeBaseIDs) != 1 || top.Snippet.Text == "" || top.Score <= 0 {
			t.Errorf("%s %q: result %+v", tc.mode, tc.query, top)
		}
		if tc.mode != rag.ModeVector && len(top.Snippet.Marks) == 0 {
			t.Errorf("%s %q: snippet has no highlight: %+v", tc.mode, tc.query, top.Snippet)
		}
	}
	// Structure survives: the HTML heading is the chunk's section heading.
	resp := e.search(t, e.admin(), rag.ModeKeyword, "cargo")
	if len(resp.Results) != 1 || resp.Results[0].Heading != "Sea travel" {
		t.Errorf("heading: %+v", resp.Results)
	}
	// Embedding calls were recorded as usage: one per document, one per vector/hybrid query.
	var usage store.CostTotals
	if usage, _ = e.st.WorkspaceCosts(context.Background(), e.ws.ID); usage.InputTokens == 0 {
		t.Error("no embedding usage recorded")
	}
}

// TestRetrievalVisibility: a member not in the granted team gets nothing from
// a restricted knowledge base; a member of the team and the admin do; another
// workspace's identical text never appears.
func TestRetrievalVisibility(t *testing.T) {
	srv := ollamatest.StartShared(t)
	e := newEnv(t, srv.URL, srv.EmbedModel)
	ingestCorpus(t, e, srv.EmbedModel)
	// The same ocean text in another workspace, shared there with everyone.
	other, _ := e.st.CreateWorkspace(context.Background(), e.outsider.ID, "Elsewhere")
	twin := e.upload(t, other.ID, "twin-ocean.html", corpus[0].content)
	e.waitEmbedded(t, other.ID, twin.ID, srv.EmbedModel)

	const q = "sail across the ocean" // a phrase of the text, for keyword mode
	for _, mode := range []rag.Mode{rag.ModeVector, rag.ModeKeyword, rag.ModeHybrid} {
		for _, tc := range []struct {
			who   store.Viewer
			label string
			sees  bool
		}{
			{e.admin(), "admin", true},
			{e.as(e.member), "team member", true},
			{e.as(e.outsider), "member outside the team", false},
		} {
			for _, scope := range [][]*store.KnowledgeBase{nil, {e.engOnly}} {
				resp := e.search(t, tc.who, mode, q, scope...)
				got := names(resp.Results)
				if has := slices.Contains(got, "ocean.html"); has != tc.sees {
					t.Errorf("%s, %s, KBs %d: results %v; sees the restricted document: %v, want %v", mode, tc.label, len(scope), got, has, tc.sees)
				}
				if slices.Contains(got, "twin-ocean.html") {
					t.Errorf("%s, %s: another workspace's document in the results", mode, tc.label)
				}
				if len(scope) == 1 && !tc.sees && len(got) != 0 {
					t.Errorf("%s, %s: got %v from a KB they cannot see", mode, tc.label, got)
				}
			}
		}
	}
	// A document in no knowledge base is its uploader's and the admins' only.
	mine := e.uploadAs(t, e.outsider, e.ws.ID, "notes.txt", "private notes about the ocean ship and the island")
	e.waitEmbedded(t, e.ws.ID, mine.ID, srv.EmbedModel)
	for _, tc := range []struct {
		who  store.Viewer
		sees bool
	}{{e.as(e.outsider), true}, {e.admin(), true}, {e.as(e.member), false}} {
		got := names(e.search(t, tc.who, rag.ModeHybrid, "private notes").Results)
		if slices.Contains(got, "notes.txt") != tc.sees {
			t.Errorf("viewer %d: results %v, want notes.txt visible: %v", tc.who.UserID, got, tc.sees)
		}
	}
}

// TestOllamaDown: with the model server unreachable, documents become
// keyword-searchable; once it is back, the vectors fill in by themselves.
func TestOllamaDown(t *testing.T) {
	ollamatest.StartShared(t) // only for its rule: skip without the binary, fail under CI=true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens here until the server starts below
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	e := newEnv(t, url, ollamatest.EmbedModel)
	docs := map[string]*store.Document{}
	for _, c := range corpus[1:] {
		d := e.upload(t, e.ws.ID, c.file, c.content, e.shared)
		docs[c.file] = e.waitDoc(t, e.ws.ID, d.ID, "ready", func(d *store.Document) bool { return d.Status == store.DocReady })
	}
	for _, d := range docs {
		if !d.VectorsPending() || !strings.Contains(d.ProcessingError, "connection refused") {
			t.Errorf("%s: %+v", d.Name, d)
		}
		e.checkIndexed(t, d, false)
	}
	resp := e.search(t, e.admin(), rag.ModeKeyword, "the payment date")
	if len(resp.Results) == 0 || resp.Results[0].DocumentName != "invoice.md" {
		t.Errorf("keyword search while the model server is down: %v", names(resp.Results))
	}
	resp = e.search(t, e.admin(), rag.ModeHybrid, "invoice tax")
	if resp.Mode != rag.ModeKeyword || resp.Warning == "" || len(resp.Results) == 0 || resp.Results[0].DocumentName != "invoice.md" {
		t.Errorf("hybrid while down: mode %s warning %q results %v", resp.Mode, resp.Warning, names(resp.Results))
	}
	if _, err := e.searchErr(e.admin(), rag.ModeVector, "invoice tax"); !errors.Is(err, llm.ErrUnavailable) {
		t.Errorf("vector search while down: %v", err)
	}

	// The model server comes up on the configured address.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := ollamatest.FindBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ollamatest.Launch(ctx, ollamatest.Config{Bin: bin, Port: port, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if err := e.svc.ResumeEmbedding(ctx); err != nil {
		t.Fatal(err)
	}
	for name, d := range docs {
		d = e.waitEmbedded(t, e.ws.ID, d.ID, srv.EmbedModel)
		if d.ProcessingError != "" {
			t.Errorf("%s: message left after embedding: %q", name, d.ProcessingError)
		}
		e.checkIndexed(t, d, true)
	}
	resp = e.search(t, e.admin(), rag.ModeVector, "water the green tree")
	if len(resp.Results) == 0 || resp.Results[0].DocumentName != "garden.txt" {
		t.Errorf("vector search after recovery: %v", names(resp.Results))
	}
}

// TestDeleteAndReprocess: deleting removes the file, chunks, FTS rows and
// vectors; re-processing rebuilds the same index.
func TestDeleteAndReprocess(t *testing.T) {
	srv := ollamatest.StartShared(t)
	e := newEnv(t, srv.URL, srv.EmbedModel)
	docs := ingestCorpus(t, e, srv.EmbedModel)
	ctx := context.Background()

	g := docs["garden.txt"]
	before, _ := e.st.ListChunks(ctx, e.ws.ID, g.ID, -1, 10)
	if _, err := e.svc.Reprocess(ctx, e.ws.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	g = e.waitEmbedded(t, e.ws.ID, g.ID, srv.EmbedModel)
	e.checkIndexed(t, g, true)
	after, _ := e.st.ListChunks(ctx, e.ws.ID, g.ID, -1, 10)
	if len(after) != len(before) || after[0].ID == before[0].ID {
		t.Errorf("reprocess: %d chunks before, %d after; same ids: %v", len(before), len(after), after[0].ID == before[0].ID)
	}

	d := docs["invoice.md"]
	if err := e.svc.DeleteDocument(ctx, e.ws.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.st.DocumentIndexCounts(ctx, e.ws.ID, d.ID); c != (store.IndexCounts{}) {
		t.Errorf("after delete: %+v", c)
	}
	if _, err := os.Stat(filepath.Join(e.files, filepath.FromSlash(d.StoragePath))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file left after delete: %v", err)
	}
	for _, mode := range []rag.Mode{rag.ModeKeyword, rag.ModeVector} {
		if resp := e.search(t, e.admin(), mode, "invoice tax price payment"); slices.Contains(names(resp.Results), "invoice.md") {
			t.Errorf("%s search finds a deleted document", mode)
		}
	}
}

// TestEmbeddingModelChange: after the admin switches models, retrieval uses
// only vectors of the new model (none at first: keyword results only), and a
// re-index re-embeds every document with it.
func TestEmbeddingModelChange(t *testing.T) {
	srv := ollamatest.StartShared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const newModel = "quire-tiny-embed-128"
	if err := srv.CreateEmbedModel(ctx, newModel, tinymodel.EmbedOptions{Dim: 128, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, srv.URL, srv.EmbedModel)
	docs := ingestCorpus(t, e, srv.EmbedModel)

	e.model.Store(newModel)
	resp := e.search(t, e.admin(), rag.ModeVector, "water the green tree")
	if len(resp.Results) != 0 {
		t.Errorf("vector search mixed models: %v", names(resp.Results))
	}
	resp = e.search(t, e.admin(), rag.ModeHybrid, "water the green tree")
	if len(resp.Results) == 0 || resp.Results[0].DocumentName != "garden.txt" {
		t.Errorf("hybrid during the switch: %v", names(resp.Results))
	}

	n, err := e.svc.Reindex(ctx)
	if err != nil || n != len(docs) {
		t.Fatalf("reindex queued %d, %v", n, err)
	}
	for _, d := range docs {
		d = e.waitEmbedded(t, e.ws.ID, d.ID, newModel)
		e.checkIndexed(t, d, true) // old vectors replaced, not added
	}
	resp = e.search(t, e.admin(), rag.ModeVector, "water the green tree")
	if len(resp.Results) == 0 || resp.Results[0].DocumentName != "garden.txt" {
		t.Fatalf("vector search with the new model: %v", names(resp.Results))
	}
	for _, r := range resp.Results {
		if c, _ := e.st.GetChunk(ctx, e.ws.ID, r.ChunkID); c.EmbeddingModel != newModel {
			t.Errorf("result from model %q", c.EmbeddingModel)
		}
	}
	if again, _ := e.svc.Reindex(ctx); again != 0 {
		t.Errorf("a second reindex queued %d documents", again)
	}
}

package rag_test

import (
	"context"
	"errors"
	"hash/fnv"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"quire/app/llm"
	"quire/app/rag"
	"quire/store"
)

func hit(seq int64, snippet string) store.ChunkHit {
	h := store.ChunkHit{Snippet: store.Snippet{Text: snippet}}
	h.Seq = seq
	return h
}

func TestFuse(t *testing.T) {
	vec := []store.ChunkHit{hit(1, ""), hit(2, ""), hit(3, "")}
	kw := []store.ChunkHit{hit(3, "kw3"), hit(4, "kw4"), hit(1, "kw1")}
	got := rag.Fuse(60, vec, kw)
	var order []int64
	for _, h := range got {
		order = append(order, h.Seq)
	}
	// 1: 1/61+1/63, 3: 1/63+1/61 (tie, 1 first seen), 2: 1/62, 4: 1/62 (tie, 2 first seen).
	if !slices.Equal(order, []int64{1, 3, 2, 4}) {
		t.Fatalf("order %v", order)
	}
	if math.Abs(got[0].Score-(1.0/61+1.0/63)) > 1e-12 || got[0].Snippet.Text != "kw1" || got[2].Snippet.Text != "" {
		t.Errorf("fused %+v", got)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]rag.Mode{"": rag.ModeHybrid, "Vector": rag.ModeVector, " keyword ": rag.ModeKeyword} {
		if got, err := rag.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := rag.ParseMode("semantic"); err == nil {
		t.Error("unknown mode accepted")
	}
}

// bagOfWords is a deterministic stand-in embedder for unit tests (the real
// model is exercised in package knowledge): texts sharing words are close.
func bagOfWords(text string) []float32 {
	v := make([]float32, 32)
	for _, w := range strings.Fields(strings.ToLower(text)) {
		h := fnv.New32a()
		h.Write([]byte(strings.Trim(w, ".,;?")))
		v[h.Sum32()%32]++
	}
	return v
}

func TestSearchModes(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, _ := st.CreateUser(ctx, "a@example.com", "", "x", true)
	ws, _ := st.CreateWorkspace(ctx, u.ID, "W")
	kb, _ := st.CreateKnowledgeBase(ctx, ws.ID, u.ID, "KB", "", true)
	texts := []string{"the quarterly invoice and tax report", "how to water a garden tree", "a very long passage " + strings.Repeat("about nothing much ", 40)}
	d, _, _ := st.CreateDocument(ctx, ws.ID, store.NewDocument{Name: "doc", UploadedBy: u.ID, KnowledgeBaseIDs: []string{kb.ID}})
	var in []store.ChunkInput
	for i, x := range texts {
		in = append(in, store.ChunkInput{Index: i, Content: x, Vector: bagOfWords(x)})
	}
	if err := st.WriteChunks(ctx, ws.ID, d.ID, "bow", in); err != nil {
		t.Fatal(err)
	}
	ready, n, model := store.DocReady, len(texts), "bow"
	st.UpdateDocument(ctx, ws.ID, d.ID, store.DocumentUpdate{Status: &ready, ChunkCount: &n, EmbeddingModel: &model})

	down := errors.New("down")
	s := rag.Searcher{Store: st, Embed: func(ctx context.Context, text string) ([]float32, string, error) {
		if down != nil {
			return nil, "", &llm.UnavailableError{Reason: "cannot reach the model server", Err: down}
		}
		return bagOfWords(text), "bow", nil
	}}
	q := rag.Query{WorkspaceID: ws.ID, Viewer: store.Viewer{UserID: u.ID}, Text: "water the garden tree", TopK: 2}

	// Model server down: hybrid degrades to keyword with a warning; vector fails.
	resp, err := s.Search(ctx, q)
	if err != nil || resp.Mode != rag.ModeKeyword || !strings.Contains(resp.Warning, "cannot reach") || resp.Results[0].ChunkIndex != 1 {
		t.Fatalf("hybrid while down: %+v, %v", resp, err)
	}
	q.Mode = rag.ModeVector
	if _, err := s.Search(ctx, q); !errors.Is(err, llm.ErrUnavailable) {
		t.Errorf("vector while down: %v", err)
	}

	down = nil
	q.Text = "garden tree" // a phrase of chunk 1, so keyword (exact words) mode finds it too
	for _, mode := range []rag.Mode{rag.ModeVector, rag.ModeKeyword, rag.ModeHybrid} {
		q.Mode = mode
		resp, err := s.Search(ctx, q)
		if err != nil || resp.Mode != mode || len(resp.Results) == 0 || resp.Results[0].ChunkIndex != 1 {
			t.Fatalf("%s: %+v, %v", mode, resp, err)
		}
		r := resp.Results[0]
		if !slices.Equal(r.KnowledgeBaseIDs, []string{kb.ID}) || r.DocumentName != "doc" || len(r.Snippet.Marks) == 0 {
			t.Errorf("%s: result %+v", mode, r)
		}
		if len(resp.Results) > 2 {
			t.Errorf("%s: %d results for top 2", mode, len(resp.Results))
		}
		if r.Words != (mode != rag.ModeVector) || r.Meaning != (mode != rag.ModeKeyword) {
			t.Errorf("%s: matched by words %v, by meaning %v", mode, r.Words, r.Meaning)
		}
	}
	// Exact words are a phrase: both words in another order match nothing.
	q.Mode, q.Text = rag.ModeKeyword, "tree garden"
	if resp, err := s.Search(ctx, q); err != nil || len(resp.Results) != 0 {
		t.Errorf("keyword search for words out of order: %+v, %v", resp, err)
	}
	// No floor, so every chunk is a vector hit, the unrelated ones too.
	s.MinSimilarity = -1
	// A vector hit sharing no word with the query gets the start of its text.
	q.Mode, q.Text, q.TopK = rag.ModeVector, "passage", 3
	resp, _ = s.Search(ctx, q)
	if len(resp.Results) != 3 {
		t.Fatalf("%d results", len(resp.Results))
	}
	for _, r := range resp.Results {
		switch r.ChunkIndex {
		case 0: // no "passage" in it: its (short) text, unmarked
			if r.Snippet.Text != texts[0] || len(r.Snippet.Marks) != 0 {
				t.Errorf("lead snippet %+v", r.Snippet)
			}
		case 2: // FTS snippet around the match, within the long text
			if len(r.Snippet.Marks) != 1 || len(r.Snippet.Text) >= len(texts[2]) {
				t.Errorf("match snippet %+v", r.Snippet)
			}
		}
	}
	q.Text = "zebra"
	resp, _ = s.Search(ctx, q)
	for _, r := range resp.Results {
		cut, ok := strings.CutSuffix(r.Snippet.Text, "…")
		if r.ChunkIndex == 2 && (!ok || len(cut) > 200 || !strings.HasPrefix(texts[2], cut+" ")) {
			t.Errorf("long text's lead snippet %q", r.Snippet.Text)
		}
	}
	if resp, err := s.Search(ctx, rag.Query{WorkspaceID: ws.ID, Viewer: store.Viewer{UserID: u.ID}, Text: "  "}); err != nil || len(resp.Results) != 0 {
		t.Errorf("blank query: %+v, %v", resp, err)
	}
}

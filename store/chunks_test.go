package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

func randVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var ss float64
	for i := range v {
		v[i] = float32(r.NormFloat64())
		ss += float64(v[i]) * float64(v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(ss))
	}
	return v
}

func cosineSim(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func setReady(t *testing.T, s *Store, wsID, docID string, chunks int, model string) {
	t.Helper()
	st := DocReady
	if err := s.UpdateDocument(context.Background(), wsID, docID, DocumentUpdate{Status: &st, ChunkCount: &chunks, EmbeddingModel: &model}); err != nil {
		t.Fatal(err)
	}
}

func checkCounts(t *testing.T, s *Store, wsID, docID string, want int) {
	t.Helper()
	c, err := s.DocumentIndexCounts(context.Background(), wsID, docID)
	if err != nil {
		t.Fatal(err)
	}
	if c != (IndexCounts{want, want, want}) {
		t.Errorf("index counts %+v, want %d of each", c, want)
	}
	if _, err := s.w.Exec(`INSERT INTO document_chunks_fts (document_chunks_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("FTS index out of step with its content: %v", err)
	}
}

func TestWriteChunksIdempotentAndDelete(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	s, ws := f.s, f.ws.ID
	d := f.doc(t, "a.txt", f.owner, f.shared)
	r := rand.New(rand.NewPCG(1, 1))
	batch := func(from, n int, word string) []ChunkInput {
		var b []ChunkInput
		for i := from; i < from+n; i++ {
			b = append(b, ChunkInput{Index: i, Content: fmt.Sprintf("chunk %d about %s", i, word), Page: i + 1, Heading: "H", Tokens: 4, Vector: randVec(r, 8)})
		}
		return b
	}
	first := batch(0, 3, "zebras")
	for range 2 { // the same batch twice, as after a crash
		if err := s.WriteChunks(ctx, ws, d.ID, "m1", first); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WriteChunks(ctx, ws, d.ID, "m1", batch(3, 3, "zebras")); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, ws, d.ID, 6)
	before, _ := s.ListChunks(ctx, ws, d.ID, -1, 100)

	// Rewriting a batch with new text replaces the FTS rows and keeps ids.
	if err := s.WriteChunks(ctx, ws, d.ID, "m1", batch(0, 3, "giraffes")); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, ws, d.ID, 6)
	after, _ := s.ListChunks(ctx, ws, d.ID, -1, 100)
	if before[0].ID != after[0].ID || before[0].Seq != after[0].Seq || after[0].Page != 1 {
		t.Errorf("rewrite changed identity: %+v → %+v", before[0], after[0])
	}
	setReady(t, s, ws, d.ID, 6, "m1")
	scope, _ := s.SearchScope(ctx, ws, f.viewer(f.owner), nil)
	if hits, _ := s.KeywordSearch(ctx, ws, scope, "giraffes", 10); len(hits) != 3 {
		t.Errorf("giraffes: %d hits, want 3", len(hits))
	}
	if hits, _ := s.KeywordSearch(ctx, ws, scope, "zebras", 10); len(hits) != 3 {
		t.Errorf("zebras: %d hits, want 3 (old text still indexed?)", len(hits))
	}

	// A shorter re-chunk trims the tail; a batch without vectors drops them.
	if err := s.TrimChunks(ctx, ws, d.ID, 4); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, ws, d.ID, 4)
	nov := batch(0, 1, "okapis")
	nov[0].Vector = nil
	if err := s.WriteChunks(ctx, ws, d.ID, "m1", nov); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.DocumentIndexCounts(ctx, ws, d.ID); c.Vectors != 3 || c.Chunks != 4 {
		t.Errorf("after a vector-less rewrite: %+v", c)
	}
	missing, _ := s.ChunksWithoutVectors(ctx, ws, d.ID, "m1", 10)
	if len(missing) != 1 || missing[0].Index != 0 {
		t.Errorf("chunks without vectors: %+v", missing)
	}
	if err := s.SetChunkVectors(ctx, ws, d.ID, "m1", []ChunkVector{{Index: 0, Vector: randVec(r, 8)}, {Index: 99, Vector: randVec(r, 8)}}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, s, ws, d.ID, 4)

	// Mixed dimensions in one batch are refused.
	bad := batch(0, 2, "x")
	bad[1].Vector = randVec(r, 16)
	if err := s.WriteChunks(ctx, ws, d.ID, "m1", bad); err == nil {
		t.Error("mixed dimensions accepted")
	}

	path, err := s.DeleteDocument(ctx, ws, d.ID)
	if err != nil || path != "p/a.txt" {
		t.Fatalf("delete: %q, %v", path, err)
	}
	checkCounts(t, s, ws, d.ID, 0)
	var vecRows int
	s.r.QueryRow(`SELECT count(*) FROM chunk_vec_8_rowids`).Scan(&vecRows)
	if vecRows != 0 {
		t.Errorf("%d vectors left after delete", vecRows)
	}
	if err := s.WriteChunks(ctx, ws, d.ID, "m1", batch(0, 1, "x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("chunks written for a deleted document: %v", err)
	}
}

func TestPurgeOrphanVectors(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	other, _ := f.s.CreateWorkspace(ctx, f.bob.ID, "Other")
	d, _, _ := f.s.CreateDocument(ctx, other.ID, NewDocument{Name: "x"})
	r := rand.New(rand.NewPCG(2, 2))
	if err := f.s.WriteChunks(ctx, other.ID, d.ID, "m", []ChunkInput{{Index: 0, Content: "a", Vector: randVec(r, 8)}, {Index: 1, Content: "b", Vector: randVec(r, 8)}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteWorkspace(ctx, other.ID); err != nil { // cascades past the vectors
		t.Fatal(err)
	}
	// The freed seq may be reused by SQLite: writing over an orphan must work.
	d2 := f.doc(t, "y", f.owner)
	if err := f.s.WriteChunks(ctx, f.ws.ID, d2.ID, "m", []ChunkInput{{Index: 0, Content: "c", Vector: randVec(r, 8)}}); err != nil {
		t.Fatalf("write over an orphaned vector's rowid: %v", err)
	}
	n, err := f.s.PurgeOrphanVectors(ctx)
	if err != nil || n != 1 {
		t.Errorf("purged %d, %v; want 1", n, err)
	}
	checkCounts(t, f.s, f.ws.ID, d2.ID, 1)
}

// TestVectorSearchScopes checks both filtering strategies against brute force,
// the workspace partition, the model filter and the visibility scope.
func TestVectorSearchScopes(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	s, ws := f.s, f.ws.ID
	r := rand.New(rand.NewPCG(3, 3))
	const dim, perDoc = 16, 3
	vecs := map[int64][]float32{}
	docOf := map[int64]string{}
	// 100 documents (more than inListMax) in the shared KB, 5 in the restricted one.
	var sharedDocs []string
	for i := range 105 {
		kb := f.shared
		if i >= 100 {
			kb = f.restricted
		}
		d := f.doc(t, fmt.Sprintf("d%03d", i), f.owner, kb)
		var b []ChunkInput
		for j := range perDoc {
			b = append(b, ChunkInput{Index: j, Content: fmt.Sprintf("doc %d chunk %d", i, j), Vector: randVec(r, dim)})
		}
		if err := s.WriteChunks(ctx, ws, d.ID, "m1", b); err != nil {
			t.Fatal(err)
		}
		setReady(t, s, ws, d.ID, perDoc, "m1")
		cs, _ := s.ListChunks(ctx, ws, d.ID, -1, 10)
		for j, c := range cs {
			vecs[c.Seq], docOf[c.Seq] = b[j].Vector, d.ID
		}
		if i < 100 {
			sharedDocs = append(sharedDocs, d.ID)
		}
	}
	// Another workspace holds the very same vectors; an old model's vectors too.
	other, _ := s.CreateWorkspace(ctx, f.bob.ID, "Other")
	od, _, _ := s.CreateDocument(ctx, other.ID, NewDocument{Name: "twin"})
	oldDoc := f.doc(t, "old-model", f.owner, f.shared)
	var twin, old []ChunkInput
	i := 0
	for _, v := range vecs {
		twin = append(twin, ChunkInput{Index: i, Content: "twin", Vector: v})
		old = append(old, ChunkInput{Index: i, Content: "old", Vector: v})
		i++
	}
	if err := s.WriteChunks(ctx, other.ID, od.ID, "m1", twin); err != nil {
		t.Fatal(err)
	}
	setReady(t, s, other.ID, od.ID, len(twin), "m1")
	if err := s.WriteChunks(ctx, ws, oldDoc.ID, "m0", old); err != nil {
		t.Fatal(err)
	}
	setReady(t, s, ws, oldDoc.ID, len(old), "m0")

	brute := func(q []float32, allowed func(string) bool, k int) []int64 {
		var seqs []int64
		for seq := range vecs {
			if allowed(docOf[seq]) {
				seqs = append(seqs, seq)
			}
		}
		sort.Slice(seqs, func(a, b int) bool { return cosineSim(q, vecs[seqs[a]]) > cosineSim(q, vecs[seqs[b]]) })
		return seqs[:min(k, len(seqs))]
	}
	check := func(name string, v Viewer, kbs []string, allowed func(string) bool) {
		t.Helper()
		scope, err := s.SearchScope(ctx, ws, v, kbs)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			q := randVec(r, dim)
			hits, err := s.VectorSearch(ctx, ws, scope, "m1", q, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, h := range hits {
				got = append(got, h.Seq)
				if h.DocumentName == "twin" || h.EmbeddingModel != "m1" {
					t.Fatalf("%s: hit from another workspace or model: %+v", name, h)
				}
				if math.Abs(h.Score-cosineSim(q, vecs[h.Seq])) > 1e-4 {
					t.Errorf("%s: score %v, cosine %v", name, h.Score, cosineSim(q, vecs[h.Seq]))
				}
			}
			if want := brute(q, allowed, 10); !slices.Equal(got, want) {
				t.Errorf("%s: got %v, brute force %v", name, got, want)
			}
		}
	}
	all := func(string) bool { return true }
	check("admin, all KBs (over-fetch path)", f.viewer(f.owner), nil, all)
	check("bob, shared only (over-fetch path)", f.viewer(f.bob), nil, func(d string) bool { return slices.Contains(sharedDocs, d) })
	check("admin, restricted KB (IN path)", f.viewer(f.owner), []string{f.restricted.ID}, func(d string) bool { return !slices.Contains(sharedDocs, d) })
	// Bob asking for the restricted KB by id gets nothing from it.
	scope, _ := s.SearchScope(ctx, ws, f.viewer(f.bob), []string{f.restricted.ID})
	if hits, _ := s.VectorSearch(ctx, ws, scope, "m1", randVec(r, dim), 10); len(hits) != 0 {
		t.Errorf("bob found %d chunks in a KB he cannot see", len(hits))
	}
	// A dimension without a table and an empty scope are simply empty.
	if hits, err := s.VectorSearch(ctx, ws, scope, "m1", randVec(r, 24), 10); err != nil || hits != nil {
		t.Errorf("unknown dimension: %v, %v", hits, err)
	}
}

func TestKeywordSearchIsSafe(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	s, ws := f.s, f.ws.ID
	d := f.doc(t, "inv", f.owner, f.shared)
	texts := []string{
		"Invoice INV-2024-07 was paid by the finance team on Tuesday.",
		"The onboarding guide explains how to reset a password.",
		"Quarterly revenue grew; NOT a typo: \"NEAR\" and AND are words here.",
	}
	var b []ChunkInput
	for i, x := range texts {
		b = append(b, ChunkInput{Index: i, Content: x, Heading: "Finance"})
	}
	if err := s.WriteChunks(ctx, ws, d.ID, "", b); err != nil {
		t.Fatal(err)
	}
	setReady(t, s, ws, d.ID, len(texts), "")
	scope, _ := s.SearchScope(ctx, ws, f.viewer(f.owner), nil)
	for _, tc := range []struct {
		q    string
		want int // index of the top chunk, -1 for none
	}{
		{"INV-2024-07", 0},
		{"how do I reset my password?", 1},
		{`"unbalanced`, -1},
		{`NOT AND OR NEAR(`, 2},
		{`revenue*`, 2},
		{`content:revenue*`, -1}, // one word, so one phrase: "content revenue"
		{`finance) OR (`, 0},
		{"", -1},
		{"   ;;; ", -1},
	} {
		hits, err := s.KeywordSearch(ctx, ws, scope, tc.q, 5)
		if err != nil {
			t.Errorf("%q: %v", tc.q, err)
			continue
		}
		if tc.want < 0 {
			if len(hits) != 0 {
				t.Errorf("%q: %d hits, want none", tc.q, len(hits))
			}
			continue
		}
		if len(hits) == 0 || hits[0].Index != tc.want {
			t.Errorf("%q: top hit %+v, want chunk %d", tc.q, hits, tc.want)
			continue
		}
		snips, err := s.Snippets(ctx, ws, []int64{hits[0].Seq}, tc.q)
		if sn := snips[hits[0].Seq]; err != nil || len(sn.Marks) == 0 || hits[0].Score <= 0 {
			t.Errorf("%q: snippet %+v (%v) score %v", tc.q, sn, err, hits[0].Score)
		}
	}
	hits, _ := s.KeywordSearch(ctx, ws, scope, "password", 5)
	snips, _ := s.Snippets(ctx, ws, []int64{hits[0].Seq}, "password")
	if got := snips[hits[0].Seq].Marked("[", "]"); !strings.Contains(got, "[password]") {
		t.Errorf("marked snippet %q", got)
	}
	sn := Snippet{Text: "<b>x</b> y", Marks: [][2]int{{9, 10}}}
	if got := sn.HTML(); got != "&lt;b&gt;x&lt;/b&gt; <mark>y</mark>" {
		t.Errorf("HTML %q", got)
	}
	snips, err := s.Snippets(ctx, ws, []int64{hits[0].Seq}, "reset it")
	if err != nil || len(snips[hits[0].Seq].Marks) != 1 {
		t.Errorf("Snippets: %+v, %v", snips, err)
	}
}

func TestFTSQuery(t *testing.T) {
	for in, want := range map[string]string{
		`hello world`:    `"hello" OR "world"`,
		`INV-2024-07`:    `"inv 2024 07"`,
		`a "b" a`:        `"b"`,           // "a" is a function word
		`the of`:         `"the" OR "of"`, // only function words: they are the query
		`how do I pay?`:  `"pay"`,
		`NEAR(x y) *`:    `"near x" OR "y"`,
		`col:val^ -neg`:  `"col val" OR "neg"`,
		`Über straße`:    `"über" OR "straße"`,
		`!!! ??? ***`:    ``,
		`東京 タワー`:         `"東京" OR "タワー"`,
		`it's o'clock`:   `"it s" OR "o clock"`,
		"tab\tsep\nline": `"tab" OR "sep" OR "line"`,
	} {
		if got := ftsQuery(in); got != want {
			t.Errorf("ftsQuery(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestVectorSearchFallback forces the over-fetch to come back short, so the
// exact IN filter must take over.
func TestVectorSearchFallback(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	s, ws := f.s, f.ws.ID
	r := rand.New(rand.NewPCG(4, 4))
	q := randVec(r, 8)
	near := func(sign float32) []float32 {
		v := randVec(r, 8)
		for i := range v {
			v[i] = sign*q[i] + 0.05*v[i]
		}
		return v
	}
	var in []string
	for i := range 120 {
		kb, sign := f.shared, float32(-1) // in scope, far from q
		if i >= 70 {
			kb, sign = f.private, 1 // hidden from alice, nearest to q
		}
		d := f.doc(t, fmt.Sprint(i), f.owner, kb)
		if err := s.WriteChunks(ctx, ws, d.ID, "m", []ChunkInput{{Index: 0, Content: "x", Vector: near(sign)}}); err != nil {
			t.Fatal(err)
		}
		setReady(t, s, ws, d.ID, 1, "m")
		if i < 70 {
			in = append(in, d.ID)
		}
	}
	scope, _ := s.SearchScope(ctx, ws, f.viewer(f.alice), nil)
	if len(scope.DocumentIDs) != 70 {
		t.Fatalf("scope has %d documents", len(scope.DocumentIDs))
	}
	scope.WorkspaceChunks = scope.Chunks // pretend the scope is the whole workspace: over-fetch only 2k
	hits, err := s.VectorSearch(ctx, ws, scope, "m", q, 10)
	if err != nil || len(hits) != 10 {
		t.Fatalf("%d hits, %v", len(hits), err)
	}
	for _, h := range hits {
		if !slices.Contains(in, h.DocumentID) {
			t.Fatalf("hit outside the scope: %s", h.DocumentID)
		}
	}
}

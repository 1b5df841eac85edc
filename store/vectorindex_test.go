package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const ixDim = 64

func ixVec(r *rand.Rand) []float32 {
	v := make([]float32, ixDim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// ixFixture is a workspace with documents of random vectors, their values
// kept so a test can search for a chunk by its own vector.
type ixFixture struct {
	t    *testing.T
	st   *Store
	ws   string
	user int64
	r    *rand.Rand
	vecs map[int64][]float32 // seq → vector, for chunks that have one
}

func newIxFixture(t *testing.T, opts VectorIndexOptions) *ixFixture {
	t.Helper()
	st := openTestStore(t)
	st.SetVectorIndex(opts)
	u, _ := st.CreateUser(context.Background(), "ix@example.com", "", "x", true)
	ws, _ := st.CreateWorkspace(context.Background(), u.ID, "W")
	return &ixFixture{t: t, st: st, ws: ws.ID, user: u.ID, r: rand.New(rand.NewPCG(1, 2)), vecs: map[int64][]float32{}}
}

func openTestStore(t *testing.T) *Store {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// addDoc writes a ready document of n chunks with vectors of model.
func (f *ixFixture) addDoc(ws, model string, n int, kbs ...string) string {
	f.t.Helper()
	ctx := context.Background()
	doc, _, err := f.st.CreateDocument(ctx, ws, NewDocument{Name: "d", UploadedBy: f.user, KnowledgeBaseIDs: kbs})
	if err != nil {
		f.t.Fatal(err)
	}
	in := make([]ChunkInput, n)
	for i := range in {
		in[i] = ChunkInput{Index: i, Content: fmt.Sprint("chunk ", i), Vector: ixVec(f.r)}
	}
	if err := f.st.WriteChunks(ctx, ws, doc.ID, model, in); err != nil {
		f.t.Fatal(err)
	}
	ready := DocReady
	if err := f.st.UpdateDocument(ctx, ws, doc.ID, DocumentUpdate{Status: &ready, ChunkCount: &n, EmbeddingModel: &model}); err != nil {
		f.t.Fatal(err)
	}
	chunks, _ := f.st.ListChunks(ctx, ws, doc.ID, -1, n)
	for i, c := range chunks {
		f.vecs[c.Seq] = in[i].Vector
	}
	return doc.ID
}

func (f *ixFixture) scope(ws string) *SearchScope {
	f.t.Helper()
	sc, err := f.st.SearchScope(context.Background(), ws, Viewer{UserID: f.user, IsAdmin: true}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return sc
}

// load makes the index of (ws, model) ready: a search starts the load.
func (f *ixFixture) load(ws, model string) {
	f.t.Helper()
	if _, err := f.st.VectorSearch(context.Background(), ws, f.scope(ws), model, ixVec(f.r), 1); err != nil {
		f.t.Fatal(err)
	}
	if !f.st.WaitVectorIndex(ws, model, ixDim) {
		f.t.Fatalf("the index of %s did not load", model)
	}
}

func ixChunk(st *Store, ws string, seq int64) *Chunk {
	c, err := scanChunk(st.r.QueryRow(`SELECT `+chunkCols+` FROM document_chunks c WHERE c.workspace_id = ? AND c.seq = ?`, ws, seq))
	if err != nil {
		return nil
	}
	return c
}

func seqsOf(hits []ChunkHit) []int64 {
	out := make([]int64, len(hits))
	for i, h := range hits {
		out[i] = h.Seq
	}
	return out
}

// same checks that the fast path (index ready) and vec0 agree for queries
// near stored vectors and random ones.
func (f *ixFixture) same(ws, model string) {
	f.t.Helper()
	ctx := context.Background()
	if !f.st.WaitVectorIndex(ws, model, ixDim) {
		f.t.Fatal("the index is not ready")
	}
	sc := f.scope(ws)
	qs := [][]float32{ixVec(f.r), ixVec(f.r)}
	for _, v := range f.vecs {
		qs = append(qs, v)
		if len(qs) == 6 {
			break
		}
	}
	for _, q := range qs {
		fast, err := f.st.VectorSearch(ctx, ws, sc, model, q, 10)
		if err != nil {
			f.t.Fatal(err)
		}
		slow, err := f.st.vec0Search(ctx, ws, sc, model, q, 10)
		if err != nil {
			f.t.Fatal(err)
		}
		if !slices.Equal(seqsOf(fast), seqsOf(slow)) {
			f.t.Fatalf("index and vec0 disagree:\n%v\n%v", seqsOf(fast), seqsOf(slow))
		}
	}
}

// top is the best hit of a search by vector q (fast path once loaded).
func (f *ixFixture) top(ws, model string, q []float32) (int64, float64) {
	f.t.Helper()
	hits, err := f.st.VectorSearch(context.Background(), ws, f.scope(ws), model, q, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(hits) == 0 {
		return 0, 0
	}
	return hits[0].Seq, hits[0].Score
}

// TestVectorIndexFollowsWrites: every kind of durable vector write is seen
// by the next search through the index, which keeps agreeing with vec0: new
// chunks, re-embedding (same model, another model), trimming, deleting and
// resetting documents, and deleting the workspace.
func TestVectorIndexFollowsWrites(t *testing.T) {
	ctx := context.Background()
	f := newIxFixture(t, DefaultVectorIndex)
	docs := []string{f.addDoc(f.ws, "m1", 40), f.addDoc(f.ws, "m1", 40)}
	f.load(f.ws, "m1")
	f.same(f.ws, "m1")

	// Written and committed: searchable at once.
	d3 := f.addDoc(f.ws, "m1", 5)
	chunks, _ := f.st.ListChunks(ctx, f.ws, d3, -1, 5)
	if seq, sc := f.top(f.ws, "m1", f.vecs[chunks[2].Seq]); seq != chunks[2].Seq || sc < 0.999 {
		t.Fatalf("a new chunk is not its own nearest: %d %.3f", seq, sc)
	}
	f.same(f.ws, "m1")

	// Re-embedding with the same model: found by its new vector only.
	old := f.vecs[chunks[0].Seq]
	nv := ixVec(f.r)
	if err := f.st.SetChunkVectors(ctx, f.ws, d3, "m1", []ChunkVector{{Index: 0, Vector: nv}}); err != nil {
		t.Fatal(err)
	}
	f.vecs[chunks[0].Seq] = nv
	if seq, _ := f.top(f.ws, "m1", nv); seq != chunks[0].Seq {
		t.Fatal("a re-embedded chunk is not found by its new vector")
	}
	if seq, sc := f.top(f.ws, "m1", old); seq == chunks[0].Seq && sc > 0.999 {
		t.Fatal("a re-embedded chunk is still found by its old vector")
	}
	// Re-embedding with another model: gone from the first model's results.
	if err := f.st.SetChunkVectors(ctx, f.ws, d3, "m2", []ChunkVector{{Index: 1, Vector: f.vecs[chunks[1].Seq]}}); err != nil {
		t.Fatal(err)
	}
	if seq, _ := f.top(f.ws, "m1", f.vecs[chunks[1].Seq]); seq == chunks[1].Seq {
		t.Fatal("a chunk re-embedded with another model is still found with the first")
	}
	delete(f.vecs, chunks[1].Seq)
	f.same(f.ws, "m1")

	// Trimmed, deleted and reset documents: never returned.
	if err := f.st.TrimChunks(ctx, f.ws, d3, 3); err != nil {
		t.Fatal(err)
	}
	if seq, _ := f.top(f.ws, "m1", f.vecs[chunks[4].Seq]); seq == chunks[4].Seq {
		t.Fatal("a trimmed chunk is returned")
	}
	first, _ := f.st.ListChunks(ctx, f.ws, docs[0], -1, 1)
	if _, err := f.st.DeleteDocument(ctx, f.ws, docs[0]); err != nil {
		t.Fatal(err)
	}
	if seq, _ := f.top(f.ws, "m1", f.vecs[first[0].Seq]); seq == first[0].Seq {
		t.Fatal("a chunk of a deleted document is returned")
	}
	second, _ := f.st.ListChunks(ctx, f.ws, docs[1], -1, 1)
	if _, err := f.st.ResetDocument(ctx, f.ws, docs[1]); err != nil {
		t.Fatal(err)
	}
	if f.st.vx.entries[vecKey{f.ws, "m1", ixDim}].ix.Has(second[0].Seq) {
		t.Fatal("a reset document's vector stays in the index")
	}
	for seq := range f.vecs {
		if ixChunk(f.st, f.ws, seq) == nil {
			delete(f.vecs, seq)
		}
	}
	f.same(f.ws, "m1")

	// Deleting the workspace drops its index.
	if err := f.st.DeleteWorkspace(ctx, f.ws); err != nil {
		t.Fatal(err)
	}
	if st := f.st.VectorIndexStats(); st.Indexes != 0 || st.Bytes != 0 {
		t.Fatalf("after deleting the workspace: %+v", st)
	}
}

// TestVectorIndexWritesWhileLoading: writes and deletes committed while an
// index loads (and while searches run, under -race) all end up in it: its
// vectors are exactly vec0's afterwards.
func TestVectorIndexWritesWhileLoading(t *testing.T) {
	ctx := context.Background()
	f := newIxFixture(t, DefaultVectorIndex)
	var docs []string
	for range 20 {
		docs = append(docs, f.addDoc(f.ws, "m", 50))
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 10 {
			f.addDoc(f.ws, "m", 20)
			if _, err := f.st.DeleteDocument(ctx, f.ws, docs[i]); err != nil {
				t.Error(err)
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(3, 3))
			for range 30 {
				sc, err := f.st.SearchScope(ctx, f.ws, Viewer{UserID: f.user, IsAdmin: true}, nil)
				if err == nil {
					_, err = f.st.VectorSearch(ctx, f.ws, sc, "m", ixVec(r), 5)
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	f.load(f.ws, "m")
	var want []int64
	rows, err := f.st.r.QueryContext(ctx, `SELECT rowid FROM chunk_vec_64 WHERE workspace_id = ?`, f.ws)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var seq int64
		rows.Scan(&seq)
		want = append(want, seq)
	}
	rows.Close()
	ix := f.st.vx.entries[vecKey{f.ws, "m", ixDim}].ix
	if ix.Len() != len(want) || len(want) != 10*50+10*20 {
		t.Fatalf("index holds %d vectors, vec0 %d (want %d)", ix.Len(), len(want), 10*50+10*20)
	}
	for _, seq := range want {
		if !ix.Has(seq) {
			t.Fatalf("seq %d is in vec0, not in the index", seq)
		}
	}
	f.same(f.ws, "m")
}

// TestVectorIndexNeverWidensScope: the fast path returns neither another
// workspace's vectors (same model and dimension) nor the workspace's
// documents the viewer cannot see or that are not ready, nor those outside
// the chosen knowledge base — even for a query equal to their vector.
func TestVectorIndexNeverWidensScope(t *testing.T) {
	ctx := context.Background()
	f := newIxFixture(t, DefaultVectorIndex)
	other, _ := f.st.CreateWorkspace(ctx, f.user, "Other")
	member, _ := f.st.CreateUser(ctx, "member@example.com", "", "x", false)
	if err := f.st.AddMember(ctx, f.ws, member.ID, "member"); err != nil {
		t.Fatal(err)
	}
	kb, _ := f.st.CreateKnowledgeBase(ctx, f.ws, f.user, "shared", "", true)
	private, _ := f.st.CreateKnowledgeBase(ctx, f.ws, f.user, "private", "", false)
	visible := f.addDoc(f.ws, "m", 10, kb.ID)
	hidden := f.addDoc(f.ws, "m", 10, private.ID)
	outside := f.addDoc(f.ws, "m", 10)
	foreign := f.addDoc(other.ID, "m", 10)
	pending, _, _ := f.st.CreateDocument(ctx, f.ws, NewDocument{Name: "p", UploadedBy: f.user, KnowledgeBaseIDs: []string{kb.ID}})
	pv := ixVec(f.r)
	if err := f.st.WriteChunks(ctx, f.ws, pending.ID, "m", []ChunkInput{{Index: 0, Content: "p", Vector: pv}}); err != nil {
		t.Fatal(err)
	}
	f.load(f.ws, "m")
	f.load(other.ID, "m")
	by := map[string][]int64{}
	for seq := range f.vecs {
		c := ixChunk(f.st, f.ws, seq)
		if c == nil {
			c = ixChunk(f.st, other.ID, seq)
		}
		by[c.DocumentID] = append(by[c.DocumentID], seq)
	}
	memberView := Viewer{UserID: member.ID}
	cases := []struct {
		name   string
		view   Viewer
		kbs    []string
		banned []string
	}{
		{"member, whole workspace", memberView, nil, []string{hidden, outside, foreign, pending.ID}},
		{"member asking for the private KB", memberView, []string{private.ID}, []string{hidden, outside, foreign, pending.ID}},
		{"admin, one KB", Viewer{UserID: f.user, IsAdmin: true}, []string{kb.ID}, []string{hidden, outside, foreign, pending.ID}},
	}
	for _, c := range cases {
		sc, err := f.st.SearchScope(ctx, f.ws, c.view, c.kbs)
		if err != nil {
			t.Fatal(err)
		}
		queries := [][]float32{pv}
		for _, d := range c.banned {
			for _, seq := range by[d] {
				queries = append(queries, f.vecs[seq])
			}
		}
		for _, q := range queries {
			hits, err := f.st.VectorSearch(ctx, f.ws, sc, "m", q, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if slices.Contains(c.banned, h.DocumentID) || !slices.Contains(sc.DocumentIDs, h.DocumentID) {
					t.Fatalf("%s: chunk of document %s returned", c.name, h.DocumentID)
				}
			}
		}
	}
	// What the member may see, they find.
	sc, _ := f.st.SearchScope(ctx, f.ws, memberView, nil)
	hits, err := f.st.VectorSearch(ctx, f.ws, sc, "m", f.vecs[by[visible][3]], 1)
	if err != nil || len(hits) != 1 || hits[0].Seq != by[visible][3] {
		t.Fatalf("a visible chunk not found by its vector: %v %v", seqsOf(hits), err)
	}
	if !f.st.WaitVectorIndex(f.ws, "m", ixDim) {
		t.Fatal("the searches above did not use the index")
	}
}

// TestVectorIndexCap: an index over the memory cap is never loaded (and one
// growing past it is dropped); searches keep their results through vec0.
func TestVectorIndexCap(t *testing.T) {
	ctx := context.Background()
	f := newIxFixture(t, VectorIndexOptions{MaxBytes: 100 * 1024})
	f.addDoc(f.ws, "m", 400) // about 170 KB of index
	sc := f.scope(f.ws)
	q := ixVec(f.r)
	want, err := f.st.vec0Search(ctx, f.ws, sc, "m", q, 10)
	if err != nil || len(want) != 10 {
		t.Fatal(len(want), err)
	}
	for range 3 {
		got, err := f.st.VectorSearch(ctx, f.ws, sc, "m", q, 10)
		if err != nil || !slices.Equal(seqsOf(got), seqsOf(want)) {
			t.Fatalf("over the cap: %v, %v; want %v", seqsOf(got), err, seqsOf(want))
		}
		if f.st.WaitVectorIndex(f.ws, "m", ixDim) {
			t.Fatal("an index over the cap was loaded")
		}
	}
	if st := f.st.VectorIndexStats(); st.Bytes != 0 || st.Indexes != 0 {
		t.Fatalf("memory held over the cap: %+v", st)
	}

	// Room for the index now, but not for what is written next.
	f.st.SetVectorIndex(VectorIndexOptions{MaxBytes: 250 * 1024})
	f.load(f.ws, "m")
	if st := f.st.VectorIndexStats(); st.Bytes > st.MaxBytes || st.Vectors != 400 {
		t.Fatalf("loaded: %+v", st)
	}
	f.addDoc(f.ws, "m", 400)
	if f.st.WaitVectorIndex(f.ws, "m", ixDim) {
		t.Fatal("an index grown over the cap was kept")
	}
	sc = f.scope(f.ws)
	want, _ = f.st.vec0Search(ctx, f.ws, sc, "m", q, 10)
	got, err := f.st.VectorSearch(ctx, f.ws, sc, "m", q, 10)
	if err != nil || len(got) != 10 || !slices.Equal(seqsOf(got), seqsOf(want)) {
		t.Fatalf("after the drop: %v, %v; want %v", seqsOf(got), err, seqsOf(want))
	}
}

// TestVectorIndexIdle: an index not searched for the idle time is dropped,
// and the next search loads it again.
func TestVectorIndexIdle(t *testing.T) {
	f := newIxFixture(t, VectorIndexOptions{MaxBytes: 1 << 30, Idle: 100 * time.Millisecond})
	f.addDoc(f.ws, "m", 20)
	f.load(f.ws, "m")
	deadline := time.Now().Add(5 * time.Second)
	for f.st.VectorIndexStats().Indexes != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle index was not dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := f.st.VectorIndexStats(); st.Bytes != 0 {
		t.Fatalf("memory held after the drop: %+v", st)
	}
	f.load(f.ws, "m")
	f.same(f.ws, "m")
}

// TestVectorIndexAfterKill: a process writing and deleting documents is
// killed with SIGKILL mid-way; after reopening, every document it reported
// committed is found through the index by its vectors, every deletion it
// reported holds, and the index agrees with vec0.
func TestVectorIndexAfterKill(t *testing.T) {
	if dir := os.Getenv("QUIRE_VECINDEX_CHILD"); dir != "" {
		ixChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestVectorIndexAfterKill$")
	cmd.Env = append(os.Environ(), "QUIRE_VECINDEX_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := map[string]uint64{}
	var deleted []string
	var user int64
	var ws string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(committed) < 30 {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "workspace":
			ws = f[1]
			user, _ = strconv.ParseInt(f[2], 10, 64)
		case len(f) == 3 && f[0] == "committed":
			seed, _ := strconv.ParseUint(f[2], 10, 64)
			committed[f[1]] = seed
		case len(f) == 2 && f[0] == "deleted":
			delete(committed, f[1])
			deleted = append(deleted, f[1])
		}
	}
	// Killed in the middle of its next writes.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(committed) < 30 || len(deleted) == 0 || ws == "" {
		t.Fatalf("the child reported %d documents, %d deletions", len(committed), len(deleted))
	}

	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(dir, "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &ixFixture{t: t, st: st, ws: ws, user: user, r: rand.New(rand.NewPCG(5, 5)), vecs: map[int64][]float32{}}
	f.load(ws, "m")
	scope := f.scope(ws)
	for doc, seed := range committed {
		r := rand.New(rand.NewPCG(seed, seed))
		chunks, err := st.ListChunks(ctx, ws, doc, -1, 10)
		if err != nil || len(chunks) != 10 {
			t.Fatalf("committed document %s has %d chunks after the crash (%v)", doc, len(chunks), err)
		}
		for _, c := range chunks {
			v := ixVec(r)
			f.vecs[c.Seq] = v
			hits, err := st.VectorSearch(ctx, ws, scope, "m", v, 1)
			if err != nil || len(hits) != 1 || hits[0].Seq != c.Seq {
				t.Fatalf("chunk %d of a committed document not found by its vector: %v %v", c.Seq, seqsOf(hits), err)
			}
		}
	}
	for _, doc := range deleted {
		if n, _ := st.DocumentIndexCounts(ctx, ws, doc); n.Vectors != 0 || n.Chunks != 0 {
			t.Fatalf("deleted document %s is back: %+v", doc, n)
		}
	}
	f.same(ws, "m")
}

// ixChild writes ten-chunk documents as fast as it can, deleting every
// third one, reporting each commit, until it is killed.
func ixChild(dir string) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(dir, "q.db"))
	if err != nil {
		panic(err)
	}
	u, _ := st.CreateUser(ctx, "crash@example.com", "", "x", true)
	ws, _ := st.CreateWorkspace(ctx, u.ID, "W")
	fmt.Printf("workspace %s %d\n", ws.ID, u.ID)
	sc, _ := st.SearchScope(ctx, ws.ID, Viewer{UserID: u.ID, IsAdmin: true}, nil)
	_, _ = st.VectorSearch(ctx, ws.ID, sc, "m", make([]float32, ixDim), 1) // the index is live while writing
	for i := uint64(1); ; i++ {
		doc, _, err := st.CreateDocument(ctx, ws.ID, NewDocument{Name: "d", UploadedBy: u.ID})
		if err != nil {
			panic(err)
		}
		r := rand.New(rand.NewPCG(i, i))
		in := make([]ChunkInput, 10)
		for j := range in {
			in[j] = ChunkInput{Index: j, Content: "c", Vector: ixVec(r)}
		}
		if err := st.WriteChunks(ctx, ws.ID, doc.ID, "m", in); err != nil {
			panic(err)
		}
		n, ready, model := 10, DocReady, "m"
		if err := st.UpdateDocument(ctx, ws.ID, doc.ID, DocumentUpdate{Status: &ready, ChunkCount: &n, EmbeddingModel: &model}); err != nil {
			panic(err)
		}
		fmt.Printf("committed %s %d\n", doc.ID, i)
		if i%3 == 0 {
			if _, err := st.DeleteDocument(ctx, ws.ID, doc.ID); err != nil {
				panic(err)
			}
			fmt.Printf("deleted %s\n", doc.ID)
		}
	}
}

// Package ragbench is `quire bench retrieval`: it builds a synthetic corpus
// in a temporary database through the store's own write path, searches it
// through rag.Searcher (the API's search, the query embedding aside), and
// measures, in the same run, what the machine's memory allows: the time to
// read the scanned vectors once and a plain brute-force scan, so latencies
// come with ratios that mean something on a busy machine.
package ragbench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"quire/app/rag"
	"quire/store"
	"quire/store/vecindex"
)

// Options size a run.
type Options struct {
	Chunks        int     // in the searched workspace
	Dim           int     // vector components
	ScopeFraction float64 // share of the documents in the knowledge base searched by the "kb" figures
	Queries       int
	TopK          int    // results per search; 10 when 0 (recall is @TopK)
	Dir           string // parent of the temporary data dir ("" = the system's)
	Progress      func(string)
	// Profile, when set, receives a CPU profile of the searches (not of
	// building the corpus or loading the index).
	Profile io.Writer
}

// Limits of the options: a million chunks of 4096 dimensions is 16 GB of
// float32 vectors, beyond what the command should try to allocate blindly.
const (
	MaxChunks = 5_000_000
	MaxDim    = 4096
	MaxBytes  = 16 << 30
)

// Latency is a distribution of one operation's duration.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
}

// Report is one run's figures; --json prints it.
type Report struct {
	Chunks        int     `json:"chunks"`
	Dim           int     `json:"dim"`
	ScopeFraction float64 `json:"scope_fraction"`
	ScopeChunks   int     `json:"scope_chunks"`
	Queries       int     `json:"queries"`
	TopK          int     `json:"top_k"`
	Cores         int     `json:"cores"`
	Kernel        string  `json:"kernel"`

	InsertVectorsPerS float64 `json:"insert_vectors_per_s"`
	IndexLoadMS       float64 `json:"index_load_ms"`
	IndexBytes        int64   `json:"index_bytes"`
	IndexBytesPer100k int64   `json:"index_bytes_per_100k_chunks"`

	// Through rag.Searcher, as the API runs them (scope, search, chunk
	// rows, snippets, knowledge bases).
	Vector   Latency `json:"vector"`
	VectorKB Latency `json:"vector_kb"`
	Keyword  Latency `json:"keyword"`
	Hybrid   Latency `json:"hybrid"`
	HybridKB Latency `json:"hybrid_kb"`
	// Hybrid as the first search after a change to the workspace's
	// documents or access pays it: with the scope computed, not cached.
	HybridComputed Latency `json:"hybrid_scope_computed"`
	// The parts: the visibility scope alone (as searches get it from the
	// cache, and computed afresh), and the store's vector search given the
	// scope — the index, and vec0 as when the index is not loaded.
	Scope         Latency `json:"scope"`
	ScopeComputed Latency `json:"scope_computed"`
	// The keyword half of a hybrid search alone: chunks sharing any of the
	// query's words, ranked by BM25 (the "keyword" figure above is the
	// exact-phrase search the API's keyword mode runs).
	KeywordAny  Latency `json:"keyword_any_words"`
	IndexSearch Latency `json:"index_search"`
	IndexKB     Latency `json:"index_search_kb"`
	Vec0Search  Latency `json:"vec0_search"`
	// Reference points measured in the same run: a brute-force float32 scan
	// of the workspace's vectors in Go, and the time one core takes to read
	// the float32 vectors (of the workspace, of the knowledge base) once.
	BruteForce Latency `json:"brute_force"`
	FloorMS    float64 `json:"floor_ms"`
	FloorKBMS  float64 `json:"floor_kb_ms"`
	// int8 codes are what the index scans: a quarter of the float32 bytes.
	FloorCodesMS float64 `json:"floor_codes_ms"`

	RecallAt10   float64 `json:"recall_at_10"`
	RecallAt10KB float64 `json:"recall_at_10_kb"`
	// index_search p50 over floor_ms (and the same for the knowledge base):
	// the targets are ≤ 2.
	VectorToFloor   float64 `json:"index_search_to_floor"`
	VectorKBToFloor float64 `json:"index_search_kb_to_floor"`
}

const (
	perDoc = 100 // chunks per document
	model  = "bench"
)

// Run builds the corpus, measures, and removes the temporary data dir.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	o.TopK = cmp.Or(o.TopK, 10)
	say := o.Progress
	if say == nil {
		say = func(string) {}
	}
	dir, err := os.MkdirTemp(o.Dir, "quire-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, filepath.Join(dir, "quire.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// The bench measures the index, so it must fit whatever the cap of the
	// instance; nothing stays loaded after the run.
	st.SetVectorIndex(store.VectorIndexOptions{MaxBytes: math.MaxInt64})

	rep := &Report{Chunks: o.Chunks, Dim: o.Dim, ScopeFraction: o.ScopeFraction, Queries: o.Queries, TopK: o.TopK,
		Cores: runtime.GOMAXPROCS(0), Kernel: st.VectorIndexStats().Kernel}
	c, err := build(ctx, st, o, rep, say)
	if err != nil {
		return nil, err
	}

	// The first search starts loading the index; searches meanwhile use vec0.
	say("loading the index")
	began := time.Now()
	scope, err := st.SearchScope(ctx, c.ws, c.viewer, nil)
	if err != nil {
		return nil, err
	}
	if _, err := st.VectorSearch(ctx, c.ws, scope, model, c.queries[0].vec, o.TopK); err != nil {
		return nil, err
	}
	if !st.WaitVectorIndex(c.ws, model, o.Dim) {
		return nil, errors.New("the vector index did not load")
	}
	rep.IndexLoadMS = ms(time.Since(began))
	rep.IndexBytes = st.VectorIndexStats().Bytes
	rep.IndexBytesPer100k = rep.IndexBytes * 100_000 / int64(o.Chunks)

	say("searching")
	if o.Profile != nil {
		if err := pprof.StartCPUProfile(o.Profile); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	s := &rag.Searcher{Store: st, MinSimilarity: -1, // random vectors: every hit counts
		Embed: func(_ context.Context, text string) ([]float32, string, error) { return c.byText[text], model, nil }}
	// A scope is cached per viewer until the workspace changes: a viewer
	// never seen before (an admin, who sees the same documents) has it
	// computed, as after every change.
	stranger := c.viewer.UserID
	fresh := func() store.Viewer {
		stranger += 1_000_000
		return store.Viewer{UserID: stranger, IsAdmin: true}
	}
	apiAs := func(mode rag.Mode, kbs []string, viewer func() store.Viewer) (Latency, error) {
		return measure(c.queries, func(q query) error {
			resp, err := s.Search(ctx, rag.Query{WorkspaceID: c.ws, Viewer: viewer(), Text: q.text, KnowledgeBaseIDs: kbs, TopK: o.TopK, Mode: mode})
			if err == nil && len(resp.Results) == 0 && mode != rag.ModeKeyword {
				err = fmt.Errorf("no %s results", mode)
			}
			return err
		})
	}
	api := func(mode rag.Mode, kbs []string) (Latency, error) {
		return apiAs(mode, kbs, func() store.Viewer { return c.viewer })
	}
	if rep.Vector, err = api(rag.ModeVector, nil); err != nil {
		return nil, err
	}
	if rep.VectorKB, err = api(rag.ModeVector, []string{c.kb}); err != nil {
		return nil, err
	}
	if rep.Keyword, err = api(rag.ModeKeyword, nil); err != nil {
		return nil, err
	}
	if rep.Hybrid, err = api(rag.ModeHybrid, nil); err != nil {
		return nil, err
	}
	if rep.HybridKB, err = api(rag.ModeHybrid, []string{c.kb}); err != nil {
		return nil, err
	}
	if rep.HybridComputed, err = apiAs(rag.ModeHybrid, nil, fresh); err != nil {
		return nil, err
	}
	scopeAs := func(viewer func() store.Viewer) (Latency, error) {
		return measure(c.queries, func(query) error {
			_, err := st.SearchScope(ctx, c.ws, viewer(), nil)
			return err
		})
	}
	if rep.Scope, err = scopeAs(func() store.Viewer { return c.viewer }); err != nil {
		return nil, err
	}
	if rep.ScopeComputed, err = scopeAs(fresh); err != nil {
		return nil, err
	}
	if rep.KeywordAny, err = measure(c.queries, func(q query) error {
		_, err := st.KeywordSearch(ctx, c.ws, scope, q.text, rag.Candidates)
		return err
	}); err != nil {
		return nil, err
	}
	kbScope, err := st.SearchScope(ctx, c.ws, c.viewer, []string{c.kb})
	if err != nil {
		return nil, err
	}
	rep.ScopeChunks = kbScope.Chunks
	found := map[*store.SearchScope][][]int64{}
	direct := func(sc *store.SearchScope, keep bool) (Latency, error) {
		return measure(c.queries, func(q query) error {
			hits, err := st.VectorSearch(ctx, c.ws, sc, model, q.vec, o.TopK)
			if err == nil && keep {
				found[sc] = append(found[sc], seqs(hits))
			}
			return err
		})
	}
	if rep.IndexSearch, err = direct(scope, true); err != nil {
		return nil, err
	}
	if rep.IndexKB, err = direct(kbScope, true); err != nil {
		return nil, err
	}

	say("the same through vec0, and a brute-force scan")
	st.SetVectorIndex(store.VectorIndexOptions{}) // off: vec0 answers
	few := c.queries[:min(len(c.queries), 20)]
	if rep.Vec0Search, err = measure(few, func(q query) error {
		_, err := st.VectorSearch(ctx, c.ws, scope, model, q.vec, o.TopK)
		return err
	}); err != nil {
		return nil, err
	}
	var exact, exactKB [][]int64
	rep.BruteForce, _ = measure(c.queries, func(q query) error {
		exact = append(exact, c.brute(q.vec, o.TopK, nil))
		return nil
	})
	for _, q := range c.queries {
		exactKB = append(exactKB, c.brute(q.vec, o.TopK, c.inKB))
	}
	rep.RecallAt10 = recall(found[scope], exact)
	rep.RecallAt10KB = recall(found[kbScope], exactKB)

	say("measuring the memory floor")
	perByte := vecindex.ReadCost()
	rep.FloorMS = perByte * float64(o.Chunks*o.Dim*4)
	rep.FloorKBMS = perByte * float64(kbScope.Chunks*o.Dim*4)
	rep.FloorCodesMS = perByte * float64(o.Chunks*((o.Dim+31)/32*32))
	rep.VectorToFloor = rep.IndexSearch.P50 / rep.FloorMS
	rep.VectorKBToFloor = rep.IndexKB.P50 / rep.FloorKBMS
	return rep, nil
}

func (o Options) check() error {
	switch {
	case o.Chunks < perDoc || o.Chunks > MaxChunks:
		return fmt.Errorf("--chunks %d: want %d to %d", o.Chunks, perDoc, MaxChunks)
	case o.Dim < 2 || o.Dim > MaxDim:
		return fmt.Errorf("--dim %d: want 2 to %d", o.Dim, MaxDim)
	case int64(o.Chunks)*int64(o.Dim)*4 > MaxBytes:
		return fmt.Errorf("--chunks %d × --dim %d is more than %d GiB of vectors", o.Chunks, o.Dim, MaxBytes>>30)
	case !(o.ScopeFraction > 0 && o.ScopeFraction <= 1):
		return fmt.Errorf("--scope-fraction %v: want more than 0, at most 1", o.ScopeFraction)
	case o.Queries < 1 || o.Queries > 100_000:
		return fmt.Errorf("--queries %d: want 1 to 100000", o.Queries)
	case o.TopK < 0 || o.TopK > rag.MaxTopK:
		return fmt.Errorf("top k %d: want 1 to %d", o.TopK, rag.MaxTopK)
	}
	return nil
}

type query struct {
	text string
	vec  []float32
}

type corpus struct {
	ws      string
	kb      string
	viewer  store.Viewer
	vecs    []float32 // every vector of the workspace, unit length, in insertion order
	inKB    []bool    // per vector: its document is in the knowledge base
	queries []query
	byText  map[string][]float32
}

// build writes the workspace: documents of perDoc chunks, every
// 1/ScopeFraction-th document in the knowledge base, chunk text of words
// drawn from a Zipf distribution (so keyword search has common and rare
// words, like prose), and a random unit vector per chunk. Another workspace
// of a tenth of the size shares the vector table, as tenants do.
func build(ctx context.Context, st *store.Store, o Options, rep *Report, say func(string)) (*corpus, error) {
	u, err := st.CreateUser(ctx, "bench@example.com", "Bench", "x", true)
	if err != nil {
		return nil, err
	}
	ws, err := st.CreateWorkspace(ctx, u.ID, "Bench")
	if err != nil {
		return nil, err
	}
	other, err := st.CreateWorkspace(ctx, u.ID, "Neighbour")
	if err != nil {
		return nil, err
	}
	kb, err := st.CreateKnowledgeBase(ctx, ws.ID, u.ID, "Scope", "", true)
	if err != nil {
		return nil, err
	}
	c := &corpus{ws: ws.ID, kb: kb.ID, viewer: store.Viewer{UserID: u.ID, IsAdmin: true}, byText: map[string][]float32{},
		vecs: make([]float32, 0, o.Chunks*o.Dim)}
	r := rand.New(rand.NewPCG(uint64(o.Chunks), uint64(o.Dim)))
	zipf := rand.NewZipf(r, 1.1, 1, vocabulary-1)
	every := max(1, int(math.Round(1/o.ScopeFraction)))
	var spent time.Duration
	written := 0
	fill := func(wsID string, chunks int, keep bool) error {
		for d := 0; d*perDoc < chunks; d++ {
			var kbs []string
			inKB := keep && d%every == 0
			if inKB {
				kbs = []string{kb.ID}
			}
			doc, _, err := st.CreateDocument(ctx, wsID, store.NewDocument{Name: fmt.Sprintf("document %d", d), UploadedBy: u.ID, KnowledgeBaseIDs: kbs})
			if err != nil {
				return err
			}
			in := make([]store.ChunkInput, min(perDoc, chunks-d*perDoc))
			for i := range in {
				var text strings.Builder
				for w := range 60 {
					if w > 0 {
						text.WriteByte(' ')
					}
					text.WriteString(word(int(zipf.Uint64())))
				}
				v := unitVec(r, o.Dim)
				in[i] = store.ChunkInput{Index: i, Content: text.String(), Tokens: 80, Vector: v}
				if keep {
					c.vecs = append(c.vecs, v...)
					c.inKB = append(c.inKB, inKB)
				}
			}
			began := time.Now()
			if err := st.WriteChunks(ctx, wsID, doc.ID, model, in); err != nil {
				return err
			}
			spent += time.Since(began)
			written += len(in)
			n, ready, m := len(in), store.DocReady, model
			if err := st.UpdateDocument(ctx, wsID, doc.ID, store.DocumentUpdate{Status: &ready, ChunkCount: &n, EmbeddingModel: &m}); err != nil {
				return err
			}
			if d%100 == 99 {
				say(fmt.Sprintf("wrote %d chunks", written))
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := fill(ws.ID, o.Chunks, true); err != nil {
		return nil, err
	}
	if err := fill(other.ID, max(perDoc, o.Chunks/10), false); err != nil {
		return nil, err
	}
	rep.InsertVectorsPerS = float64(written) / spent.Seconds()
	for range o.Queries {
		// Three words of middling frequency, and a distinct text per query
		// so each has its own vector.
		text := fmt.Sprintf("%s %s %s", word(20+r.IntN(200)), word(20+r.IntN(200)), word(200+r.IntN(2000)))
		for c.byText[text] != nil {
			text += " " + word(r.IntN(vocabulary))
		}
		q := query{text: text, vec: unitVec(r, o.Dim)}
		c.byText[text] = q.vec
		c.queries = append(c.queries, q)
	}
	return c, nil
}

const vocabulary = 20000

// word is the i-th word of a synthetic vocabulary: consonant-vowel
// syllables, distinct for every i (its digits in base 70, one syllable each).
func word(i int) string {
	const cons, vows = "bdfgklmnprstvz", "aeiou"
	var b []byte
	for {
		s := i % 70
		b = append(b, cons[s/5], vows[s%5])
		i /= 70
		if i == 0 {
			return string(b)
		}
	}
}

func unitVec(r *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	var ss float64
	for i := range v {
		v[i] = float32(r.NormFloat64())
		ss += float64(v[i]) * float64(v[i])
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// brute is the exact top k by a float32 dot product over every vector (those
// with keep[i] when keep is not nil), as positions in insertion order.
func (c *corpus) brute(q []float32, k int, keep []bool) []int64 {
	type hit struct {
		i int
		s float32
	}
	d := len(q)
	top := make([]hit, 0, k+1)
	n := len(c.vecs) / d
	for i := range n {
		if keep != nil && !keep[i] {
			continue
		}
		v := c.vecs[i*d : (i+1)*d : (i+1)*d]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= d; j += 4 {
			s0 += v[j] * q[j]
			s1 += v[j+1] * q[j+1]
			s2 += v[j+2] * q[j+2]
			s3 += v[j+3] * q[j+3]
		}
		for ; j < d; j++ {
			s0 += v[j] * q[j]
		}
		s := s0 + s1 + s2 + s3
		if len(top) < k || s > top[len(top)-1].s {
			at, _ := slices.BinarySearchFunc(top, s, func(h hit, s float32) int { return cmp.Compare(s, h.s) })
			top = slices.Insert(top, at, hit{i, s})[:min(len(top)+1, k)]
		}
	}
	out := make([]int64, len(top))
	for i, h := range top {
		out[i] = int64(h.i)
	}
	return out
}

// seqs turns hits into insertion positions: the bench's chunks are the
// first rows of a fresh database, so seq 1 is position 0.
func seqs(hits []store.ChunkHit) []int64 {
	out := make([]int64, len(hits))
	for i, h := range hits {
		out[i] = h.Seq - 1
	}
	return out
}

// recall is the share of the exact top k the fast path found.
func recall(found, exact [][]int64) float64 {
	hit, total := 0, 0
	for i, e := range exact {
		total += len(e)
		if i < len(found) {
			for _, p := range e {
				if slices.Contains(found[i], p) {
					hit++
				}
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(hit) / float64(total)
}

func measure(qs []query, fn func(query) error) (Latency, error) {
	lat := make([]time.Duration, 0, len(qs))
	for _, q := range qs {
		began := time.Now()
		if err := fn(q); err != nil {
			return Latency{}, err
		}
		lat = append(lat, time.Since(began))
	}
	slices.Sort(lat)
	return Latency{P50: ms(lat[len(lat)/2]), P95: ms(lat[min(len(lat)-1, len(lat)*95/100)])}, nil
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

package rag_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"quire/store"
)

// BenchmarkVectorSearch measures vector search latency over synthetic random
// 768-dim vectors: the searched workspace holds N chunks (100 per document,
// one in ten documents in a "10%" knowledge base), and nine other workspaces
// hold N/10 chunks each, all in the same vec0 table. Each op is one search as
// the API runs it: SearchScope (visibility) + VectorSearch (KNN k=20) + the
// chunk rows. "brute" is a Go loop over the workspace's vectors held in
// memory, top 20 by dot product, for comparison. p50/p95 are per op.
//
//	go test ./app/rag/ -run '^$' -bench VectorSearch -benchtime 200x
//
// Building the 100k database takes a while; QUIRE_BENCH_SIZES=10000 limits it.
func BenchmarkVectorSearch(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("QUIRE_BENCH_SIZES") == "10000" {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		c := buildCorpus(b, n)
		b.Run(fmt.Sprintf("chunks=%dk/scope=all", n/1000), func(b *testing.B) {
			c.bench(b, store.Viewer{UserID: c.user, IsAdmin: true}, nil)
		})
		b.Run(fmt.Sprintf("chunks=%dk/scope=kb10pct", n/1000), func(b *testing.B) {
			c.bench(b, store.Viewer{UserID: c.user, IsAdmin: true}, []string{c.kb})
		})
		b.Run(fmt.Sprintf("chunks=%dk/brute", n/1000), func(b *testing.B) {
			r := rand.New(rand.NewPCG(9, 9))
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				q := unitVec(r, dim)
				began := time.Now()
				top := bruteTopK(c.vecs, q, 20)
				lat = append(lat, time.Since(began))
				if len(top) != 20 {
					b.Fatal("short")
				}
			}
			reportLatency(b, lat)
		})
	}
}

const dim = 768

type corpus struct {
	st   *store.Store
	ws   string
	user int64
	kb   string
	vecs [][]float32 // the searched workspace's vectors, for brute force
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

func buildCorpus(b *testing.B, n int) *corpus {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	u, _ := st.CreateUser(ctx, "bench@example.com", "", "x", true)
	r := rand.New(rand.NewPCG(uint64(n), 1))
	began := time.Now()
	c := &corpus{st: st, user: u.ID}
	const perDoc = 100
	fill := func(wsID string, chunks int, kb string, keep bool) {
		for d := 0; d*perDoc < chunks; d++ {
			var kbs []string
			if kb != "" && d%10 == 0 {
				kbs = []string{kb}
			}
			doc, _, err := st.CreateDocument(ctx, wsID, store.NewDocument{Name: fmt.Sprint("doc", d), UploadedBy: u.ID, KnowledgeBaseIDs: kbs})
			if err != nil {
				b.Fatal(err)
			}
			in := make([]store.ChunkInput, min(perDoc, chunks-d*perDoc))
			for i := range in {
				v := unitVec(r, dim)
				in[i] = store.ChunkInput{Index: i, Content: fmt.Sprintf("chunk %d of document %d", i, d), Vector: v}
				if keep {
					c.vecs = append(c.vecs, v)
				}
			}
			if err := st.WriteChunks(ctx, wsID, doc.ID, "bench", in); err != nil {
				b.Fatal(err)
			}
			ready, cnt, model := store.DocReady, len(in), "bench"
			if err := st.UpdateDocument(ctx, wsID, doc.ID, store.DocumentUpdate{Status: &ready, ChunkCount: &cnt, EmbeddingModel: &model}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range 10 {
		ws, _ := st.CreateWorkspace(ctx, u.ID, fmt.Sprint("ws", i))
		if i == 0 {
			kb, _ := st.CreateKnowledgeBase(ctx, ws.ID, u.ID, "kb", "", true)
			c.ws, c.kb = ws.ID, kb.ID
			fill(ws.ID, n, kb.ID, true)
		} else {
			fill(ws.ID, n/10, "", false)
		}
	}
	b.Logf("built %d + 9×%d chunks of %d dims in %v", n, n/10, dim, time.Since(began).Round(time.Second))
	return c
}

func (c *corpus) bench(b *testing.B, v store.Viewer, kbs []string) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		q := unitVec(r, dim)
		began := time.Now()
		scope, err := c.st.SearchScope(ctx, c.ws, v, kbs)
		if err != nil {
			b.Fatal(err)
		}
		hits, err := c.st.VectorSearch(ctx, c.ws, scope, "bench", q, 20)
		lat = append(lat, time.Since(began))
		if err != nil || len(hits) != 20 {
			b.Fatalf("%d hits, %v", len(hits), err)
		}
	}
	reportLatency(b, lat)
}

func bruteTopK(vecs [][]float32, q []float32, k int) []int {
	type hit struct {
		i int
		s float32
	}
	top := make([]hit, 0, k+1)
	for i, v := range vecs {
		var s float32
		for j := range v {
			s += v[j] * q[j]
		}
		if len(top) < k || s > top[len(top)-1].s {
			top = append(top, hit{i, s})
			sort.Slice(top, func(a, b int) bool { return top[a].s > top[b].s })
			top = top[:min(len(top), k)]
		}
	}
	out := make([]int, len(top))
	for i, h := range top {
		out[i] = h.i
	}
	return out
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)*50/100]), "p50-ms")
	b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*95/100)]), "p95-ms")
}

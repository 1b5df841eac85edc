package vecindex

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSearch measures the index alone (no SQLite) at sizes the store
// takes long to build: QUIRE_INDEX_BENCH_CHUNKS (default 100000) random
// 768-dimensional vectors, 100 per document. Per scope (whole index, a tenth
// of the documents) it reports p50/p95 of Search, recall@10 against an exact
// float32 scan, and p50 over the time one core takes to read the scope's
// float32 vectors once (floor-ratio), measured in the same run.
//
//	QUIRE_INDEX_BENCH_CHUNKS=1000000 go test ./store/vecindex -run '^$' -bench Search -benchtime 100x
func BenchmarkSearch(b *testing.B) {
	n := 100_000
	if s := os.Getenv("QUIRE_INDEX_BENCH_CHUNKS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	const d, k = 768, 10
	r := rand.New(rand.NewPCG(11, 12))
	ix := New(d)
	ix.Grow(n)
	raw := make([]float32, 0, n*d)
	var all, tenth []string
	began := time.Now()
	for i := range n {
		doc := fmt.Sprint("doc", i/100)
		if i%100 == 0 {
			all = append(all, doc)
			if i/100%10 == 0 {
				tenth = append(tenth, doc)
			}
		}
		v := randVec(r, d)
		var ss float32
		for _, x := range v {
			ss += x * x
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(float64(ss))) // unit length: the dot product is the cosine
		}
		ix.Put(int64(i), doc, v)
		raw = append(raw, v...)
	}
	b.Logf("%d vectors put in %v, index %d MiB (%.0f MiB per 100k), kernel %s", n, time.Since(began).Round(time.Millisecond),
		ix.Bytes()>>20, float64(ix.Bytes())/float64(n)*1e5/(1<<20), Kernel())
	floorPerByte := ReadCost()
	for _, sc := range []struct {
		name string
		docs []string
		keep func(i int) bool
	}{
		{"all", all, func(int) bool { return true }},
		{"tenth", tenth, func(i int) bool { return i/100%10 == 0 }},
	} {
		b.Run(fmt.Sprintf("chunks=%dk/scope=%s", n/1000, sc.name), func(b *testing.B) {
			var lat []time.Duration
			found, total := 0, 0
			for b.Loop() {
				q := randVec(r, d)
				t0 := time.Now()
				hits := ix.Search(q, sc.docs, k)
				lat = append(lat, time.Since(t0))
				exact := bruteForce(raw, q, d, k, sc.keep)
				for _, e := range exact {
					total++
					if slices.ContainsFunc(hits, func(h Hit) bool { return h.Seq == e }) {
						found++
					}
				}
			}
			slices.Sort(lat)
			p50 := float64(lat[len(lat)/2].Microseconds()) / 1000
			scanned := n
			if sc.name == "tenth" {
				scanned = (n + 9) / 10
			}
			b.ReportMetric(p50, "p50-ms")
			b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*95/100)].Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(found)/float64(total), "recall@10")
			b.ReportMetric(p50/(floorPerByte*float64(scanned*d*4)), "floor-ratio")
		})
	}
}

func bruteForce(raw, q []float32, d, k int, keep func(int) bool) []int64 {
	type hit struct {
		i int64
		s float32
	}
	var top []hit
	for i := range len(raw) / d {
		if !keep(i) {
			continue
		}
		s := dot32(q, raw[i*d:(i+1)*d])
		if len(top) < k || s > top[len(top)-1].s {
			top = append(top, hit{int64(i), s})
			slices.SortFunc(top, func(a, b hit) int { return cmp.Compare(b.s, a.s) })
			top = top[:min(len(top), k)]
		}
	}
	out := make([]int64, len(top))
	for i, h := range top {
		out[i] = h.i
	}
	return out
}

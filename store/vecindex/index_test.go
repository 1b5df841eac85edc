package vecindex

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func randVec(r *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// TestKernels: the assembly kernel (where there is one) and the portable one
// compute the same sums, including the extremes of int8 and odd counts.
func TestKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, stride := range []int{32, 64, 768, 4096} {
		for _, n := range []int{1, 3, 17} {
			q := make([]int16, stride)
			codes := make([]int8, n*stride)
			for i := range q {
				q[i] = int16(r.IntN(255) - 127)
			}
			for i := range codes {
				codes[i] = int8(r.IntN(256) - 128)
			}
			codes[0], q[0] = -128, -127
			got, want := make([]int32, n), make([]int32, n)
			dots(q, codes, got)
			for i := range want {
				for j := range stride {
					want[i] += int32(q[j]) * int32(codes[i*stride+j])
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s kernel stride %d n %d: %v, want %v", simd, stride, n, got, want)
			}
		}
	}
}

// TestRecall: on random vectors (the hardest case for quantisation: no
// clusters, the top scores close together) the fast path finds the exact
// top 10 at least 99% of the time, for the whole index and for a tenth of it.
func TestRecall(t *testing.T) {
	const n, d, k = 10000, 768, 10
	r := rand.New(rand.NewPCG(3, 4))
	ix := New(d)
	all := map[string][][]float32{}
	var docs, tenth []string
	for i := range n {
		doc := fmt.Sprint("doc", i/100)
		if i%100 == 0 {
			docs = append(docs, doc)
			if i/100%10 == 0 {
				tenth = append(tenth, doc)
			}
		}
		v := randVec(r, d)
		ix.Put(int64(i+1), doc, v)
		all[doc] = append(all[doc], v)
	}
	// exact ranks the scope's vectors by float64 cosine.
	exact := func(q []float32, scope []string) []Hit {
		var hits []Hit
		for _, doc := range scope {
			for j, v := range all[doc] {
				var dot, qq, vv float64
				for i := range v {
					dot += float64(q[i]) * float64(v[i])
					qq += float64(q[i]) * float64(q[i])
					vv += float64(v[i]) * float64(v[i])
				}
				var seq int64
				fmt.Sscanf(doc, "doc%d", &seq)
				hits = append(hits, Hit{Seq: seq*100 + int64(j) + 1, Score: float32(dot / math.Sqrt(qq*vv))})
			}
		}
		slices.SortFunc(hits, func(a, b Hit) int { return cmp.Compare(b.Score, a.Score) })
		return hits[:k]
	}
	for _, scope := range [][]string{docs, tenth} {
		found, total := 0, 0
		for range 50 {
			q := randVec(r, d)
			fast, exact := ix.Search(q, scope, k), exact(q, scope)
			if len(fast) != k || len(exact) != k {
				t.Fatalf("%d and %d hits", len(fast), len(exact))
			}
			for _, e := range exact {
				total++
				if slices.ContainsFunc(fast, func(h Hit) bool { return h.Seq == e.Seq }) {
					found++
				}
			}
		}
		if rec := float64(found) / float64(total); rec < 0.99 {
			t.Errorf("recall@10 %.3f over %d documents", rec, len(scope))
		}
	}
}

// TestScopeAndUpdates: a search returns only vectors of the documents asked
// for; a replaced vector is found by its new value and not its old one; a
// deleted one, one moved to another document, and refused vectors (wrong
// dimension, zero, NaN) are never returned.
func TestScopeAndUpdates(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ix := New(48) // not a multiple of the kernel width: padding must not count
	vecs := map[int64][]float32{}
	for i := range int64(300) {
		vecs[i] = randVec(r, 48)
		ix.Put(i, fmt.Sprint("d", i%3), vecs[i])
	}
	for _, h := range ix.Search(vecs[4], []string{"d1", "nope"}, 50) {
		if h.Seq%3 != 1 {
			t.Fatalf("seq %d of another document returned", h.Seq)
		}
	}
	if h := ix.Search(vecs[4], []string{"d1"}, 1); h[0].Seq != 4 || h[0].Score < 0.999 {
		t.Fatalf("a vector is not its own nearest: %+v", h)
	}
	ix.Put(4, "d1", vecs[7])
	if h := ix.Search(vecs[7], []string{"d1"}, 1); h[0].Seq != 4 {
		t.Fatalf("replaced vector not found by its new value: %+v", h)
	}
	if h := ix.Search(vecs[4], []string{"d1"}, 300); slices.ContainsFunc(h, func(h Hit) bool { return h.Score > 0.999 }) {
		t.Fatal("the old value of a replaced vector is still found")
	}
	ix.Put(4, "d2", vecs[4])
	if slices.ContainsFunc(ix.Search(vecs[4], []string{"d1"}, 300), func(h Hit) bool { return h.Seq == 4 }) {
		t.Fatal("a vector moved to another document is found in its old one")
	}
	ix.Delete(10)
	ix.Delete(10) // twice: nothing to delete the second time
	for _, bad := range [][]float32{make([]float32, 48), randVec(r, 47), append(randVec(r, 47), float32(nan()))} {
		if ix.Put(13, "d1", bad) {
			t.Fatalf("vector %v accepted", bad[:3])
		}
	}
	for _, h := range ix.Search(vecs[10], []string{"d0", "d1", "d2"}, 300) {
		if h.Seq == 10 || h.Seq == 13 {
			t.Fatalf("deleted or refused seq %d returned", h.Seq)
		}
	}
	if ix.Len() != 298 {
		t.Fatalf("%d vectors, want 298", ix.Len())
	}
	if ix.Search(make([]float32, 48), []string{"d1"}, 5) != nil || ix.Search(randVec(r, 3), []string{"d1"}, 5) != nil {
		t.Fatal("a query without direction or of the wrong dimension found something")
	}
}

func nan() float64 { var z float64; return z / z }

// TestRace: searches (large enough to split across cores) race inserts,
// replacements and deletes; run with -race (a data race fails it), and
// every score stays a cosine.
func TestRace(t *testing.T) {
	const d = 64
	r := rand.New(rand.NewPCG(7, 8))
	ix := New(d)
	for i := range int64(parallelMin + 5000) {
		ix.Put(i, fmt.Sprint("d", i%4), randVec(r, d))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		r := rand.New(rand.NewPCG(9, 9))
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			seq := r.Int64N(parallelMin + 8000)
			if i%3 == 0 {
				ix.Delete(seq)
			} else {
				ix.Put(seq, fmt.Sprint("d", seq%4), randVec(r, d))
			}
		}
	})
	for w := range 3 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 20 {
				for _, h := range ix.Search(randVec(r, d), []string{"d0", "d1", "d2", "d3"}, 10) {
					if h.Score > 1.0001 || h.Score < -1.0001 {
						t.Errorf("score %v", h.Score)
					}
				}
			}
		})
	}
	for range 3 {
		ix.Search(randVec(r, d), []string{"d0"}, 10)
	}
	close(stop)
	wg.Wait()
}

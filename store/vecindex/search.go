package vecindex

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Hit is a vector found: its chunk seq and its cosine similarity to the query.
type Hit struct {
	Seq   int64
	Score float32
}

// Rescore is how many candidates per hit wanted the int8 scan hands to the
// exact float32 rescoring (at least MinRescore in all). The int8 error of a
// score is about 1e-3 of a unit; random 768-dimensional vectors, the worst
// case, keep the true top 10 within the best 40 candidates (TestRecall).
const (
	Rescore    = 4
	MinRescore = 64
)

// parallelMin is the number of vectors from which a search splits its scan
// across idle cores: below it the goroutines cost more than they save.
const parallelMin = 32768

// cores hands out the processors a search may use beyond its own: a search
// takes what is free without waiting, so one large query on an idle machine
// uses every core and concurrent queries each use one.
var cores = make(chan struct{}, max(runtime.GOMAXPROCS(0)-1, 0))

// Search returns the k vectors most similar to q (cosine) among those of the
// given documents, best first; documents the index does not hold are
// skipped. A query of the wrong dimension or without direction finds nothing.
func (ix *Index) Search(q []float32, docs []string, k int) []Hit {
	if k <= 0 || len(q) != ix.dim {
		return nil
	}
	ss := sumSquares(q)
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		return nil
	}
	inv := float32(1 / math.Sqrt(ss))
	unit := make([]float32, ix.dim)
	var peak float32
	for i, x := range q {
		unit[i] = x * inv
		peak = max(peak, abs32(unit[i]))
	}
	qc := make([]int16, ix.stride)
	quantise(unit, peak, qc)

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	runs, total := ix.runs(docs)
	if total == 0 {
		return nil
	}
	want := min(max(k*Rescore, MinRescore), total)
	parts := [][]run{runs}
	if total >= parallelMin {
	take:
		for len(parts) < cap(cores)+1 {
			select {
			case cores <- struct{}{}:
				parts = append(parts, nil)
			default:
				break take
			}
		}
		if len(parts) > 1 {
			parts = split(runs, total, len(parts))
			defer func() {
				for range len(parts) - 1 {
					<-cores
				}
			}()
		}
	}
	found := make([][]cand, len(parts))
	var wg sync.WaitGroup
	for i := 1; i < len(parts); i++ {
		wg.Go(func() { found[i] = ix.scan(qc, parts[i], want) })
	}
	found[0] = ix.scan(qc, parts[0], want)
	wg.Wait()
	var all []cand
	for _, f := range found {
		all = append(all, f...)
	}
	// Exact rescoring: the float32 dot product of unit vectors is the cosine.
	hits := make([]Hit, len(all))
	for i, c := range all {
		hits[i] = Hit{Seq: ix.seqs[c.slot], Score: dot32(unit, ix.vecs[int(c.slot)*ix.dim:int(c.slot+1)*ix.dim])}
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Seq, b.Seq))
	})
	return hits[:min(k, len(hits))]
}

// run is a range of slots [from, to) scanned together.
type run struct{ from, to int32 }

// runs turns documents into sorted, merged ranges of their slots: a
// document's chunks are usually written together and so are adjacent, so a
// scope of a tenth of the documents is a tenth of the slots in few ranges,
// computed from the documents, not from every chunk.
func (ix *Index) runs(docs []string) ([]run, int) {
	var rs []run
	total := 0
	for _, d := range docs {
		ord, ok := ix.docs[d]
		if !ok {
			continue
		}
		s := ix.docSlots[ord]
		total += len(s)
		for i := 0; i < len(s); {
			j := i + 1
			for j < len(s) && s[j] == s[j-1]+1 {
				j++
			}
			rs = append(rs, run{s[i], s[j-1] + 1})
			i = j
		}
	}
	slices.SortFunc(rs, func(a, b run) int { return cmp.Compare(a.from, b.from) })
	merged := rs[:0]
	for _, r := range rs {
		if n := len(merged); n > 0 && merged[n-1].to == r.from {
			merged[n-1].to = r.to
		} else {
			merged = append(merged, r)
		}
	}
	return merged, total
}

// split cuts runs into n parts of about equal numbers of slots.
func split(runs []run, total, n int) [][]run {
	parts := make([][]run, 0, n)
	per := (total + n - 1) / n
	var cur []run
	size := 0
	for _, r := range runs {
		for r.from < r.to {
			take := min(int(r.to-r.from), per-size)
			cur = append(cur, run{r.from, r.from + int32(take)})
			r.from += int32(take)
			if size += take; size == per {
				parts, cur, size = append(parts, cur), nil, 0
			}
		}
	}
	if len(cur) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

type cand struct {
	slot  int32
	score float32
}

// block is how many vectors one kernel call scores: the scores stay in L1
// while the Go loop ranks them.
const block = 256

// scan scores the slots of runs by their int8 codes and keeps the best want,
// in a min-heap on score so the threshold to beat is at its root.
func (ix *Index) scan(qc []int16, runs []run, want int) []cand {
	heap := make([]cand, 0, want)
	out := make([]int32, block)
	for _, r := range runs {
		for from := r.from; from < r.to; from += block {
			n := min(block, int(r.to-from))
			dots(qc, ix.codes[int(from)*ix.stride:(int(from)+n)*ix.stride], out[:n])
			for i, d := range out[:n] {
				slot := from + int32(i)
				sc := float32(d) * ix.scales[slot]
				if len(heap) < want {
					heap = append(heap, cand{slot, sc})
					up(heap, len(heap)-1)
				} else if sc > heap[0].score {
					heap[0] = cand{slot, sc}
					down(heap, 0)
				}
			}
		}
	}
	return heap
}

func up(h []cand, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].score <= h[i].score {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func down(h []cand, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].score < h[l].score {
			m = r
		}
		if h[i].score <= h[m].score {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

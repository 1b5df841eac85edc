// Package vecindex is the in-memory search index over the vectors of one
// workspace made by one embedding model. It is a cache of the durable vec0
// tables, owned by package store: the store loads it, applies every committed
// vector write to it, and decides which documents a search may see. The
// index knows documents only as opaque ids and returns only vectors of the
// documents it is asked to scan, so it can narrow a search but never widen it.
//
// Layout: every vector has a slot holding its int8 codes (scaled per vector
// so its largest component is ±127) and its unit-length float32 components.
// A search scans the codes of the chosen documents' slots (a quarter of the
// bytes of float32), keeps the best candidates, and rescores those exactly in
// float32, so quantisation only decides which few vectors get the exact score.
package vecindex

import (
	"math"
	"slices"
	"sync"
)

// codeAlign is the granularity of the scan kernels: codes are padded with
// zeros to a multiple of it.
const codeAlign = 32

// Index holds one (workspace, model, dimension)'s vectors. Its methods are
// safe for concurrent use.
type Index struct {
	mu     sync.RWMutex
	dim    int
	stride int // dim rounded up to codeAlign

	codes  []int8    // slot*stride ...
	vecs   []float32 // slot*dim ..., unit length
	scales []float32 // the float value of code 1 of each slot
	seqs   []int64   // the chunk seq of each slot
	docOf  []int32   // each slot's document ordinal, -1 for a free slot
	free   []int32   // free slots, reused by the next insert
	bySeq  map[int64]int32

	docIDs   []string
	docs     map[string]int32 // document id → ordinal
	docSlots [][]int32        // per ordinal: its slots, ascending
}

// New returns an empty index of vectors with dim components.
func New(dim int) *Index {
	return &Index{dim: dim, stride: (dim + codeAlign - 1) / codeAlign * codeAlign, bySeq: map[int64]int32{}, docs: map[string]int32{}}
}

// Kernel names the int8 scan kernel this machine uses: "avx2" or "go".
func Kernel() string { return simd }

// Dim is the number of components of the index's vectors.
func (ix *Index) Dim() int { return ix.dim }

// Len is the number of vectors in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.bySeq)
}

// BytesPerVector is the memory one vector of dim components takes in an
// index: codes, float32 components, scale, seq, document ordinal, the seq map
// entry and the slot in its document's list.
func BytesPerVector(dim int) int64 {
	stride := (dim + codeAlign - 1) / codeAlign * codeAlign
	return int64(stride + 4*dim + 4 + 8 + 4 + 24 + 4)
}

// Bytes is the memory the index holds, counted from its capacity.
func (ix *Index) Bytes() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return int64(cap(ix.codes)+4*cap(ix.vecs)+4*cap(ix.scales)+8*cap(ix.seqs)+4*cap(ix.docOf)+4*cap(ix.free)) +
		int64(len(ix.bySeq))*(24+4) + int64(len(ix.docIDs))*64
}

// Grow reserves room for n more vectors (a load that knows its count
// allocates once instead of doubling its way up).
func (ix *Index) Grow(n int) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.codes = grow(ix.codes, n*ix.stride)
	ix.vecs = grow(ix.vecs, n*ix.dim)
	ix.scales = slices.Grow(ix.scales, n)
	ix.seqs = slices.Grow(ix.seqs, n)
	ix.docOf = slices.Grow(ix.docOf, n)
}

// Put inserts or replaces the vector of chunk seq, which belongs to document
// doc. A vector of another dimension, or one with no direction (all zeros,
// NaN or infinite components), is refused: false, and seq is absent after.
func (ix *Index) Put(seq int64, doc string, vec []float32) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if len(vec) != ix.dim {
		ix.delete(seq)
		return false
	}
	ss := sumSquares(vec)
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		ix.delete(seq)
		return false
	}
	ord, ok := ix.docs[doc]
	if !ok {
		ord = int32(len(ix.docIDs))
		ix.docs[doc] = ord
		ix.docIDs = append(ix.docIDs, doc)
		ix.docSlots = append(ix.docSlots, nil)
	}
	slot, ok := ix.bySeq[seq]
	switch {
	case ok && ix.docOf[slot] != ord:
		ix.unlink(slot)
		ix.link(slot, ord)
	case !ok && len(ix.free) > 0:
		slot = ix.free[len(ix.free)-1]
		ix.free = ix.free[:len(ix.free)-1]
		ix.link(slot, ord)
	case !ok:
		slot = int32(len(ix.seqs))
		ix.codes = extend(ix.codes, ix.stride)
		ix.vecs = extend(ix.vecs, ix.dim)
		ix.scales = append(ix.scales, 0)
		ix.seqs = append(ix.seqs, 0)
		ix.docOf = append(ix.docOf, -1)
		ix.link(slot, ord)
	}
	ix.bySeq[seq] = slot
	ix.seqs[slot] = seq
	ix.encode(slot, vec, float32(1/math.Sqrt(ss)))
	return true
}

// extend lengthens s by n zero elements, doubling its capacity when it must
// grow (append of n elements at once grows large slices by only a quarter,
// copying the index over and over while it loads).
func extend[T int8 | float32](s []T, n int) []T {
	if cap(s)-len(s) < n {
		s = grow(s, max(n, len(s)))
	}
	return s[:len(s)+n]
}

// encode stores vec, scaled by inv to unit length, in slot: float32 and int8.
func (ix *Index) encode(slot int32, vec []float32, inv float32) {
	v := ix.vecs[int(slot)*ix.dim : int(slot+1)*ix.dim]
	var peak float32
	for i, x := range vec {
		y := x * inv
		v[i] = y
		if a := abs32(y); a > peak {
			peak = a
		}
	}
	c := ix.codes[int(slot)*ix.stride : int(slot+1)*ix.stride]
	quantise(v, peak, c)
	ix.scales[slot] = peak / 127
}

// quantise writes round(v/peak·127) into c (peak: v's largest magnitude),
// rounding half away from zero by truncating y ± 0.5, the sign copied with
// bits: math.Round is a call per component, and a branch on the sign of
// random components mispredicts half the time (a load encodes hundreds of
// millions).
func quantise[T int8 | int16](v []float32, peak float32, c []T) {
	f := float32(0)
	if peak > 0 {
		f = 127 / peak
	}
	c = c[:len(v)]
	for i, x := range v {
		y := x * f
		half := math.Float32frombits(0x3f000000 | math.Float32bits(y)&(1<<31)) // ±0.5, the sign of y
		c[i] = T(int32(y + half))
	}
}

// sumSquares is Σx² in float64 (no float32 overflow), in four independent
// sums so the additions do not wait on each other.
func sumSquares(v []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += float64(v[i]) * float64(v[i])
		s1 += float64(v[i+1]) * float64(v[i+1])
		s2 += float64(v[i+2]) * float64(v[i+2])
		s3 += float64(v[i+3]) * float64(v[i+3])
	}
	for ; i < len(v); i++ {
		s0 += float64(v[i]) * float64(v[i])
	}
	return s0 + s1 + s2 + s3
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// link appends slot to document ord's slots, keeping them ascending.
func (ix *Index) link(slot, ord int32) {
	s := ix.docSlots[ord]
	i, _ := slices.BinarySearch(s, slot)
	ix.docSlots[ord] = slices.Insert(s, i, slot)
	ix.docOf[slot] = ord
}

func (ix *Index) unlink(slot int32) {
	ord := ix.docOf[slot]
	s := ix.docSlots[ord]
	if i, ok := slices.BinarySearch(s, slot); ok {
		ix.docSlots[ord] = slices.Delete(s, i, i+1)
	}
	if len(ix.docSlots[ord]) == 0 {
		ix.docSlots[ord] = nil
	}
	ix.docOf[slot] = -1
}

// Delete removes the vector of chunk seq; false when it had none.
func (ix *Index) Delete(seq int64) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.delete(seq)
}

func (ix *Index) delete(seq int64) bool {
	slot, ok := ix.bySeq[seq]
	if !ok {
		return false
	}
	ix.unlink(slot)
	delete(ix.bySeq, seq)
	ix.free = append(ix.free, slot)
	return true
}

// Has reports whether chunk seq has a vector in the index.
func (ix *Index) Has(seq int64) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.bySeq[seq]
	return ok
}

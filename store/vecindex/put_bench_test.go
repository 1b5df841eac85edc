package vecindex

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPut is the cost of encoding one 768-dimensional vector into a
// slot (what a load pays per vector besides reading it).
func BenchmarkPut(b *testing.B) {
	const d, n = 768, 50000
	r := rand.New(rand.NewPCG(1, 2))
	vecs := make([][]float32, 1000)
	for i := range vecs {
		vecs[i] = randVec(r, d)
	}
	ix := New(d)
	ix.Grow(n)
	i := 0
	for b.Loop() {
		ix.Put(int64(i%n), "doc", vecs[i%1000])
		i++
	}
}

package vecindex

import "golang.org/x/sys/cpu"

//go:noescape
func dotsAVX2(q *int16, codes *int8, stride int, n int, out *int32)

// simd names the scan kernel in use (reported by quire bench).
var simd = "go"

func init() {
	if cpu.X86.HasAVX2 {
		simd = "avx2"
	}
}

// dots writes to out[i] the dot product of q with the i-th vector of codes
// (len(out) vectors of len(q) codes each; len(q) is a multiple of 32).
func dots(q []int16, codes []int8, out []int32) {
	if len(out) == 0 {
		return
	}
	stride := len(q)
	_ = codes[len(out)*stride-1] // the kernel reads exactly this much
	if simd == "avx2" {
		dotsAVX2(&q[0], &codes[0], stride, len(out), &out[0])
		return
	}
	dotsGo(q, codes, out)
}

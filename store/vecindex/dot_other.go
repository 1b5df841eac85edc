//go:build !amd64

package vecindex

// simd names the scan kernel in use (reported by quire bench).
var simd = "go"

// dots writes to out[i] the dot product of q with the i-th vector of codes
// (len(out) vectors of len(q) codes each; len(q) is a multiple of 32).
func dots(q []int16, codes []int8, out []int32) { dotsGo(q, codes, out) }

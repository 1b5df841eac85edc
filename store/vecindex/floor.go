package vecindex

import (
	"math"
	"time"
)

// readSink keeps the compiler from proving ReadCost's sums unused.
var readSink uint64

// ReadCost is milliseconds per byte for one core to read memory it has not
// cached: an unrolled sum of 64-bit words over 256 MiB (far beyond any
// cache), best of five. It is the floor a scan is measured against (quire
// bench and the index benchmark), taken in the same run so that ratios mean
// something on a busy machine.
func ReadCost() float64 {
	buf := make([]uint64, 32<<20)
	for i := range buf {
		buf[i] = uint64(i)
	}
	best := time.Duration(math.MaxInt64)
	var sink uint64
	for range 5 {
		began := time.Now()
		var s0, s1, s2, s3 uint64
		for i := 0; i+4 <= len(buf); i += 4 {
			s0 += buf[i]
			s1 += buf[i+1]
			s2 += buf[i+2]
			s3 += buf[i+3]
		}
		sink += s0 + s1 + s2 + s3
		best = min(best, time.Since(began))
	}
	readSink = sink
	return float64(best.Nanoseconds()) / 1e6 / float64(8*len(buf))
}

package vecindex

import "unsafe"

// hugeMin is the size from which an array of the index asks the kernel for
// huge pages: an index is large, lives long and is scanned end to end, so
// 2 MiB pages cut the page faults of filling it and the TLB misses of every
// scan 512-fold. On a virtual machine a 4 KiB fault can cost microseconds:
// filling 300 MB of fresh pages took 1.3 s here, and 4 ms with huge pages.
const hugeMin = 4 << 20

// grow is slices.Grow for the index's large arrays: when it allocates a new
// array of at least hugeMin bytes, the array is advised to use huge pages
// before anything touches it (a fresh large allocation is untouched memory
// from the OS, which the advice applies to).
func grow[T int8 | float32](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	ns := make([]T, len(s), len(s)+n)
	var zero T
	if bytes := cap(ns) * int(unsafe.Sizeof(zero)); bytes >= hugeMin {
		adviseHuge(unsafe.Pointer(unsafe.SliceData(ns)), bytes)
	}
	copy(ns, s)
	return ns
}

package vecindex

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseHuge asks for transparent huge pages on the whole 2 MiB pages inside
// the n bytes at p. It is advice: a kernel with THP off, or none to spare,
// ignores it.
func adviseHuge(p unsafe.Pointer, n int) {
	const page = 2 << 20
	b := unsafe.Slice((*byte)(p), n)
	off := int((page - uintptr(p)%page) % page)
	if whole := (n - off) / page * page; whole > 0 {
		_ = unix.Madvise(b[off:off+whole], unix.MADV_HUGEPAGE)
	}
}

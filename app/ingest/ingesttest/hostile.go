// Package ingesttest generates documents for tests: small valid PDFs and
// presentations (documents.go), and hostile inputs for the parsers: files
// of a few hundred bytes that made the server die with Go fatal errors (which
// recover cannot catch) or burn a core for hours, before parsing moved into a
// worker process. They are generated, not committed, so the bytes that matter
// are documented here.
package ingesttest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
)

// pdfWithXrefStream assembles "%PDF-1.7", the given objects (bodies without
// "N 0 obj"), then an xref stream object whose dictionary extras and data
// the caller chooses, and a trailer pointing at it. offsets receives the byte
// offset of each object so the caller's xref data can refer to them.
func pdfWithXrefStream(objs []string, xrefDict func(offsets []int) string, xrefData func(offsets []int) []byte) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offsets := make([]int, len(objs)+2) // object 0 is the free head; the xref stream is the last
	for i, o := range objs {
		offsets[i+1] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := len(objs) + 1
	offsets[x] = b.Len()
	data := xrefData(offsets)
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef %s /Length %d >>\nstream\n", x, xrefDict(offsets), len(data))
	b.Write(data)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", offsets[x])
	return b.Bytes()
}

// SelfReferentialObjStm is a PDF whose catalog (object 1) is "stored in"
// object stream 1, i.e. in itself: github.com/ledongthuc/pdf resolves the
// stream by resolving object 1 again, recursing until the goroutine stack
// overflows (fatal error: stack overflow).
func SelfReferentialObjStm() []byte {
	return pdfWithXrefStream(nil,
		func([]int) string { return "/Size 2 /W [1 1 1] /Root 1 0 R" },
		func(off []int) []byte {
			return []byte{
				0, 0, 0, // object 0: free
				2, 1, 0, // object 1: compressed, in object stream 1, index 0
			}
		})
}

// HugeXrefSize is a PDF whose xref stream declares /Size 10^10: the library
// allocates the whole table up front (make of ~300 GB: fatal error: out of
// memory).
func HugeXrefSize() []byte {
	return pdfWithXrefStream(nil,
		func([]int) string { return "/Size 10000000000 /W [1 1 1] /Root 1 0 R" },
		func([]int) []byte { return []byte{0, 0, 0} })
}

// HugePredictorColumns is a PDF whose xref stream is Flate-compressed with
// a PNG predictor of 10^11 columns: the library allocates two row buffers of
// that size before reading a byte (fatal error: out of memory).
func HugePredictorColumns() []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte{0, 0, 0, 0})
	zw.Close()
	return pdfWithXrefStream(nil,
		func([]int) string {
			return "/Size 1 /W [1 1 1] /Root 1 0 R /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 100000000000 >>"
		},
		func([]int) []byte { return z.Bytes() })
}

// EmphasisBomb is n bytes of Markdown "*a_" repeated: goldmark's delimiter
// matching is super-linear on it (1.5 MB keeps a core busy for hours).
func EmphasisBomb(n int) []byte {
	return []byte(strings.Repeat("*a_", n/3+1)[:n])
}

// QuoteBomb is Markdown nested n block quotes deep ("> > > ... x").
func QuoteBomb(n int) []byte {
	return []byte(strings.Repeat("> ", n) + "x\n")
}

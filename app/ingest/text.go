package ingest

import (
	"bytes"
	"context"
	"io"

	"quire/app/units"
)

// readAll reads a whole text-like file, refusing files larger than the text
// budget up front so a huge upload is never loaded into memory.
func readAll(kind Kind, r io.ReaderAt, size int64, limit int64) ([]byte, error) {
	if size > limit {
		return nil, tooLarge("the %s is too large: more than %s", kind.label(), units.Bytes(limit))
	}
	b := make([]byte, size)
	if n, err := r.ReadAt(b, 0); n < len(b) {
		return nil, damaged(kind, err)
	}
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), nil // UTF-8 BOM
}

// parseTXT keeps plain text as one section; the chunker finds paragraphs.
func parseTXT(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Parsed, error) {
	b, err := readAll(KindTXT, r, size, lim.MaxTextBytes)
	if err != nil {
		return nil, err
	}
	c := newCollector(ctx, KindTXT, lim)
	if err := c.text(string(b)); err != nil {
		return nil, err
	}
	return &Parsed{Sections: c.sections()}, nil
}

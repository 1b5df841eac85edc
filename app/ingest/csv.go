package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// parseCSV reads delimited text with encoding/csv (lenient about quotes and
// ragged rows) after sniffing the delimiter, and renders rows through
// tableWriter.
func parseCSV(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Parsed, error) {
	src, err := readAll(KindCSV, r, size, lim.MaxTextBytes)
	if err != nil {
		return nil, err
	}
	c := newCollector(ctx, KindCSV, lim)
	tw := &tableWriter{c: c, colName: columnNumber}
	cr := newCSVReader(src, sniffDelimiter(src))
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && pe.Err == csv.ErrFieldCount {
			err = nil
		}
		if err != nil {
			return nil, damaged(KindCSV, err)
		}
		if err := tw.row(rec); err != nil {
			return nil, err
		}
	}
	return &Parsed{Sections: c.sections()}, nil
}

func newCSVReader(src []byte, delim rune) *csv.Reader {
	cr := csv.NewReader(bytes.NewReader(src))
	cr.Comma = delim
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// sniffDelimiter picks the candidate that splits the first lines into the
// most columns consistently: ',' unless ';', tab or '|' does better.
func sniffDelimiter(src []byte) rune {
	sample := src[:min(len(src), 16<<10)]
	if i := bytes.LastIndexByte(sample, '\n'); i > 0 && len(sample) < len(src) {
		sample = sample[:i+1]
	}
	best, bestScore := ',', 0
	for _, d := range []rune{',', ';', '\t', '|'} {
		if !strings.ContainsRune(string(sample), d) {
			continue
		}
		// Score by the most common column count (a title line above the
		// table has fewer) times how many rows have it.
		cr := newCSVReader(sample, d)
		freq := map[int]int{}
		for rows := 0; rows < 20; rows++ {
			rec, err := cr.Read()
			if err != nil {
				break
			}
			freq[len(rec)]++
		}
		cols, score := 0, 0
		for n, f := range freq {
			if n > 1 && (n*f > score || n*f == score && n > cols) {
				cols, score = n, n*f
			}
		}
		if cols > 1 && score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

// Section is a run of text that shares one heading and one page.
type Section struct {
	// Heading is the nearest heading path, e.g. "Install › Linux"; for XLSX
	// the sheet name, for PPTX the slide title. Empty when unknown.
	Heading string
	// Page is the 1-based PDF page or PPTX slide number; 0 when the format
	// has no pages.
	Page int
	// Text is the section's text: paragraphs separated by a blank line,
	// lines by "\n", trailing spaces and control characters removed.
	Text string
}

// Parsed is the structured text of one document.
type Parsed struct {
	Title    string // document title when the file declares one, else ""
	Sections []Section
}

// HeadingSep joins the levels of a heading path.
const HeadingSep = " › "

type parseFunc func(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Parsed, error)

var parsers = map[Kind]parseFunc{
	KindTXT:  parseTXT,
	KindMD:   parseMD,
	KindHTML: parseHTML,
	KindPDF:  parsePDF,
	KindDOCX: parseDOCX,
	KindCSV:  parseCSV,
	KindXLSX: parseXLSX,
	KindPPTX: parsePPTX,
}

// Parse extracts structured text from a file of the given kind (as returned
// by Detect).
//
// The parser runs in its own goroutine so that Parse returns when ctx is done
// or lim.Timeout passes even if a parser is stuck. The abandoned goroutine
// normally stops soon after: our parsers poll ctx, and every read of r fails
// once ctx is done, which also ends third-party loops that keep reading the
// file (a cyclic PDF xref chain, say). Only a third-party loop that neither
// reads r nor checks ctx could keep running; none is known. Panics inside
// parsers (ours or third-party) become ErrDamaged errors instead of crashing
// the process.
func Parse(ctx context.Context, kind Kind, r io.ReaderAt, size int64, lim Limits) (*Parsed, error) {
	parse, ok := parsers[kind]
	if !ok {
		return nil, unsupported("unknown document kind %q", kind)
	}
	lim = lim.withDefaults()
	ctx, cancel := context.WithTimeoutCause(ctx, lim.Timeout, errParseTimeout)
	defer cancel()

	type result struct {
		p   *Parsed
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned parser must not block forever
	go func() {
		defer func() {
			if v := recover(); v != nil {
				// The stack goes to the cause (for logs), not to the message.
				cause := fmt.Errorf("parser panic: %v\n%s", v, debug.Stack())
				done <- result{err: newError(ErrDamaged, cause, "the %s could not be read; it may be damaged (%v)", kind.label(), v)}
			}
		}()
		p, err := parse(ctx, ctxReaderAt{ctx, r}, size, lim)
		done <- result{p, err}
	}()

	select {
	case res := <-done:
		if res.err != nil {
			if ctx.Err() != nil {
				return nil, ctxError(ctx, kind, lim)
			}
			var e *Error
			if !errors.As(res.err, &e) {
				res.err = damaged(kind, res.err)
			}
			return nil, res.err
		}
		return finish(kind, res.p)
	case <-ctx.Done():
		return nil, ctxError(ctx, kind, lim)
	}
}

var errParseTimeout = errors.New("parse timeout")

func ctxError(ctx context.Context, kind Kind, lim Limits) error {
	if context.Cause(ctx) == errParseTimeout {
		return timeoutError(kind, lim)
	}
	return newError(ErrTimeout, ctx.Err(), "reading the file was stopped: %v", ctx.Err())
}

// finish drops empty sections and reports documents without text.
func finish(kind Kind, p *Parsed) (*Parsed, error) {
	if p == nil {
		p = &Parsed{}
	}
	secs := p.Sections[:0]
	for _, s := range p.Sections {
		if s.Text != "" { // the collector has already cleaned the text
			secs = append(secs, s)
		}
	}
	p.Sections = secs
	p.Title = oneLine(p.Title)
	if len(p.Sections) == 0 {
		if kind == KindPDF {
			return nil, newError(ErrNoText, nil, "the PDF has no extractable text (scanned images need OCR first)")
		}
		return nil, newError(ErrNoText, nil, "the %s contains no text", kind.label())
	}
	return p, nil
}

// oneLine collapses whitespace so titles and headings fit on one line.
func oneLine(s string) string {
	s = cleanText(s)
	out := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\n' || c == '\t' {
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, c)
	}
	return string(out)
}

// ctxReaderAt fails every read once ctx is done, so that a parser stuck in a
// loop that reads the file stops soon after Parse has given up on it.
type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

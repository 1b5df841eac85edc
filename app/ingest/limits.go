package ingest

import (
	"bytes"
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"quire/app/units"
)

// Limits bound the work and memory one Parse may use. Zero fields take the
// defaults from DefaultLimits, so Limits{} is safe to pass.
type Limits struct {
	// MaxUncompressed caps the bytes inflated from a ZIP container (DOCX,
	// XLSX, PPTX), both as declared in the archive and as actually read.
	MaxUncompressed int64
	// MaxRatio caps the compression ratio of any ZIP entry above 1 MB;
	// real Office XML stays well below 100:1, zip bombs are far above.
	MaxRatio int64
	// MaxEntries caps the number of entries in a ZIP container.
	MaxEntries int
	// MaxTextBytes caps the extracted text of one document.
	MaxTextBytes int64
	// MaxCells caps the non-empty cells read from a spreadsheet or CSV.
	MaxCells int
	// MaxPages caps PDF pages and presentation slides.
	MaxPages int
	// Timeout bounds the whole parse (in addition to the caller's context).
	Timeout time.Duration
	// MaxMemory is the address space of a parse worker (Worker.Parse); a
	// parser that needs more dies there with "out of memory". It includes
	// the binary and the Go runtime, so it is not a heap budget. Parse in
	// process cannot enforce it.
	MaxMemory int64
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxUncompressed: 200 << 20,
		MaxRatio:        200,
		MaxEntries:      10_000,
		MaxTextBytes:    32 << 20,
		MaxCells:        1_000_000,
		MaxPages:        5_000,
		Timeout:         2 * time.Minute,
		MaxMemory:       1 << 30,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxUncompressed <= 0 {
		l.MaxUncompressed = d.MaxUncompressed
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = d.MaxTextBytes
	}
	if l.MaxCells <= 0 {
		l.MaxCells = d.MaxCells
	}
	if l.MaxPages <= 0 {
		l.MaxPages = d.MaxPages
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = d.MaxMemory
	}
	return l
}

// collector accumulates parser output into sections. It enforces the text
// budget and polls the context, so every parser gets both for free and a
// cancelled parse stops at the next write instead of running to the end.
type collector struct {
	ctx  context.Context
	kind Kind
	lim  Limits

	n     int64 // text bytes written so far
	calls int   // writes since the last context poll

	secs    []Section
	heading string
	page    int
	buf     bytes.Buffer
	sep     string // separator owed before the next text: "", " ", "\n" or "\n\n"
}

func newCollector(ctx context.Context, kind Kind, lim Limits) *collector {
	return &collector{ctx: ctx, kind: kind, lim: lim}
}

// check polls the context every few hundred calls; cheap enough for hot loops.
func (c *collector) check() error {
	c.calls++
	if c.calls&255 == 0 {
		return c.ctx.Err()
	}
	return nil
}

// text appends inline text, preceded by any separator owed.
func (c *collector) text(s string) error {
	if s == "" {
		return c.check()
	}
	if c.buf.Len() > 0 && c.sep != "" {
		c.buf.WriteString(c.sep)
	}
	c.sep = ""
	c.n += int64(len(s))
	if c.n > c.lim.MaxTextBytes {
		return tooLarge("the %s has more than %s of text; split it into smaller files", c.kind.label(), units.Bytes(c.lim.MaxTextBytes))
	}
	c.buf.WriteString(s)
	return c.check()
}

// dehyphenate removes a hyphen that ends the text so far when the word
// continues on the next line ("refer-" + "ences"); it reports whether it did.
func (c *collector) dehyphenate(next string) bool {
	b := c.buf.Bytes()
	if len(b) < 2 || b[len(b)-1] != '-' || c.sep != "\n" {
		return false
	}
	prev, _ := utf8.DecodeLastRune(b[:len(b)-1])
	first, _ := utf8.DecodeRuneInString(next)
	if !unicode.IsLetter(prev) || !unicode.IsLower(first) {
		return false
	}
	c.buf.Truncate(len(b) - 1)
	c.n--
	c.sep = ""
	return true
}

func (c *collector) owe(sep string) {
	if len(sep) > len(c.sep) {
		c.sep = sep
	}
}

// space, line and paragraph request a separator before the next text; the
// strongest one requested wins, and none is written at a section start.
func (c *collector) space()     { c.owe(" ") }
func (c *collector) line()      { c.owe("\n") }
func (c *collector) paragraph() { c.owe("\n\n") }

// section starts a new section unless heading and page are unchanged.
func (c *collector) section(heading string, page int) {
	if heading == c.heading && page == c.page {
		c.paragraph()
		return
	}
	c.flush()
	c.heading, c.page = heading, page
}

func (c *collector) flush() {
	if t := cleanText(c.buf.String()); t != "" {
		c.secs = append(c.secs, Section{Heading: c.heading, Page: c.page, Text: t})
	}
	c.buf.Reset()
	c.sep = ""
}

func (c *collector) sections() []Section {
	c.flush()
	return c.secs
}

var ligatures = strings.NewReplacer("ﬀ", "ff", "ﬁ", "fi", "ﬂ", "fl", "ﬃ", "ffi", "ﬄ", "ffl", "ﬅ", "st", "ﬆ", "st")

// cleanText normalises extracted text: valid UTF-8, \n line endings, no
// control characters, no trailing spaces, at most one blank line in a row.
// Leading indentation is kept because it carries meaning in code and lists.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = ligatures.Replace(s) // so "ﬁle" is found by a search for "file"
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	for line := range strings.SplitSeq(s, "\n") {
		if !plainASCII(line) {
			line = mapRunes(line)
		}
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		if line == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		b.WriteString(line)
	}
	return b.String()
}

// plainASCII reports whether line is printable ASCII (plus tabs), which
// cleanText can keep as it is.
func plainASCII(line string) bool {
	for i := 0; i < len(line); i++ {
		if c := line[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// mapRunes replaces or drops the characters cleanText does not keep.
func mapRunes(line string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return r
		case r == '\f' || r == '\v' || r == '\u00a0':
			return ' '
		case r == '\u00ad' || r == '\ufeff' || r == '\u200b':
			return -1 // soft hyphen, BOM, zero-width space: invisible
		case r == '\u2212':
			return '-' // minus sign, used as a hyphen by some typesetters
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, line)
}

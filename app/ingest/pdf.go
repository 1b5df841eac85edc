package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ledongthuc/pdf"
)

// parsePDF extracts text page by page. github.com/ledongthuc/pdf (a
// maintained fork of rsc.io/pdf, pure Go) parses the file structure, decrypts
// files that open without a password and lexes content streams; the text
// layout is ours (pdfLayout) because the library's own extractors either drop
// word spaces (pdfTeX-style kerned TJ arrays) or keep every glyph in memory.
// Running our own operator loop also lets a page be cancelled mid-stream and
// charged against the text budget.
func parsePDF(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Parsed, error) {
	head := make([]byte, min(size, 1024))
	if n, _ := r.ReadAt(head, 0); n < len(head) {
		return nil, damaged(KindPDF, io.ErrUnexpectedEOF)
	}
	off := pdfHeaderOffset(head)
	if off < 0 {
		return nil, damaged(KindPDF, errors.New("no %PDF header"))
	}
	// Offsets in files with junk before the header count from the header.
	ra := &pdfHeaderFix{io.NewSectionReader(r, int64(off), size-int64(off))}
	doc, err := openPDF(ra, size-int64(off))
	if err != nil {
		return nil, err
	}
	pages, err := pdfPages(doc, lim.MaxPages)
	if err != nil {
		return nil, err
	}

	c := newCollector(ctx, KindPDF, lim)
	var lastErr error
	failed := 0
	for i, pg := range pages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.section("", i+1)
		err := extractPage(c, pg)
		var e *Error
		switch {
		case err == nil:
		case errors.As(err, &e) || ctx.Err() != nil:
			return nil, err
		default:
			// One broken page should not lose the rest of the document.
			failed++
			lastErr = err
		}
	}
	if failed > 0 && failed == len(pages) {
		return nil, damaged(KindPDF, lastErr)
	}
	title := ""
	func() {
		defer func() { _ = recover() }()
		title = doc.Trailer().Key("Info").Key("Title").Text()
	}()
	return &Parsed{Title: title, Sections: c.sections()}, nil
}

// openPDF opens the document; files with only an owner password (printing
// or copying restrictions) open with the empty password.
func openPDF(ra io.ReaderAt, size int64) (doc *pdf.Reader, err error) {
	defer func() {
		if v := recover(); v != nil {
			doc, err = nil, damaged(KindPDF, fmt.Errorf("%v", v))
		}
	}()
	doc, err = pdf.NewReader(ra, size)
	if err != nil {
		if errors.Is(err, pdf.ErrInvalidPassword) || strings.Contains(err.Error(), "encrypt") {
			return nil, encrypted(err)
		}
		return nil, damaged(KindPDF, err)
	}
	return doc, nil
}

// pdfHeaderFix presents a "%PDF-1.x" header to the library, which rejects
// PDF 2.0 and headers not followed by a newline. The header line is a
// comment, so rewriting its first 9 bytes changes nothing else.
type pdfHeaderFix struct{ r *io.SectionReader }

func (h *pdfHeaderFix) ReadAt(p []byte, off int64) (int, error) {
	n, err := h.r.ReadAt(p, off)
	const fixed = "%PDF-1.7\n"
	for i := 0; i < n && off+int64(i) < int64(len(fixed)); i++ {
		j := off + int64(i)
		if j >= 5 { // keep "%PDF-"; fix version and the byte after it
			p[i] = fixed[j]
		}
	}
	return n, err
}

// pdfPages walks the page tree. We do this instead of Reader.Page because
// a malicious tree can loop forever there; here depth and the number of
// nodes visited are bounded.
func pdfPages(doc *pdf.Reader, maxPages int) (pages []pdf.Value, err error) {
	defer func() {
		if v := recover(); v != nil {
			pages, err = nil, damaged(KindPDF, fmt.Errorf("%v", v))
		}
	}()
	budget := 4*maxPages + 1000
	var walk func(v pdf.Value, depth int) error
	walk = func(v pdf.Value, depth int) error {
		if budget--; budget < 0 || depth > 64 {
			return damaged(KindPDF, errors.New("page tree is too deep or cyclic"))
		}
		kids := v.Key("Kids")
		if v.Key("Type").Name() == "Pages" || kids.Kind() == pdf.Array {
			for i := range kids.Len() {
				if err := walk(kids.Index(i), depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if v.Kind() != pdf.Dict {
			return nil
		}
		if len(pages) >= maxPages {
			return tooLarge("the PDF is too large: more than %s pages", humanInt(int64(maxPages)))
		}
		pages = append(pages, v)
		return nil
	}
	err = walk(doc.Trailer().Key("Root").Key("Pages"), 0)
	return pages, err
}

// abort carries an error out of a pdf.Interpret callback.
type abort struct{ err error }

// extractPage lays out one page's text into c. Panics from malformed content
// are recovered into an error so the caller can skip just this page.
func extractPage(c *collector, page pdf.Value) (err error) {
	l := &pdfLayout{c: c}
	defer func() {
		if v := recover(); v != nil {
			if a, ok := v.(abort); ok {
				err = a.err
				return
			}
			err = fmt.Errorf("page content: %v", v)
		}
	}()
	l.g = textState{ctm: identity, tm: identity, tlm: identity, th: 1}
	l.run(page.Key("Contents"), inheritedResources(page), 0)
	return nil
}

// inheritedResources finds the page's Resources, which may live on an
// ancestor in the page tree (bounded walk: Parent links can be cyclic).
func inheritedResources(page pdf.Value) pdf.Value {
	v := page
	for range 32 {
		if v.IsNull() {
			break
		}
		if res := v.Key("Resources"); !res.IsNull() {
			return res
		}
		v = v.Key("Parent")
	}
	return pdf.Value{}
}

// matrix is a PDF transformation [a b c d e f]; points are row vectors.
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return x*m[0] + y*m[2] + m[4], x*m[1] + y*m[3] + m[5]
}

func translate(tx, ty float64) matrix { return matrix{1, 0, 0, 1, tx, ty} }

type textState struct {
	ctm, tm, tlm              matrix
	tc, tw, th, tl, tfs, rise float64
	font                      *pdfFont
}

// pdfLayout interprets content-stream operators (PDF 32000 §9.4) and writes
// the text in stream order, inserting spaces at horizontal gaps and line or
// paragraph breaks at vertical moves.
type pdfLayout struct {
	c     *collector
	g     textState
	stack []textState
	fonts map[string]*pdfFont
	forms int // form XObjects drawn on this page

	have           bool    // something was written on this page
	lastV, lastEnd float64 // baseline and end of the last text, in text-direction coordinates
	lastSize       float64
	lastSpace      bool // last text ended in whitespace
}

const (
	maxFormDepth = 8
	maxForms     = 1000
)

// run interprets one content stream (a page's or a form's) with the
// current graphics state.
func (l *pdfLayout) run(contents, resources pdf.Value, depth int) {
	if contents.IsNull() {
		return
	}
	fonts := resources.Key("Font")
	xobjects := resources.Key("XObject")
	cache := map[string]*pdfFont{}

	interpret(contentReader(contents), func(op string, args []operand) {
		n := len(args)
		if err := l.c.check(); err != nil {
			panic(abort{err})
		}
		num := func(i int) float64 {
			if i < n {
				return args[i].num
			}
			return 0
		}
		g := &l.g
		switch op {
		case "q":
			if len(l.stack) < 256 {
				l.stack = append(l.stack, *g)
			}
		case "Q":
			if k := len(l.stack); k > 0 {
				*g = l.stack[k-1]
				l.stack = l.stack[:k-1]
			}
		case "cm":
			if n == 6 {
				g.ctm = matrix{num(0), num(1), num(2), num(3), num(4), num(5)}.mul(g.ctm)
			}
		case "BT":
			g.tm, g.tlm = identity, identity
		case "Tf":
			if n == 2 {
				name := args[0].str
				f, ok := cache[name]
				if !ok {
					f = newPDFFont(fonts.Key(name))
					cache[name] = f
				}
				g.font, g.tfs = f, num(1)
			}
		case "Tc":
			g.tc = num(0)
		case "Tw":
			g.tw = num(0)
		case "Tz":
			g.th = num(0) / 100
		case "TL":
			g.tl = num(0)
		case "Ts":
			g.rise = num(0)
		case "Td":
			g.tlm = translate(num(0), num(1)).mul(g.tlm)
			g.tm = g.tlm
		case "TD":
			g.tl = -num(1)
			g.tlm = translate(num(0), num(1)).mul(g.tlm)
			g.tm = g.tlm
		case "Tm":
			if n == 6 {
				g.tm = matrix{num(0), num(1), num(2), num(3), num(4), num(5)}
				g.tlm = g.tm
			}
		case "T*":
			l.nextLine()
		case "Tj":
			if n == 1 {
				l.show(args[0].str)
			}
		case "'":
			if n == 1 {
				l.nextLine()
				l.show(args[0].str)
			}
		case "\"":
			if n == 3 {
				g.tw, g.tc = num(0), num(1)
				l.nextLine()
				l.show(args[2].str)
			}
		case "TJ":
			if n == 1 {
				for _, x := range args[0].arr {
					if x.kind == 's' {
						l.show(x.str)
					} else {
						g.tm = translate(-x.num/1000*g.tfs*g.th, 0).mul(g.tm)
					}
				}
			}
		case "Do":
			if n == 1 {
				l.form(xobjects.Key(args[0].str), resources, depth)
			}
		}
	})
}

// contentReader returns the decoded data of a content stream, or of an
// array of streams read as one (with white space between, so tokens never
// join across stream boundaries).
func contentReader(contents pdf.Value) io.Reader {
	if contents.Kind() != pdf.Array {
		return contents.Reader()
	}
	var rs []io.Reader
	for i := range min(contents.Len(), 1024) {
		rs = append(rs, contents.Index(i).Reader(), strings.NewReader("\n"))
	}
	return io.MultiReader(rs...)
}

func (l *pdfLayout) nextLine() {
	l.g.tlm = translate(0, -l.g.tl).mul(l.g.tlm)
	l.g.tm = l.g.tlm
}

// form draws a form XObject: its own content stream with its own matrix
// and (optionally) resources. Depth and count are bounded because forms can
// reference each other.
func (l *pdfLayout) form(x, parentRes pdf.Value, depth int) {
	if x.Key("Subtype").Name() != "Form" || depth >= maxFormDepth || l.forms >= maxForms {
		return
	}
	l.forms++
	res := x.Key("Resources")
	if res.IsNull() {
		res = parentRes
	}
	m := identity
	if mv := x.Key("Matrix"); mv.Len() == 6 {
		for i := range 6 {
			m[i] = mv.Index(i).Float64()
		}
	}
	saved, stack := l.g, len(l.stack)
	l.g.ctm = m.mul(saved.ctm)
	l.g.tm, l.g.tlm = identity, identity
	l.run(x, res, depth+1)
	l.g, l.stack = saved, l.stack[:stack]
}

// show decodes one string operand, advances the text matrix and writes the
// text with the spacing its position implies.
func (l *pdfLayout) show(raw string) {
	g := &l.g
	f := g.font
	if f == nil {
		f = noFont
	}
	// Large character spacing (Tc) is used as a word gap inside one string
	// by some producers (groff, ghostscript); lay such strings out glyph by
	// glyph so the gaps become spaces.
	if math.Abs(g.tc) > 0.1*math.Abs(g.tfs) && len(raw) > f.codeLen() {
		for i := 0; i+f.codeLen() <= len(raw); i += f.codeLen() {
			l.showRun(f, raw[i:i+f.codeLen()])
		}
		return
	}
	l.showRun(f, raw)
}

// showRun lays out a string drawn in one piece.
func (l *pdfLayout) showRun(f *pdfFont, raw string) {
	g := &l.g
	text := f.decode(raw)
	// A space glyph squeezed to nothing by negative word spacing is not a
	// visual gap (groff does this for italic corrections: "PA TH").
	if !f.twoByte && f.width(32) > 0 && strings.Contains(text, " ") &&
		(f.width(32)*g.tfs+g.tc+g.tw)*g.th < 0.1*math.Abs(g.tfs) {
		text = strings.ReplaceAll(text, " ", "")
	}

	// Advance in unscaled text space units (PDF 32000 §9.4.4).
	adv := 0.0
	f.eachCode(raw, func(code int) {
		w := f.width(code)*g.tfs + g.tc
		if code == 32 && !f.twoByte {
			w += g.tw
		}
		adv += w * g.th
	})
	// The glyphs end before the character spacing that follows the last
	// one; that spacing is a gap, not ink.
	visible := adv
	if adv != 0 {
		visible -= g.tc * g.th
	}
	trm := matrix{1, 0, 0, 1, 0, g.rise}.mul(g.tm).mul(g.ctm)
	x0, y0 := trm.apply(0, 0)
	x1, y1 := trm.apply(visible, 0)
	g.tm = translate(adv, 0).mul(g.tm)

	// Work in coordinates along and across the baseline so rotated pages
	// lay out like upright ones.
	dx, dy := trm[0], trm[1]
	norm := math.Hypot(dx, dy)
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		dx, dy, norm = 1, 0, 1
	}
	dx, dy = dx/norm, dy/norm
	u0 := x0*dx + y0*dy
	u1 := x1*dx + y1*dy
	v := -x0*dy + y0*dx
	size := math.Abs(g.tfs) * math.Sqrt(math.Abs(trm[0]*trm[3]-trm[1]*trm[2]))
	if size == 0 || math.IsNaN(size) || math.IsInf(size, 0) {
		size = 10
	}
	l.emit(text, u0, u1, v, size)
}

func (l *pdfLayout) emit(text string, u0, u1, v, size float64) {
	if text == "" {
		return
	}
	if l.have {
		ref := math.Max(size, l.lastSize)
		dv := v - l.lastV
		switch {
		case dv < -1.8*ref || dv > ref:
			l.c.paragraph() // a bigger gap, or a jump back up (new column, footer)
		case math.Abs(dv) > 0.5*ref:
			l.c.line()
			l.c.dehyphenate(text)
		default:
			if gap := u0 - l.lastEnd; (gap > 0.2*size || gap < -2*size) && !l.lastSpace {
				l.c.space()
			}
		}
	}
	if err := l.c.text(text); err != nil {
		panic(abort{err})
	}
	l.have = true
	l.lastV, l.lastEnd, l.lastSize = v, u1, size
	l.lastSpace = strings.HasSuffix(text, " ")
}

// pdfFont is what layout needs from a font: decoding and glyph widths.
type pdfFont struct {
	enc     pdf.TextEncoding
	twoByte bool            // Type0 fonts use 2-byte codes
	first   int             // simple fonts: code of widths[0]
	widths  []float64       // simple fonts, in 1/1000 text space units
	cid     map[int]float64 // Type0 fonts: W array
	dw      float64         // Type0 default width
	scale   float64         // Type3 FontMatrix scale relative to 1/1000
}

var noFont = &pdfFont{scale: 1}

func newPDFFont(v pdf.Value) *pdfFont {
	f := &pdfFont{scale: 1}
	f.enc = fontEncoding(v)
	switch v.Key("Subtype").Name() {
	case "Type0":
		f.twoByte = true
		d := v.Key("DescendantFonts").Index(0)
		f.dw = 1000
		if dw := d.Key("DW"); !dw.IsNull() {
			f.dw = dw.Float64()
		}
		f.cid = parseCIDWidths(d.Key("W"))
	case "Type3":
		if m := v.Key("FontMatrix"); m.Len() == 6 && m.Index(0).Float64() != 0 {
			f.scale = m.Index(0).Float64() * 1000
		}
		fallthrough
	default:
		f.first = int(v.Key("FirstChar").Int64())
		ws := v.Key("Widths")
		for i := range min(ws.Len(), 1<<16) {
			f.widths = append(f.widths, ws.Index(i).Float64())
		}
	}
	return f
}

// fontEncoding picks how a font's codes become text: its ToUnicode CMap
// (which the spec says wins) parsed by us, else the library's decoder for
// simple encodings. The library is never asked to read a ToUnicode CMap
// itself, because its CMap lexer can loop forever on a malformed one.
func fontEncoding(v pdf.Value) pdf.TextEncoding {
	if tu := v.Key("ToUnicode"); tu.Kind() == pdf.Stream {
		if cm := parseToUnicode(tu.Reader()); cm != nil {
			return cm
		}
		if enc := v.Key("Encoding"); enc.Kind() != pdf.Dict && (enc.Kind() != pdf.Name || enc.Name() == "Identity-H") {
			return latin1{} // the library would read the CMap we could not
		}
	}
	font := pdf.Font{V: v}
	return font.Encoder()
}

// parseCIDWidths reads a CIDFont W array: "c [w1 w2 ...]" or "c1 c2 w".
func parseCIDWidths(w pdf.Value) map[int]float64 {
	out := map[int]float64{}
	n := w.Len()
	for i := 0; i < n && len(out) < 1<<16; {
		c := int(w.Index(i).Int64())
		if i+1 >= n {
			break
		}
		next := w.Index(i + 1)
		if next.Kind() == pdf.Array {
			for j := range min(next.Len(), 1<<16) {
				out[c+j] = next.Index(j).Float64()
			}
			i += 2
			continue
		}
		if i+2 >= n {
			break
		}
		last, width := int(next.Int64()), w.Index(i+2).Float64()
		for k := c; k <= last && k-c < 1<<16; k++ {
			out[k] = width
		}
		i += 3
	}
	return out
}

func (f *pdfFont) decode(raw string) string {
	if f.enc == nil {
		return raw
	}
	return f.enc.Decode(raw)
}

func (f *pdfFont) codeLen() int {
	if f.twoByte {
		return 2
	}
	return 1
}

func (f *pdfFont) eachCode(raw string, fn func(int)) {
	if f.twoByte {
		for i := 0; i+1 < len(raw); i += 2 {
			fn(int(raw[i])<<8 | int(raw[i+1]))
		}
		return
	}
	for i := 0; i < len(raw); i++ {
		fn(int(raw[i]))
	}
}

// width returns a glyph's width in 1/1000 text space units, 0 if unknown.
func (f *pdfFont) width(code int) float64 {
	if f.twoByte {
		if w, ok := f.cid[code]; ok {
			return w / 1000
		}
		return f.dw / 1000
	}
	if i := code - f.first; i >= 0 && i < len(f.widths) {
		return f.widths[i] / 1000 * f.scale
	}
	return 0
}

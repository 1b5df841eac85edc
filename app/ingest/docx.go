package ingest

import (
	"context"
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"quire/app/units"
)

// parseDOCX streams word/document.xml with encoding/xml. There is no
// well-kept pure-Go DOCX text extractor, and what we need is small:
// paragraphs (w:p) and their text runs (w:t), heading levels from paragraph
// styles (resolved through styles.xml so localised style ids work), and
// tables rendered one row per line. Deleted revisions, field codes and
// mc:Fallback duplicates are skipped.
func parseDOCX(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Parsed, error) {
	z, err := openZip(KindDOCX, r, size, lim)
	if err != nil {
		return nil, err
	}
	main, err := z.mainPart("word/document.xml")
	if err != nil {
		return nil, err
	}
	styles, err := docxStyles(z, main)
	if err != nil {
		return nil, err
	}
	rc, err := z.open(main)
	if err != nil {
		return nil, err
	}
	defer rc.Close()

	d := &docxDoc{c: newCollector(ctx, KindDOCX, lim), styles: styles, title: z.coreTitle()}
	if err := d.read(xml.NewDecoder(rc)); err != nil {
		return nil, err
	}
	return &Parsed{Title: d.title, Sections: d.c.sections()}, nil
}

// titleLevel marks the "Title" style: it names the document but does not
// start a section.
const titleLevel = -1

type docxPara struct {
	level int // heading level 1..9, titleLevel, or 0 for body text
	text  strings.Builder
}

type docxDoc struct {
	c      *collector
	styles map[string]int
	title  string
	path   [9]string

	paras []*docxPara // open paragraphs; more than one inside text boxes
	rows  [][]string  // open table rows
	cells []*strings.Builder
	run   int   // depth inside w:r
	inT   bool  // inside w:t (or a:t)
	skip  int   // depth inside a skipped subtree
	size  int64 // text bytes read
}

// skippedDOCX holds text that is not part of the visible document.
var skippedDOCX = map[string]bool{
	"del": true, "moveFrom": true, "delText": true, "instrText": true,
	"Fallback": true, "fldData": true, "tabs": true, "pPrChange": true, "rPrChange": true,
}

func (d *docxDoc) read(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return damaged(KindDOCX, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if d.skip > 0 || skippedDOCX[t.Name.Local] {
				d.skip++
				continue
			}
			if err := d.start(t); err != nil {
				return err
			}
		case xml.EndElement:
			if d.skip > 0 {
				d.skip--
				continue
			}
			if err := d.end(t.Name.Local); err != nil {
				return err
			}
		case xml.CharData:
			if d.inT && d.skip == 0 && len(d.paras) > 0 {
				// Bound memory before the collector sees the paragraph.
				if d.size += int64(len(t)); d.size > d.c.lim.MaxTextBytes {
					return tooLarge("the Word document has more than %s of text; split it into smaller files", units.Bytes(d.c.lim.MaxTextBytes))
				}
				d.paras[len(d.paras)-1].text.Write(t)
			}
		}
		if err := d.c.check(); err != nil {
			return err
		}
	}
}

func (d *docxDoc) top() *docxPara {
	if len(d.paras) == 0 {
		return nil
	}
	return d.paras[len(d.paras)-1]
}

func (d *docxDoc) start(t xml.StartElement) error {
	p := d.top()
	switch t.Name.Local {
	case "p":
		d.paras = append(d.paras, &docxPara{})
	case "pStyle":
		if p != nil {
			p.level = d.styles[attr(t, "val")]
		}
	case "outlineLvl":
		if n, err := strconv.Atoi(attr(t, "val")); err == nil && p != nil && n >= 0 && n < 9 {
			p.level = n + 1
		}
	case "r":
		d.run++
	case "t":
		d.inT = true
	case "tab", "ptab":
		if d.run > 0 && p != nil {
			p.text.WriteByte('\t')
		}
	case "br", "cr":
		if d.run > 0 && p != nil {
			p.text.WriteByte('\n')
		}
	case "noBreakHyphen":
		if d.run > 0 && p != nil {
			p.text.WriteByte('-')
		}
	case "tbl":
		d.c.paragraph()
	case "tr":
		d.rows = append(d.rows, nil)
	case "tc":
		d.cells = append(d.cells, &strings.Builder{})
	}
	return nil
}

func (d *docxDoc) end(local string) error {
	switch local {
	case "p":
		if len(d.paras) == 0 {
			return nil
		}
		p := d.top()
		d.paras = d.paras[:len(d.paras)-1]
		return d.paragraph(p)
	case "r":
		d.run = max(d.run-1, 0)
	case "t":
		d.inT = false
	case "tc":
		if len(d.cells) == 0 {
			return nil
		}
		cell := d.cells[len(d.cells)-1]
		d.cells = d.cells[:len(d.cells)-1]
		if len(d.rows) > 0 {
			d.rows[len(d.rows)-1] = append(d.rows[len(d.rows)-1], oneLine(cell.String()))
		}
	case "tr":
		if len(d.rows) == 0 {
			return nil
		}
		row := joinNonEmpty(d.rows[len(d.rows)-1], " | ")
		d.rows = d.rows[:len(d.rows)-1]
		if len(d.cells) > 0 { // a nested table's row goes into the outer cell
			appendSpaced(d.cells[len(d.cells)-1], row)
			return nil
		}
		d.c.line()
		err := d.c.text(row)
		d.c.line()
		return err
	case "tbl":
		d.c.paragraph()
	}
	return nil
}

// paragraph emits a finished paragraph: into the open table cell, as a new
// section for headings, or as body text.
func (d *docxDoc) paragraph(p *docxPara) error {
	text := p.text.String()
	if len(d.cells) > 0 {
		appendSpaced(d.cells[len(d.cells)-1], text)
		return nil
	}
	switch {
	case p.level == titleLevel:
		if d.title == "" {
			d.title = oneLine(text)
		}
	case p.level > 0:
		if name := oneLine(text); name != "" {
			d.path[p.level-1] = name
			clear(d.path[p.level:])
			d.c.section(joinPath(d.path[:p.level]), 0)
			return nil
		}
	}
	d.c.paragraph()
	err := d.c.text(text)
	d.c.paragraph()
	return err
}

func appendSpaced(b *strings.Builder, s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(s)
}

func joinNonEmpty(parts []string, sep string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
	}
	return b.String()
}

// docxStyles maps paragraph style ids to heading levels. Word's built-in
// heading styles keep their English names ("heading 1") even when the id is
// localised ("berschrift1"), and custom styles inherit an outline level
// through basedOn, so both are resolved here.
func docxStyles(z *safeZip, main string) (map[string]int, error) {
	part := "word/styles.xml"
	rs, err := z.rels(main)
	if err != nil {
		return nil, err
	}
	for _, id := range sortedKeys(rs) {
		if strings.HasSuffix(rs[id].Type, "/styles") {
			part = rs[id].Target
		}
	}
	type style struct {
		name, basedOn string
		outline       int
	}
	defs := map[string]*style{}
	if z.file(part) != nil {
		rc, err := z.open(part)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		dec := xml.NewDecoder(rc)
		var cur *style
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, damaged(KindDOCX, err)
			}
			se, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			switch se.Name.Local {
			case "style":
				cur = &style{outline: -1}
				defs[attr(se, "styleId")] = cur
			case "name":
				if cur != nil {
					cur.name = strings.ToLower(attr(se, "val"))
				}
			case "basedOn":
				if cur != nil {
					cur.basedOn = attr(se, "val")
				}
			case "outlineLvl":
				if n, err := strconv.Atoi(attr(se, "val")); err == nil && cur != nil {
					cur.outline = n
				}
			}
		}
	}

	var level func(id string, depth int) int
	level = func(id string, depth int) int {
		s := defs[id]
		if s == nil || depth > 10 {
			return builtinHeadingLevel(id)
		}
		if l := builtinHeadingLevel(s.name); l != 0 {
			return l
		}
		if s.outline >= 0 && s.outline < 9 {
			return s.outline + 1
		}
		if s.basedOn != "" && s.basedOn != id {
			return level(s.basedOn, depth+1)
		}
		return 0
	}
	levels := map[string]int{}
	for id := range defs {
		levels[id] = level(id, 0)
	}
	// Documents without styles.xml still use the built-in ids.
	for i := 1; i <= 9; i++ {
		id := "Heading" + strconv.Itoa(i)
		if _, ok := levels[id]; !ok {
			levels[id] = i
		}
	}
	if _, ok := levels["Title"]; !ok {
		levels["Title"] = titleLevel
	}
	return levels, nil
}

// builtinHeadingLevel recognises "heading N"/"HeadingN" and "title".
func builtinHeadingLevel(name string) int {
	n := strings.ToLower(strings.ReplaceAll(name, " ", ""))
	if n == "title" {
		return titleLevel
	}
	if rest, ok := strings.CutPrefix(n, "heading"); ok && len(rest) == 1 && rest[0] >= '1' && rest[0] <= '9' {
		return int(rest[0] - '0')
	}
	return 0
}

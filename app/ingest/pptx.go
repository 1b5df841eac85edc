package ingest

import (
	"context"
	"encoding/xml"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"quire/app/units"
)

// parsePPTX reads slides in presentation order with archive/zip and
// encoding/xml (no well-kept pure-Go PPTX reader exists; slide XML is just
// DrawingML paragraphs). Each slide becomes a section whose Page is the
// slide number and whose Heading is the slide title; speaker notes are
// appended because they often carry the substance of a talk.
func parsePPTX(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Parsed, error) {
	z, err := openZip(KindPPTX, r, size, lim)
	if err != nil {
		return nil, err
	}
	main, err := z.mainPart("ppt/presentation.xml")
	if err != nil {
		return nil, err
	}
	slidesParts, err := slideOrder(z, main)
	if err != nil {
		return nil, err
	}
	if len(slidesParts) > lim.MaxPages {
		return nil, tooLarge("the presentation is too large: more than %s slides", humanInt(int64(lim.MaxPages)))
	}

	c := newCollector(ctx, KindPPTX, lim)
	title := z.coreTitle()
	for i, part := range slidesParts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := readSlide(z, part, c)
		if err != nil {
			return nil, err
		}
		if title == "" {
			title = s.title
		}
		c.section(s.title, i+1)
		for _, p := range s.body {
			c.paragraph()
			if err := c.text(p); err != nil {
				return nil, err
			}
		}
		if notes := notesPart(z, part); notes != "" {
			n, err := readSlide(z, notes, c)
			if err != nil {
				return nil, err
			}
			if len(n.body) > 0 {
				c.paragraph()
				if err := c.text("Notes: " + strings.Join(n.body, "\n")); err != nil {
					return nil, err
				}
			}
		}
		c.paragraph()
	}
	return &Parsed{Title: title, Sections: c.sections()}, nil
}

var slideName = regexp.MustCompile(`^ppt/slides/slide(\d+)\.xml$`)

// slideOrder lists slide parts in the order of p:sldIdLst, falling back to
// the numbers in the slide file names.
func slideOrder(z *safeZip, main string) ([]string, error) {
	rs, err := z.rels(main)
	if err != nil {
		return nil, err
	}
	var parts []string
	if z.file(main) != nil {
		rc, err := z.open(main)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		dec := xml.NewDecoder(rc)
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, damaged(KindPPTX, err)
			}
			se, ok := tok.(xml.StartElement)
			if !ok || se.Name.Local != "sldId" {
				continue
			}
			for _, a := range se.Attr {
				if a.Name.Local == "id" && strings.Contains(a.Name.Space, "relationships") {
					if r, ok := rs[a.Value]; ok && z.file(r.Target) != nil && !slices.Contains(parts, r.Target) {
						parts = append(parts, r.Target)
					}
				}
			}
			if len(parts) > z.lim.MaxPages {
				return parts, nil
			}
		}
	}
	if len(parts) > 0 {
		return parts, nil
	}
	type numbered struct {
		n    int
		name string
	}
	var found []numbered
	for name := range z.parts {
		if m := slideName.FindStringSubmatch(name); m != nil {
			n, _ := strconv.Atoi(m[1])
			found = append(found, numbered{n, name})
		}
	}
	slices.SortFunc(found, func(a, b numbered) int {
		if a.n != b.n {
			return a.n - b.n
		}
		return strings.Compare(a.name, b.name)
	})
	for _, f := range found {
		parts = append(parts, f.name)
	}
	return parts, nil
}

// notesPart returns the notes slide related to a slide, or "".
func notesPart(z *safeZip, slide string) string {
	rs, err := z.rels(slide)
	if err != nil {
		return ""
	}
	for _, id := range sortedKeys(rs) {
		if r := rs[id]; strings.HasSuffix(r.Type, "/notesSlide") && z.file(r.Target) != nil {
			return r.Target
		}
	}
	return ""
}

type slideText struct {
	title string
	body  []string // paragraphs and table rows
}

// placeholders whose text is boilerplate (slide numbers, dates, footers,
// the slide image on a notes page) rather than content.
var boilerplate = map[string]bool{"sldNum": true, "dt": true, "ftr": true, "hdr": true, "sldImg": true}

// readSlide collects the text of one slide (or notes slide) part.
func readSlide(z *safeZip, part string, c *collector) (*slideText, error) {
	rc, err := z.open(part)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)

	out := &slideText{}
	var (
		skip      int    // depth inside a skipped subtree
		phType    string // placeholder type of the current shape
		inShape   bool
		shapeText []string
		para      strings.Builder
		inT       bool
		row       []string
		cell      strings.Builder
		inCell    bool
		size      int
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, damaged(KindPPTX, err)
		}
		if err := c.check(); err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if skip > 0 || t.Name.Local == "Fallback" || t.Name.Local == "fld" && attr(t, "type") == "slidenum" {
				skip++
				continue
			}
			switch t.Name.Local {
			case "sp":
				inShape, phType, shapeText = true, "", nil
			case "ph":
				phType = attr(t, "type")
			case "p":
				para.Reset()
			case "t":
				inT = true
			case "br":
				para.WriteByte('\n')
			case "tr":
				row = nil
			case "tc":
				inCell = true
				cell.Reset()
			}
		case xml.EndElement:
			if skip > 0 {
				skip--
				continue
			}
			switch t.Name.Local {
			case "t":
				inT = false
			case "p":
				text := para.String()
				switch {
				case inCell:
					appendSpaced(&cell, text)
				case strings.TrimSpace(text) == "":
				case inShape:
					shapeText = append(shapeText, text)
				default:
					out.body = append(out.body, text)
				}
			case "tc":
				row = append(row, oneLine(cell.String()))
				inCell = false
			case "tr":
				if r := joinNonEmpty(row, " | "); r != "" {
					out.body = append(out.body, r)
				}
			case "sp":
				switch {
				case boilerplate[phType]:
				case (phType == "title" || phType == "ctrTitle") && out.title == "":
					out.title = oneLine(strings.Join(shapeText, " "))
				case len(shapeText) == 0:
					// An empty placeholder (PowerPoint gives every notes page
					// one) is no paragraph: it made "Notes:" lines of nothing.
				default:
					out.body = append(out.body, strings.Join(shapeText, "\n"))
				}
				inShape, shapeText = false, nil
			}
		case xml.CharData:
			if inT && skip == 0 {
				// Bound memory before the collector sees the text.
				if size += len(t); int64(size) > c.lim.MaxTextBytes {
					return nil, tooLarge("the presentation has more than %s of text; split it into smaller files", units.Bytes(c.lim.MaxTextBytes))
				}
				para.Write(t)
			}
		}
	}
}

package ingest

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"fmt"
	"html"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// Test fixtures are real files built in Go, so the tests need no tools.

type zipEntry struct{ name, body string }

func buildZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const relsNS = `http://schemas.openxmlformats.org/officeDocument/2006/relationships`

// testPara is one paragraph of a generated DOCX: style "" for body text.
type testPara struct{ style, text string }

// buildDOCX writes a minimal but valid Word document. A style id of
// "Kop1" exercises localised heading ids resolved through styles.xml.
func buildDOCX(t testing.TB, title string, paras []testPara, tableRows [][]string) []byte {
	t.Helper()
	var body strings.Builder
	for _, p := range paras {
		body.WriteString(`<w:p>`)
		if p.style != "" {
			fmt.Fprintf(&body, `<w:pPr><w:pStyle w:val="%s"/><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>`, p.style)
		}
		for i, line := range strings.Split(p.text, "\n") {
			if i > 0 {
				body.WriteString(`<w:r><w:br/></w:r>`)
			}
			fmt.Fprintf(&body, `<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">%s</w:t></w:r>`, html.EscapeString(line))
		}
		body.WriteString(`<w:del><w:r><w:delText>DELETED TEXT</w:delText></w:r></w:del></w:p>`)
	}
	if len(tableRows) > 0 {
		body.WriteString(`<w:tbl>`)
		for _, row := range tableRows {
			body.WriteString(`<w:tr>`)
			for _, cell := range row {
				fmt.Fprintf(&body, `<w:tc><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:tc>`, html.EscapeString(cell))
			}
			body.WriteString(`</w:tr>`)
		}
		body.WriteString(`</w:tbl>`)
	}
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="` + relsNS + `"><w:body>` +
		body.String() + `<w:sectPr/></w:body></w:document>`
	styles := `<?xml version="1.0" encoding="UTF-8"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:style w:type="paragraph" w:styleId="Normal"><w:name w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="Titel"><w:name w:val="Title"/></w:style>
<w:style w:type="paragraph" w:styleId="Kop1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Kop2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/></w:style>
<w:style w:type="paragraph" w:styleId="MyHeading"><w:name w:val="My Custom Heading"/><w:basedOn w:val="Kop2"/></w:style>
</w:styles>`
	core := `<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>` + html.EscapeString(title) + `</dc:title></cp:coreProperties>`
	return buildZip(t,
		zipEntry{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		zipEntry{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		zipEntry{"word/_rels/document.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`},
		zipEntry{"word/document.xml", doc},
		zipEntry{"word/styles.xml", styles},
		zipEntry{"docProps/core.xml", core},
	)
}

type slide struct {
	title      string
	body       []string
	notes      string
	emptyNotes bool // a notes page whose body placeholder is empty, as PowerPoint writes for every slide
	table      [][]string
}

// buildPPTX writes a presentation whose slide files are numbered in reverse
// of the presentation order, so the test proves sldIdLst order is used.
func buildPPTX(t testing.TB, slides []slide) []byte {
	t.Helper()
	n := len(slides)
	var ids, rels strings.Builder
	var entries []zipEntry
	for i, s := range slides {
		file := n - i // reverse numbering
		fmt.Fprintf(&ids, `<p:sldId id="%d" r:id="rId%d"/>`, 256+i, 10+i)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide%d.xml"/>`, 10+i, file)
		var sp strings.Builder
		if s.title != "" {
			fmt.Fprintf(&sp, `<p:sp><p:nvSpPr><p:cNvPr id="2" name="Title"/><p:cNvSpPr/><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>%s</a:t></a:r></a:p></p:txBody></p:sp>`, html.EscapeString(s.title))
		}
		sp.WriteString(`<p:sp><p:nvSpPr><p:cNvPr id="3" name="Body"/><p:cNvSpPr/><p:nvPr><p:ph idx="1"/></p:nvPr></p:nvSpPr><p:txBody>`)
		for _, b := range s.body {
			fmt.Fprintf(&sp, `<a:p><a:r><a:t>%s</a:t></a:r></a:p>`, html.EscapeString(b))
		}
		sp.WriteString(`</p:txBody></p:sp>`)
		fmt.Fprintf(&sp, `<p:sp><p:nvSpPr><p:cNvPr id="4" name="Num"/><p:cNvSpPr/><p:nvPr><p:ph type="sldNum"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:fld type="slidenum"><a:t>%d</a:t></a:fld></a:p></p:txBody></p:sp>`, i+1)
		if len(s.table) > 0 {
			sp.WriteString(`<p:graphicFrame><a:graphic><a:graphicData><a:tbl>`)
			for _, row := range s.table {
				sp.WriteString(`<a:tr>`)
				for _, c := range row {
					fmt.Fprintf(&sp, `<a:tc><a:txBody><a:p><a:r><a:t>%s</a:t></a:r></a:p></a:txBody></a:tc>`, html.EscapeString(c))
				}
				sp.WriteString(`</a:tr>`)
			}
			sp.WriteString(`</a:tbl></a:graphicData></a:graphic></p:graphicFrame>`)
		}
		entries = append(entries, zipEntry{fmt.Sprintf("ppt/slides/slide%d.xml", file),
			`<?xml version="1.0" encoding="UTF-8"?><p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:r="` + relsNS + `"><p:cSld><p:spTree>` + sp.String() + `</p:spTree></p:cSld></p:sld>`})
		if s.notes != "" || s.emptyNotes {
			notesBody := `<a:p><a:endParaRPr lang="en-US"/></a:p>`
			if s.notes != "" {
				notesBody = `<a:p><a:r><a:t>` + html.EscapeString(s.notes) + `</a:t></a:r></a:p>`
			}
			entries = append(entries,
				zipEntry{fmt.Sprintf("ppt/slides/_rels/slide%d.xml.rels", file), fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide" Target="../notesSlides/notesSlide%d.xml"/></Relationships>`, file)},
				zipEntry{fmt.Sprintf("ppt/notesSlides/notesSlide%d.xml", file), `<?xml version="1.0" encoding="UTF-8"?><p:notes xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree>` +
					`<p:sp><p:nvSpPr><p:cNvPr id="2" name="Slide Image"/><p:cNvSpPr/><p:nvPr><p:ph type="sldImg"/></p:nvPr></p:nvSpPr></p:sp>` +
					`<p:sp><p:nvSpPr><p:cNvPr id="3" name="Notes"/><p:cNvSpPr/><p:nvPr><p:ph type="body" idx="1"/></p:nvPr></p:nvSpPr><p:txBody>` + notesBody + `</p:txBody></p:sp>` +
					`</p:spTree></p:cSld></p:notes>`})
		}
	}
	head := []zipEntry{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="ppt/presentation.xml"/></Relationships>`},
		{"ppt/presentation.xml", `<?xml version="1.0" encoding="UTF-8"?><p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:r="` + relsNS + `"><p:sldIdLst>` + ids.String() + `</p:sldIdLst></p:presentation>`},
		{"ppt/_rels/presentation.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels.String() + `</Relationships>`},
	}
	return buildZip(t, append(head, entries...)...)
}

// buildXLSX writes a workbook with excelize: sheet name → rows.
func buildXLSX(t testing.TB, title string, sheets []string, rows map[string][][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, name := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, row := range rows[name] {
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	if title != "" {
		if err := f.SetDocProps(&excelize.DocProperties{Title: title}); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pdfPage is the content of one generated PDF page: lines of text drawn
// top-down with Helvetica, or raw content-stream operators.
type pdfPage struct {
	lines []string
	raw   string
}

type pdfOptions struct {
	title     string
	compress  bool   // FlateDecode the content streams
	encrypt   bool   // add an /Encrypt dictionary that no empty password opens
	header    string // default "%PDF-1.4"
	widths    bool   // give the font a /Widths array (all 500)
	toUnicode string // a ToUnicode CMap for the font
	encoding  string // the font's /Encoding (default WinAnsiEncoding)
}

// buildPDF is a small but valid PDF writer: catalog, page tree, one
// Helvetica font, one content stream per page and a correct xref table.
func buildPDF(t testing.TB, opt pdfOptions, pages ...pdfPage) []byte {
	t.Helper()
	var objs []string // objs[i] is object i+1
	add := func(s string) int { objs = append(objs, s); return len(objs) }
	catalog := add("")
	pagesObj := add("")
	encoding := opt.encoding
	if encoding == "" {
		encoding = "WinAnsiEncoding"
	}
	fontDict := "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /" + encoding
	if opt.widths {
		fontDict += " /FirstChar 32 /LastChar 126 /Widths [" + strings.Repeat("500 ", 95) + "]"
	}
	if opt.toUnicode != "" {
		cmap := add(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(opt.toUnicode), opt.toUnicode))
		fontDict += fmt.Sprintf(" /ToUnicode %d 0 R", cmap)
	}
	font := add(fontDict + " >>")
	var kids []string
	for _, p := range pages {
		content := p.raw
		if content == "" {
			var b strings.Builder
			b.WriteString("BT /F1 12 Tf 14 TL 72 720 Td\n")
			for i, line := range p.lines {
				if i > 0 {
					b.WriteString("T*\n")
				}
				fmt.Fprintf(&b, "(%s) Tj\n", pdfEscape(line))
			}
			b.WriteString("ET\n")
			content = b.String()
		}
		stream := []byte(content)
		filter := ""
		if opt.compress {
			var z bytes.Buffer
			zw := zlib.NewWriter(&z)
			zw.Write(stream)
			zw.Close()
			stream, filter = z.Bytes(), " /Filter /FlateDecode"
		}
		c := add(fmt.Sprintf("<< /Length %d%s >>\nstream\n%s\nendstream", len(stream), filter, stream))
		pg := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", pagesObj, font, c))
		kids = append(kids, fmt.Sprintf("%d 0 R", pg))
	}
	objs[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj)
	objs[pagesObj-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	info := add(fmt.Sprintf("<< /Title (%s) /Producer (quire test) >>", pdfEscape(opt.title)))
	enc := 0
	if opt.encrypt {
		enc = add("<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 /O <" + strings.Repeat("ab", 32) + "> /U <" + strings.Repeat("cd", 32) + "> >>")
	}

	header := opt.header
	if header == "" {
		header = "%PDF-1.4"
	}
	var out bytes.Buffer
	out.WriteString(header + "\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	trailer := fmt.Sprintf("/Size %d /Root %d 0 R /Info %d 0 R", len(objs)+1, catalog, info)
	if enc != 0 {
		trailer += fmt.Sprintf(" /Encrypt %d 0 R /ID [<%s> <%s>]", enc, strings.Repeat("01", 16), strings.Repeat("01", 16))
	}
	fmt.Fprintf(&out, "trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n", trailer, xref)
	return out.Bytes()
}

func pdfEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`).Replace(s)
}

type ioReaderAt = io.ReaderAt

func zipReader(b []byte) (*zip.Reader, error) {
	return zip.NewReader(bytes.NewReader(b), int64(len(b)))
}

func newZipWriter(w io.Writer) *zip.Writer { return zip.NewWriter(w) }

func copyAll(w io.Writer, r io.Reader) (int64, error) { return io.Copy(w, r) }

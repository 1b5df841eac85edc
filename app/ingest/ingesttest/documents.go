package ingesttest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"html"
	"strings"
)

// PDF is a valid PDF with one page per element of pages, each page's text
// one line in Helvetica: what tests outside package ingest upload to check
// that a passage is attributed to its page.
func PDF(pages ...string) []byte {
	objs := []string{"", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"}
	var kids []string
	for _, text := range pages {
		text = strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`).Replace(text)
		content := "BT /F1 12 Tf 72 720 Td (" + text + ") Tj ET\n"
		objs = append(objs, fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content))
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", len(objs)))
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
	}
	objs[0] = "<< /Type /Catalog /Pages 2 0 R >>"
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// Slide is one slide of PPTX.
type Slide struct{ Title, Body string }

// PPTX is a minimal valid presentation with the given slides, each with an
// empty notes page as PowerPoint writes them.
func PPTX(slides ...Slide) []byte {
	const (
		a    = `xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"`
		p    = `xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"`
		r    = `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
		rels = `http://schemas.openxmlformats.org/officeDocument/2006/relationships/`
		pkg  = `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`
	)
	shape := func(ph, text string) string {
		body := `<a:p><a:endParaRPr lang="en-US"/></a:p>`
		if text != "" {
			body = `<a:p><a:r><a:t>` + html.EscapeString(text) + `</a:t></a:r></a:p>`
		}
		return `<p:sp><p:nvSpPr><p:cNvPr id="2" name="s"/><p:cNvSpPr/><p:nvPr>` + ph + `</p:nvPr></p:nvSpPr><p:txBody>` + body + `</p:txBody></p:sp>`
	}
	files := map[string]string{
		"[Content_Types].xml": `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/></Types>`,
		"_rels/.rels":         pkg + `<Relationship Id="rId1" Type="` + rels + `officeDocument" Target="ppt/presentation.xml"/></Relationships>`,
	}
	var ids, prels strings.Builder
	for i, s := range slides {
		n := i + 1
		fmt.Fprintf(&ids, `<p:sldId id="%d" r:id="rId%d"/>`, 256+i, 10+i)
		fmt.Fprintf(&prels, `<Relationship Id="rId%d" Type="%sslide" Target="slides/slide%d.xml"/>`, 10+i, rels, n)
		files[fmt.Sprintf("ppt/slides/slide%d.xml", n)] = `<p:sld ` + a + ` ` + p + `><p:cSld><p:spTree>` +
			shape(`<p:ph type="title"/>`, s.Title) + shape(`<p:ph idx="1"/>`, s.Body) + `</p:spTree></p:cSld></p:sld>`
		files[fmt.Sprintf("ppt/slides/_rels/slide%d.xml.rels", n)] = pkg + fmt.Sprintf(`<Relationship Id="rId2" Type="%snotesSlide" Target="../notesSlides/notesSlide%d.xml"/></Relationships>`, rels, n)
		files[fmt.Sprintf("ppt/notesSlides/notesSlide%d.xml", n)] = `<p:notes ` + a + ` ` + p + `><p:cSld><p:spTree>` +
			shape(`<p:ph type="sldImg"/>`, "") + shape(`<p:ph type="body" idx="1"/>`, "") + `</p:spTree></p:cSld></p:notes>`
	}
	files["ppt/presentation.xml"] = `<p:presentation ` + p + ` ` + r + `><p:sldIdLst>` + ids.String() + `</p:sldIdLst></p:presentation>`
	files["ppt/_rels/presentation.xml.rels"] = pkg + prels.String() + `</Relationships>`
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "ppt/presentation.xml", "ppt/_rels/presentation.xml.rels"} {
		w, _ := z.Create(name)
		w.Write([]byte(files[name]))
	}
	for i := range slides {
		for _, name := range []string{"ppt/slides/slide%d.xml", "ppt/slides/_rels/slide%d.xml.rels", "ppt/notesSlides/notesSlide%d.xml"} {
			name = fmt.Sprintf(name, i+1)
			w, _ := z.Create(name)
			w.Write([]byte(files[name]))
		}
	}
	z.Close()
	return b.Bytes()
}

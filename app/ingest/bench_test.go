package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// benchDocs builds one document per format with roughly the same text
// (~2,000 paragraphs of prose).
func benchDocs(b *testing.B) map[Kind][]byte {
	b.Helper()
	para := func(i int) string {
		return fmt.Sprintf("Paragraph %d explains how the quarterly numbers were gathered, checked and reported to the team. ", i) +
			"It has a second sentence with some more words so that chunks fill up at a realistic pace."
	}
	var md, txt, html strings.Builder
	var docx []testPara
	var pages []pdfPage
	var slides []slide
	csv := strings.Builder{}
	csv.WriteString("id,name,description,amount\n")
	rows := [][]any{{"id", "name", "description", "amount"}}
	for i := range 2000 {
		if i%20 == 0 {
			fmt.Fprintf(&md, "## Section %d\n\n", i/20)
			fmt.Fprintf(&html, "<h2>Section %d</h2>\n", i/20)
			docx = append(docx, testPara{"Kop2", fmt.Sprintf("Section %d", i/20)})
			pages = append(pages, pdfPage{})
			slides = append(slides, slide{title: fmt.Sprintf("Slide %d", i/20)})
		}
		p := para(i)
		fmt.Fprintf(&md, "%s\n\n", p)
		fmt.Fprintf(&txt, "%s\n\n", p)
		fmt.Fprintf(&html, "<p>%s</p>\n", p)
		docx = append(docx, testPara{"", p})
		last := &pages[len(pages)-1]
		last.lines = append(last.lines, p[:len(p)/2], p[len(p)/2:])
		s := &slides[len(slides)-1]
		s.body = append(s.body, p)
		fmt.Fprintf(&csv, "%d,item %d,\"%s\",%d.50\n", i, i, p, i*3)
		rows = append(rows, []any{i, fmt.Sprintf("item %d", i), p, float64(i*3) + 0.5})
	}
	return map[Kind][]byte{
		KindTXT:  []byte(txt.String()),
		KindMD:   []byte(md.String()),
		KindHTML: []byte("<html><body><main>" + html.String() + "</main></body></html>"),
		KindCSV:  []byte(csv.String()),
		KindPDF:  buildPDF(b, pdfOptions{compress: true}, pages...),
		KindDOCX: buildDOCX(b, "Bench", docx, nil),
		KindXLSX: buildXLSX(b, "Bench", []string{"Data"}, map[string][][]any{"Data": rows}),
		KindPPTX: buildPPTX(b, slides),
	}
}

// BenchmarkParseChunk measures Parse + Chunks per format. MB/s is relative
// to the size of the file as uploaded (compressed for DOCX, XLSX, PPTX and
// the PDF streams); text-MB/s to the text extracted.
func BenchmarkParseChunk(b *testing.B) {
	docs := benchDocs(b)
	for _, kind := range Kinds() {
		data := docs[kind]
		b.Run(string(kind), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			chunks, text := 0, 0
			for b.Loop() {
				p, err := parseBytes(kind, data, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				chunks = len(Chunks(p, ChunkOptions{}))
				text = 0
				for _, s := range p.Sections {
					text += len(s.Text)
				}
			}
			b.ReportMetric(float64(chunks), "chunks")
			// Extracted text per second, comparable across formats.
			b.ReportMetric(float64(text)*float64(b.N)/b.Elapsed().Seconds()/1e6, "text-MB/s")
		})
	}
}

// BenchmarkParseWorker is BenchmarkParseChunk's parsing through the worker
// process (Parse + Chunks, the chunking in the parent as in the server), and
// "start" a one-line document: the cost of a worker per document.
func BenchmarkParseWorker(b *testing.B) {
	docs := benchDocs(b)
	docs["start"] = []byte("# Hi\n\nOne line.\n")
	var w Worker
	for _, name := range append([]string{"start"}, kindNames()...) {
		data, kind := docs[Kind(name)], Kind(name)
		if name == "start" {
			kind = KindMD
		}
		f := tempFile(b, "doc", data)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, p, err := w.Parse(context.Background(), f, "doc", kind, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				Chunks(p, ChunkOptions{})
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/doc")
		})
	}
}

func kindNames() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, string(k))
	}
	return out
}

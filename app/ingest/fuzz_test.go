package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"quire/app/ingest/ingesttest"
)

// Fuzz targets: parsers, Detect and Chunks must never panic (third-party
// panics are recovered by design, ours are bugs), never hang and never
// return errors without a message for people. Run one with e.g.
//
//	go test ./app/ingest -run '^$' -fuzz '^FuzzParsePDF$' -fuzztime 30s

var fuzzLimits = Limits{
	MaxUncompressed: 16 << 20,
	MaxTextBytes:    4 << 20,
	MaxCells:        100_000,
	MaxPages:        200,
	Timeout:         10 * time.Second,
}

// fuzzParse runs the parser of kind on each input, after prepare (if any)
// has turned the input into a file.
func fuzzParse(f *testing.F, kind Kind, prepare func(*testing.T, []byte) []byte) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if prepare != nil {
			data = prepare(t, data)
		}
		p, err := parseBytes(kind, data, fuzzLimits)
		if err != nil {
			checkError(t, err)
			return
		}
		for i, s := range p.Sections {
			if s.Text == "" || !utf8.ValidString(s.Text) || !utf8.ValidString(s.Heading) {
				t.Fatalf("section %d: bad text %q heading %q", i, s.Text, s.Heading)
			}
		}
		checkChunks(t, p, ChunkOptions{TargetTokens: 64, OverlapTokens: 16, MinTokens: 16, MaxTokens: 128})
	})
}

// checkError fails on hangs, untyped errors and panics raised by our own
// code (the recovered stack says where the panic came from).
func checkError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Msg == "" {
		t.Fatalf("untyped error: %v", err)
	}
	if errors.Is(err, ErrTimeout) {
		t.Fatalf("parser hung: %v", err)
	}
	if e.Cause != nil && strings.Contains(e.Cause.Error(), "parser panic") && panicIsOurs(e.Cause.Error()) {
		t.Fatalf("panic in package ingest: %v", e.Cause)
	}
}

func panicIsOurs(stack string) bool {
	lines := strings.Split(stack, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "panic(") {
			continue
		}
		for _, fn := range lines[i+1:] {
			if strings.HasPrefix(fn, "\t") || strings.HasPrefix(fn, "runtime.") || fn == "" {
				continue
			}
			return strings.HasPrefix(fn, "quire/app/ingest.")
		}
	}
	return false
}

func addSeeds(f *testing.F, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
}

func checkChunks(t *testing.T, p *Parsed, opt ChunkOptions) []Chunk {
	t.Helper()
	chunks := Chunks(p, opt)
	o := opt.withDefaults()
	for i, c := range chunks {
		if strings.TrimSpace(c.Content) == "" || c.Tokens > o.MaxTokens || c.Tokens != EstimateTokens(c.Content) ||
			c.Index != i || c.Overlap < 0 || c.Overlap >= len(c.Content) || !utf8.ValidString(c.Content) {
			t.Fatalf("bad chunk %d: %+v", i, c)
		}
	}
	return chunks
}

func FuzzParseTXT(f *testing.F) {
	addSeeds(f, []byte("hello\n\nworld"), []byte("\xef\xbb\xbfbom\r\n"))
	fuzzParse(f, KindTXT, nil)
}

func FuzzParseMD(f *testing.F) {
	addSeeds(f, []byte("---\ntitle: T\n---\n# A\n\ntext\n\n## B\n\n```\n# code\n```\n\nSetext\n===\n"),
		[]byte("# \n#\n> # quoted\n- # item\n\n<div>\n# html\n</div>\n"),
		// Small cuts of the goldmark bombs (the full ones are FuzzParseWorker seeds).
		ingesttest.EmphasisBomb(3000), ingesttest.QuoteBomb(500))
	fuzzParse(f, KindMD, nil)
}

func FuzzParseHTML(f *testing.F) {
	addSeeds(f, []byte(`<html><head><title>T</title></head><body><nav>x</nav><h1>A</h1><p>t<br>u</p><table><tr><td>1</td><td>2</td></tr></table><pre> x </pre></body></html>`),
		[]byte(`<meta charset="iso-8859-1"><h2>caf`+"\xe9"+`</h2><main><article><h3>x</h3></article></main>`))
	fuzzParse(f, KindHTML, nil)
}

func FuzzParseCSV(f *testing.F) {
	addSeeds(f, []byte("a,b,c\n1,2,3\n\"x,y\",\"q\"\"\",z\n"), []byte("title\nk;v\n1;2\n"), []byte("a\tb\n1\t2\n"))
	fuzzParse(f, KindCSV, nil)
}

func FuzzParsePDF(f *testing.F) {
	addSeeds(f, buildPDF(f, pdfOptions{title: "T"}, pdfPage{lines: []string{"Hello", "World"}}, pdfPage{lines: []string{"p2"}}),
		buildPDF(f, pdfOptions{compress: true, widths: true}, pdfPage{raw: "BT /F1 10 Tf [(A)-300(B)] TJ 2 Tc (CD) Tj ET q 1 0 0 1 5 5 cm Q Q"}),
		buildPDF(f, pdfOptions{encrypt: true}, pdfPage{lines: []string{"x"}}),
		buildPDF(f, pdfOptions{encoding: "Identity-H", toUnicode: "1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar <01> <0048> endbfchar 1 beginbfrange <02> <04> [<0041> <D83DDE00> <>] endbfrange"},
			pdfPage{raw: "BT /F1 12 Tf <01020304> Tj ET"}),
		// Bare content streams exercise the layout interpreter directly.
		[]byte("BT /F1 12 Tf 14 TL 72 720 Td (a) Tj T* (b) ' 1 2 (c) \" [(d) -500 (e)] TJ ET"),
		[]byte("q 0 1 -1 0 500 0 cm BT /F1 9 Tf 3 Tz 2 Ts 1 0 0 1 50 50 Tm (rotated) Tj ET Q /X1 Do"))
	fuzzParse(f, KindPDF, func(t *testing.T, data []byte) []byte {
		if bytes.HasPrefix(data, []byte("%PDF")) {
			return data
		}
		return buildPDF(t, pdfOptions{widths: true}, pdfPage{raw: string(data)})
	})
}

// The OOXML targets take either a whole file or, when the input is not a
// ZIP, the XML of the main part, which is placed into a valid package: the
// fuzzer mutates XML far more usefully than deflated bytes.
func fuzzOOXML(f *testing.F, kind Kind, base []byte, part string, xmlSeeds ...string) {
	f.Add(base)
	for _, x := range xmlSeeds {
		f.Add([]byte(x))
	}
	fuzzParse(f, kind, func(t *testing.T, data []byte) []byte {
		if bytes.HasPrefix(data, []byte("PK")) {
			return data
		}
		return replaceEntry(t, base, part, data)
	})
}

// replaceEntry returns a copy of the zip with one entry's content replaced.
func replaceEntry(t testing.TB, zipData []byte, name string, body []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == name {
			w.Write(body)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(w, rc)
		rc.Close()
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzParseDOCX(f *testing.F) {
	fuzzOOXML(f, KindDOCX, buildDOCX(f, "T", []testPara{{"Kop1", "H"}, {"", "body"}, {"MyHeading", "C"}}, [][]string{{"a", "b"}}),
		"word/document.xml",
		`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:pPr><w:pStyle w:val="Heading1"/><w:outlineLvl w:val="1"/></w:pPr><w:r><w:t>H</w:t><w:tab/><w:br/></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>n</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:tc></w:tr></w:tbl><w:p><w:r><w:txbxContent><w:p><w:r><w:t>box</w:t></w:r></w:p></w:txbxContent></w:r></w:p></w:body></w:document>`)
}

func FuzzParseXLSX(f *testing.F) {
	fuzzOOXML(f, KindXLSX, buildXLSX(f, "T", []string{"S", "T"}, map[string][][]any{"S": {{"a", "b"}, {1, 2.5}}, "T": {{"x"}}}),
		"xl/worksheets/sheet1.xml",
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="s"><v>0</v></c></row><row r="3"><c r="C3"><v>1.5</v></c></row></sheetData></worksheet>`)
}

func FuzzParsePPTX(f *testing.F) {
	fuzzOOXML(f, KindPPTX, buildPPTX(f, []slide{{title: "A", body: []string{"b"}, notes: "n", table: [][]string{{"1", "2"}}}, {body: []string{"c"}}}),
		"ppt/slides/slide1.xml",
		`<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:sp><p:nvSpPr><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>T</a:t></a:r><a:br/><a:fld type="slidenum"><a:t>1</a:t></a:fld></a:p></p:txBody></p:sp><a:tbl><a:tr><a:tc><a:txBody><a:p><a:r><a:t>c</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl></p:spTree></p:cSld></p:sld>`)
}

func FuzzDetect(f *testing.F) {
	for _, s := range [][]byte{
		[]byte("%PDF-1.4\n"), []byte("PK\x03\x04"), oleMagic, []byte("<!DOCTYPE html>"), []byte("plain"),
		buildZip(f, zipEntry{"[Content_Types].xml", `<Types><Override ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`}),
	} {
		for _, name := range []string{"a.txt", "a.pdf", "a.md", "", "a.csv"} {
			f.Add(s, name)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		k, err := DetectBytes(data, name)
		if err != nil {
			checkError(t, err)
			if k != "" {
				t.Fatalf("kind %q with error", k)
			}
			return
		}
		if !k.Valid() {
			t.Fatalf("invalid kind %q", k)
		}
	})
}

// FuzzChunks checks the chunker on arbitrary text: bounds hold and, with no
// headings to inline, the chunks without their overlaps cover the input
// exactly (ignoring whitespace).
func FuzzChunks(f *testing.F) {
	f.Add("Hello world. This is a test.\n\nSecond paragraph\x00Next section", 16, 4, 4, 32)
	f.Add(strings.Repeat("日本語。", 40)+strings.Repeat("x", 300), 8, 2, 2, 8)
	f.Fuzz(func(t *testing.T, text string, target, overlap, minTok, maxTok int) {
		if !utf8.ValidString(text) {
			return
		}
		p := &Parsed{}
		for i, s := range strings.Split(text, "\x00") {
			p.Sections = append(p.Sections, Section{Page: i, Text: cleanText(s)})
		}
		opt := ChunkOptions{TargetTokens: target % 300, OverlapTokens: overlap % 100, MinTokens: minTok % 100, MaxTokens: maxTok % 600}
		chunks := checkChunks(t, p, opt)
		var got, want strings.Builder
		for _, c := range chunks {
			got.WriteString(c.Content[c.Overlap:])
		}
		for _, s := range p.Sections {
			want.WriteString(s.Text)
		}
		strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
		if strip(got.String()) != strip(want.String()) {
			t.Fatalf("coverage:\n got %q\nwant %q", strip(got.String()), strip(want.String()))
		}
	})
}

// FuzzParseWorker runs Detect and Parse through the worker process, parent
// and child, on any bytes: the parent must survive everything the child does
// (fatal errors included, which is why the inputs that kill an in-process
// parser are seeds here and nowhere else), return an *Error with a message
// for anything wrong with the file, and leave no worker behind.
func FuzzParseWorker(f *testing.F) {
	addFileSeeds := func(name string, seeds ...[]byte) {
		for _, s := range seeds {
			f.Add(s, name)
		}
	}
	addFileSeeds("a.pdf", ingesttest.SelfReferentialObjStm(), ingesttest.HugeXrefSize(), ingesttest.HugePredictorColumns(),
		buildPDF(f, pdfOptions{title: "T"}, pdfPage{lines: []string{"Hello"}}))
	addFileSeeds("a.md", ingesttest.EmphasisBomb(200_000), ingesttest.QuoteBomb(100_000), []byte("# A\n\ntext\n"))
	addFileSeeds("a.docx", buildDOCX(f, "T", []testPara{{"Heading1", "H"}, {"", "body"}}, nil))
	addFileSeeds("a.csv", []byte("a,b\n1,2\n"))
	lim := Limits{MaxUncompressed: 16 << 20, MaxTextBytes: 4 << 20, MaxCells: 100_000, MaxPages: 200, Timeout: 2 * time.Second, MaxMemory: 256 << 20}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		if len(data) == 0 {
			return
		}
		var w Worker
		_, p, err := w.Parse(context.Background(), tempFile(t, "doc", data), name, "", lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" {
				t.Fatalf("not an error about the file: %v", err)
			}
		} else {
			for i, s := range p.Sections {
				if s.Text == "" || !utf8.ValidString(s.Text) || !utf8.ValidString(s.Heading) {
					t.Fatalf("section %d: bad text %q heading %q", i, s.Text, s.Heading)
				}
			}
		}
		noWorkersLeft(t)
	})
}

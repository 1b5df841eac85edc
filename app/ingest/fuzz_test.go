package ingest

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

func fuzzParse(f *testing.F, kind Kind, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
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
	fuzzParse(f, KindTXT, []byte("hello\n\nworld"), []byte("\xef\xbb\xbfbom\r\n"))
}

func FuzzParseMD(f *testing.F) {
	fuzzParse(f, KindMD,
		[]byte("---\ntitle: T\n---\n# A\n\ntext\n\n## B\n\n```\n# code\n```\n\nSetext\n===\n"),
		[]byte("# \n#\n> # quoted\n- # item\n\n<div>\n# html\n</div>\n"))
}

func FuzzParseHTML(f *testing.F) {
	fuzzParse(f, KindHTML,
		[]byte(`<html><head><title>T</title></head><body><nav>x</nav><h1>A</h1><p>t<br>u</p><table><tr><td>1</td><td>2</td></tr></table><pre> x </pre></body></html>`),
		[]byte(`<meta charset="iso-8859-1"><h2>caf`+"\xe9"+`</h2><main><article><h3>x</h3></article></main>`))
}

func FuzzParseCSV(f *testing.F) {
	fuzzParse(f, KindCSV, []byte("a,b,c\n1,2,3\n\"x,y\",\"q\"\"\",z\n"), []byte("title\nk;v\n1;2\n"), []byte("a\tb\n1\t2\n"))
}

func FuzzParsePDF(f *testing.F) {
	fuzzParse(f, KindPDF,
		buildPDF(f, pdfOptions{title: "T"}, pdfPage{lines: []string{"Hello", "World"}}, pdfPage{lines: []string{"p2"}}),
		buildPDF(f, pdfOptions{compress: true, widths: true}, pdfPage{raw: "BT /F1 10 Tf [(A)-300(B)] TJ 2 Tc (CD) Tj ET q 1 0 0 1 5 5 cm Q Q"}),
		buildPDF(f, pdfOptions{encrypt: true}, pdfPage{lines: []string{"x"}}))
}

func FuzzParseDOCX(f *testing.F) {
	fuzzParse(f, KindDOCX, buildDOCX(f, "T", []testPara{{"Kop1", "H"}, {"", "body"}, {"MyHeading", "C"}}, [][]string{{"a", "b"}}))
}

func FuzzParseXLSX(f *testing.F) {
	fuzzParse(f, KindXLSX, buildXLSX(f, "T", []string{"S", "T"}, map[string][][]any{"S": {{"a", "b"}, {1, 2.5}}, "T": {{"x"}}}))
}

func FuzzParsePPTX(f *testing.F) {
	fuzzParse(f, KindPPTX, buildPPTX(f, []slide{{title: "A", body: []string{"b"}, notes: "n", table: [][]string{{"1", "2"}}}, {body: []string{"c"}}}))
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

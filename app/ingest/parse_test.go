package ingest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func parseBytes(kind Kind, b []byte, lim Limits) (*Parsed, error) {
	return Parse(context.Background(), kind, bytes.NewReader(b), int64(len(b)), lim)
}

type wantSection struct {
	heading  string
	page     int
	contains []string
}

func TestParseFormats(t *testing.T) {
	tests := []struct {
		name     string
		filename string
		data     []byte
		kind     Kind
		title    string
		sections []wantSection
		absent   []string // must appear in no section
	}{
		{
			name: "txt", filename: "notes.txt", kind: KindTXT,
			data:     []byte("\xef\xbb\xbfFirst paragraph\r\nstill first.\r\n\r\n\r\n\r\nSecond paragraph.\x07  \n"),
			sections: []wantSection{{contains: []string{"First paragraph\nstill first.\n\nSecond paragraph."}}},
			absent:   []string{"\ufeff", "\x07", "\r"},
		},
		{
			name: "markdown", filename: "guide.md", kind: KindMD, title: "Guide",
			data: []byte("---\ntitle: Guide\n---\nIntro text.\n\n# Install\n\nGet it.\n\n## Linux\n\nRun `apt install quire`.\n\n```sh\n# not a heading\necho hi\n```\n\nSetext Two\n----------\n\nUnder setext.\n\n# Use *it*\n\nEnjoy.\n"),
			sections: []wantSection{
				{heading: "", contains: []string{"Intro text."}},
				{heading: "Install", contains: []string{"Get it."}},
				{heading: "Install › Linux", contains: []string{"apt install quire", "# not a heading"}},
				{heading: "Install › Setext Two", contains: []string{"Under setext."}},
				{heading: "Use it", contains: []string{"Enjoy."}},
			},
			absent: []string{"title: Guide", "----------"},
		},
		{
			name: "html", filename: "page.html", kind: KindHTML, title: "The Page",
			data: []byte(`<!DOCTYPE html><html><head><title>The Page</title><style>body{color:red}</style></head>
<body><nav><a href="/">Home</a> | <a href="/x">Menu item</a></nav>
<main><h1>Welcome</h1><p>Hello   <b>world</b>,
 this is <i>text</i>.</p><script>var secret = 1;</script>
<h2>Details</h2><ul><li>one</li><li>two</li></ul>
<table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>30</td></tr></table>
<p hidden>invisible</p><div style="display: none">also invisible</div>
<pre>  keep
    spacing</pre></main><footer>Copyright</footer></body></html>`),
			sections: []wantSection{
				{heading: "Welcome", contains: []string{"Hello world, this is text."}},
				{heading: "Welcome › Details", contains: []string{"one\ntwo", "Name | Age\nAnn | 30", "  keep\n    spacing"}},
			},
			absent: []string{"secret", "Menu item", "invisible", "Copyright", "color:red"},
		},
		{
			name: "html legacy charset", filename: "old.htm", kind: KindHTML,
			data:     []byte("<html><head><meta charset=\"windows-1252\"></head><body><p>Caf\xe9 cr\xe8me</p></body></html>"),
			sections: []wantSection{{contains: []string{"Café crème"}}},
		},
		{
			name: "csv semicolon", filename: "people.csv", kind: KindCSV,
			data: []byte("Report 2024\nName;City;Age\nAlice;Paris;30\nBob;\"Ber;lin\";41\n"),
			sections: []wantSection{{contains: []string{
				"Report 2024\nName: Alice | City: Paris | Age: 30\nName: Bob | City: Ber;lin | Age: 41",
			}}},
		},
		{
			name: "csv tab headerless numbers", filename: "data.tsv", kind: KindCSV,
			data:     []byte("1\t2\t3\n4\t5\t6\n"),
			sections: []wantSection{{contains: []string{"1 | 2 | 3\n4 | 5 | 6"}}},
		},
		{
			name: "docx", filename: "report.docx", kind: KindDOCX, title: "Quarterly Report",
			data: buildDOCX(t, "Quarterly Report", []testPara{
				{"Titel", "The Report Title"},
				{"", "Preface text."},
				{"Kop1", "Install"},
				{"", "Install body.\nSecond line."},
				{"Kop2", "Linux"},
				{"", "Linux body."},
				{"MyHeading", "Custom"},
				{"", "Custom body."},
				{"Kop1", "Usage"},
				{"", "Usage body."},
			}, [][]string{{"Key", "Value"}, {"a", "1"}}),
			sections: []wantSection{
				{heading: "", contains: []string{"The Report Title", "Preface text."}},
				{heading: "Install", contains: []string{"Install body.\nSecond line."}},
				{heading: "Install › Linux", contains: []string{"Linux body."}},
				{heading: "Install › Custom", contains: []string{"Custom body."}},
				{heading: "Usage", contains: []string{"Usage body.", "Key | Value\na | 1"}},
			},
			absent: []string{"DELETED TEXT"},
		},
		{
			name: "xlsx", filename: "book.xlsx", kind: KindXLSX, title: "Budget",
			data: buildXLSX(t, "Budget", []string{"Costs", "People"}, map[string][][]any{
				"Costs":  {{"Item", "Amount", nil, "Note"}, {"Rent", 1200, nil, "monthly"}, {"Food", 300.5}},
				"People": {{"Name", "Role"}, {"Ann", "Lead"}},
			}),
			sections: []wantSection{
				{heading: "Costs", contains: []string{"Item: Rent | Amount: 1200 | Note: monthly\nItem: Food | Amount: 300.5"}},
				{heading: "People", contains: []string{"Name: Ann | Role: Lead"}},
			},
		},
		{
			name: "pptx", filename: "deck.pptx", kind: KindPPTX, title: "Kickoff",
			data: buildPPTX(t, []slide{
				{title: "Kickoff", body: []string{"Welcome everyone"}, notes: "Say hello."},
				{title: "Plan", body: []string{"Step one", "Step two"}, table: [][]string{{"Q1", "Build"}}},
				{body: []string{"Untitled slide text"}},
			}),
			sections: []wantSection{
				{heading: "Kickoff", page: 1, contains: []string{"Welcome everyone", "Notes: Say hello."}},
				{heading: "Plan", page: 2, contains: []string{"Step one\nStep two", "Q1 | Build"}},
				{heading: "", page: 3, contains: []string{"Untitled slide text"}},
			},
			absent: []string{"Slide Image"},
		},
		{
			name: "pdf", filename: "paper.pdf", kind: KindPDF, title: "Test Paper",
			data: buildPDF(t, pdfOptions{title: "Test Paper", compress: true},
				pdfPage{lines: []string{"Page one, line one.", "Line two (with parens)."}},
				pdfPage{lines: []string{"Second page text."}},
				pdfPage{raw: "BT /F1 10 Tf 72 700 Td [(Kerned)-333(words)-250(and)-400(W)80(orld)] TJ ET\n" +
					"BT /F1 10 Tf 72 600 Td (A) Tj 30 0 Td (gap) Tj ET\n" +
					"q 1 0 0 1 0 0 cm BT /F1 10 Tf 1 0 0 1 72 500 Tm (hyphen-) Tj 0 -12 Td (ated word) Tj ET Q\n" +
					"Q Q Q BT /F1 10 Tf 72 300 Td (After stray Q.) Tj ET"},
			),
			sections: []wantSection{
				{page: 1, contains: []string{"Page one, line one.\nLine two (with parens)."}},
				{page: 2, contains: []string{"Second page text."}},
				{page: 3, contains: []string{"Kerned words and World", "A gap", "hyphenated word", "After stray Q."}},
			},
		},
		{
			name: "pdf 2.0 header with widths", filename: "v2.pdf", kind: KindPDF,
			data:     buildPDF(t, pdfOptions{header: "%PDF-2.0", widths: true}, pdfPage{lines: []string{"Version two."}}),
			sections: []wantSection{{page: 1, contains: []string{"Version two."}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, err := DetectBytes(tt.data, tt.filename)
			if err != nil || kind != tt.kind {
				t.Fatalf("Detect = %q, %v; want %q", kind, err, tt.kind)
			}
			p, err := parseBytes(tt.kind, tt.data, Limits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Title != tt.title {
				t.Errorf("Title = %q, want %q", p.Title, tt.title)
			}
			if len(p.Sections) != len(tt.sections) {
				t.Fatalf("got %d sections, want %d: %#v", len(p.Sections), len(tt.sections), p.Sections)
			}
			for i, want := range tt.sections {
				got := p.Sections[i]
				if got.Heading != want.heading || got.Page != want.page {
					t.Errorf("section %d: heading %q page %d, want %q page %d", i, got.Heading, got.Page, want.heading, want.page)
				}
				for _, s := range want.contains {
					if !strings.Contains(got.Text, s) {
						t.Errorf("section %d (%q) lacks %q; text:\n%s", i, got.Heading, s, got.Text)
					}
				}
			}
			for _, s := range tt.absent {
				for i, sec := range p.Sections {
					if strings.Contains(sec.Text, s) || strings.Contains(sec.Heading, s) {
						t.Errorf("section %d contains %q:\n%s", i, s, sec.Text)
					}
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		data  []byte
		lim   Limits
		class error
		msg   string // substring of the message
	}{
		{"pdf without text", KindPDF, buildPDF(t, pdfOptions{}, pdfPage{raw: "0 0 m 100 100 l S"}), Limits{}, ErrNoText, "scanned images need OCR"},
		{"encrypted pdf", KindPDF, buildPDF(t, pdfOptions{encrypt: true}, pdfPage{lines: []string{"secret"}}), Limits{}, ErrEncrypted, "password"},
		{"truncated pdf", KindPDF, buildPDF(t, pdfOptions{}, pdfPage{lines: []string{"x"}})[:200], Limits{}, ErrDamaged, "damaged"},
		{"too many pdf pages", KindPDF, buildPDF(t, pdfOptions{}, pdfPage{lines: []string{"a"}}, pdfPage{lines: []string{"b"}}, pdfPage{lines: []string{"c"}}), Limits{MaxPages: 2}, ErrTooLarge, "more than 2 pages"},
		{"encrypted office file", KindDOCX, append(append([]byte{}, oleMagic...), make([]byte, 600)...), Limits{}, ErrEncrypted, "password"},
		{"docx not a zip", KindDOCX, []byte("hello"), Limits{}, ErrDamaged, "Word document is damaged"},
		{"empty text", KindTXT, []byte(" \n\t\n"), Limits{}, ErrNoText, "contains no text"},
		{"text too large", KindTXT, bytes.Repeat([]byte("word "), 1000), Limits{MaxTextBytes: 100}, ErrTooLarge, "more than 100 bytes"},
		{"too many cells", KindCSV, bytes.Repeat([]byte("a,b,c\n"), 100), Limits{MaxCells: 50}, ErrTooLarge, "more than 50 cells"},
		{"too many slides", KindPPTX, buildPPTX(t, []slide{{title: "a"}, {title: "b"}}), Limits{MaxPages: 1}, ErrTooLarge, "more than 1 slides"},
		{"xlsx cells", KindXLSX, buildXLSX(t, "", []string{"S"}, map[string][][]any{"S": {{"a", "b"}, {1, 2}, {3, 4}}}), Limits{MaxCells: 4}, ErrTooLarge, "more than 4 cells"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBytes(tt.kind, tt.data, tt.lim)
			if !errors.Is(err, tt.class) {
				t.Fatalf("err = %v, want class %v", err, tt.class)
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Error(), tt.msg) {
				t.Fatalf("message %q lacks %q", err, tt.msg)
			}
			t.Log(err)
		})
	}
}

func TestZipBomb(t *testing.T) {
	// document.xml inflates to 64 MB from ~64 KB; the limit is 8 MB.
	bomb := "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>" +
		strings.Repeat(" ", 64<<20) + "</w:t></w:r></w:p></w:body></w:document>"
	honest := buildZip(t, zipEntry{"[Content_Types].xml", `<Types/>`}, zipEntry{"word/document.xml", bomb})
	bomb = "" // let it be collected

	t.Run("declared size", func(t *testing.T) {
		start := time.Now()
		_, err := parseBytes(KindDOCX, honest, Limits{MaxUncompressed: 8 << 20, MaxRatio: 1 << 30})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "expand to more than 8 MB") {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("ratio", func(t *testing.T) {
		_, err := parseBytes(KindDOCX, honest, Limits{})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "zip bomb") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("lying header", func(t *testing.T) {
		// Rewrite the declared uncompressed size to 100 bytes: archive/zip
		// must stop reading at the declared size instead of inflating 64 MB.
		lying := lieAboutSizes(t, honest, 100)
		start := time.Now()
		_, err := parseBytes(KindDOCX, lying, Limits{})
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("err = %v", err)
		}
		t.Log(err)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

// lieAboutSizes copies a zip, declaring every entry's uncompressed size as n.
func lieAboutSizes(t *testing.T, data []byte, n uint64) []byte {
	t.Helper()
	zr, err := zipReader(data)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := newZipWriter(&buf)
	for _, f := range zr.File {
		raw, err := f.OpenRaw()
		if err != nil {
			t.Fatal(err)
		}
		h := f.FileHeader
		h.UncompressedSize64 = n
		w, err := zw.CreateRaw(&h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := copyAll(w, raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTimeoutAndPanic(t *testing.T) {
	const slow, panicky Kind = "test-slow", "test-panic"
	parsers[slow] = func(ctx context.Context, _ ioReaderAt, _ int64, _ Limits) (*Parsed, error) {
		time.Sleep(3 * time.Second) // a runaway parser that ignores ctx
		return nil, nil
	}
	parsers[panicky] = func(context.Context, ioReaderAt, int64, Limits) (*Parsed, error) {
		var m map[string]int
		m["x"]++ // nil map write
		return nil, nil
	}
	t.Cleanup(func() { delete(parsers, slow); delete(parsers, panicky) })

	start := time.Now()
	_, err := parseBytes(slow, nil, Limits{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "longer than 50ms") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Parse returned after %v", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Parse(ctx, KindTXT, bytes.NewReader([]byte("x")), 1, Limits{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}

	_, err = parseBytes(panicky, nil, Limits{})
	if !errors.Is(err, ErrDamaged) || strings.Contains(err.Error(), "goroutine") {
		t.Fatalf("panic: err = %v", err)
	}

	// A real parser honours the deadline too.
	big := bytes.Repeat([]byte("alpha,beta,gamma,delta\n"), 200_000)
	if _, err := parseBytes(KindCSV, big, Limits{Timeout: time.Millisecond}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("csv: err = %v", err)
	}
}

// TestParseRealPDFs checks output from real producers (see testdata/README.md).
func TestParseRealPDFs(t *testing.T) {
	tests := []struct {
		file  string
		title string
		pages map[int][]string // page → phrases (compared with whitespace collapsed)
	}{
		{"testdata/chromium.pdf", "Chromium Test", map[int][]string{
			1: {"Introduction The quick brown fox jumps over the lazy dog. This is the first paragraph of the test document",
				"Second paragraph with bold, italic and kerning AVAWAY To. Ünïcödé: café, naïve."},
			2: {"Page Two Hello from the second page."},
		}},
		{"testdata/groff.pdf", "", map[int][]string{
			1: {"quire - chat with your team’s documents",
				"Answers cite the pages and sections they come from, so that every statement can be checked against its source without guesswork or hallucinated references.",
				"--data-dir=PATH where the database", "--listen=ADDRESS"},
			2: {"SEE ALSO The administrator’s guide explains backups, upgrades and the supported file formats in considerable detail."},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			p, err := parseBytes(KindPDF, data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Title != tt.title {
				t.Errorf("title %q", p.Title)
			}
			if len(p.Sections) != len(tt.pages) {
				t.Fatalf("%d sections", len(p.Sections))
			}
			for _, s := range p.Sections {
				text := strings.Join(strings.Fields(s.Text), " ")
				for _, want := range tt.pages[s.Page] {
					if !strings.Contains(text, want) {
						t.Errorf("page %d lacks %q:\n%s", s.Page, want, text)
					}
				}
			}
		})
	}
}

// TestPDFContentStreams covers malformed content streams; several of these
// made pdf.Interpret loop forever (found by FuzzParsePDF).
func TestPDFContentStreams(t *testing.T) {
	const bt = "BT /F1 10 Tf 72 700 Td "
	tests := []struct{ content, want string }{
		{bt + "(before) Tj ET 0<0", "before"},
		{bt + "(before) Tj ET <", "before"},
		{bt + "(before) Tj ET [<", "before"},
		{bt + "(before) Tj ET <<<", "before"},
		{bt + "(unterminated", ""},
		{bt + "<48656C6C6F> Tj <576f726c6 4> Tj ET", "HelloWorld"},
		{bt + "(esc\\(aped\\) \\101\\102 line\\\ncontinued) Tj ET", "esc(aped) AB linecontinued"},
		{bt + "(a) Tj ET BI /W 4 /H 1 /BPC 8 /CS /G ID \x00(<[EI\xff EI\nBT /F1 10 Tf 72 600 Td (after image) Tj ET", "a after image"},
		{bt + "(a) Tj ET BI /W 4 ID <<<<(((", "a"},
		{bt + "[(x) 1e400 (y) -Inf (z)] TJ /Name#20x 1 2 3 4 5 6 7 8 9 Tf (w) Tj ET", "xyzw"},
		{bt + "% comment (not text)\n(shown) Tj ET", "shown"},
		{strings.Repeat("[", 10000) + bt + "(deep) Tj ET", ""},
		{strings.Repeat("q ", 10000) + bt + "(many q) Tj ET" + strings.Repeat(" Q", 20000), "many q"},
	}
	for _, tt := range tests {
		start := time.Now()
		p, err := parseBytes(KindPDF, buildPDF(t, pdfOptions{}, pdfPage{raw: tt.content}), Limits{Timeout: 5 * time.Second})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%q took %v", tt.content, d)
		}
		got := ""
		if err == nil {
			got = strings.Join(strings.Fields(p.Sections[0].Text), " ")
		} else if !errors.Is(err, ErrNoText) {
			t.Errorf("%q: %v", tt.content, err)
		}
		if got != tt.want {
			t.Errorf("%.40q: got %q, want %q", tt.content, got, tt.want)
		}
	}
}

// TestRunawayParserStops: a PDF whose xref /Prev points at itself sends the
// PDF library into an endless loop. Parse must give up at the deadline, and
// the abandoned goroutine must stop too, because its reads start failing.
func TestRunawayParserStops(t *testing.T) {
	pdf := buildPDF(t, pdfOptions{}, pdfPage{lines: []string{"x"}})
	i := bytes.LastIndex(pdf, []byte("startxref\n"))
	xref := strings.TrimSpace(string(pdf[i+len("startxref\n"):]))
	xref = strings.TrimSuffix(xref, "%%EOF")
	cyclic := bytes.Replace(pdf, []byte("trailer\n<< "), []byte("trailer\n<< /Prev "+strings.TrimSpace(xref)+" "), 1)

	before := runtime.NumGoroutine()
	start := time.Now()
	_, err := parseBytes(KindPDF, cyclic, Limits{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines still running, %d before", n, before)
	}
}

func TestPDFToUnicode(t *testing.T) {
	const cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"1 begincodespacerange <00> <FF> endcodespacerange\n" +
		"2 beginbfchar <01> <0048> <02> <0069> endbfchar\n" +
		"2 beginbfrange <03> <05> <0041> <06> <07> [<00E9> <D83DDE00>] endbfrange\n" +
		"endcmap CMapName currentdict /CMap defineresource pop end end"
	page := pdfPage{raw: "BT /F1 12 Tf 72 700 Td <0102> Tj 0 -20 Td <030405060709> Tj ET"}
	plain := pdfPage{raw: "BT /F1 12 Tf 72 700 Td <4869> Tj ET"}
	tests := []struct {
		name, cmap, encoding string
		page                 pdfPage
		want                 string
	}{
		{"cmap", cmap, "", page, "Hi\nABCé😀"},
		{"cmap with Identity-H", cmap, "Identity-H", page, "Hi\nABCé😀"},
		// A CMap that ends inside a hex string hung the PDF library.
		{"truncated cmap, simple encoding", "1 beginbfchar <01> <0048", "", plain, "Hi"},
		{"truncated cmap, Identity-H", "1 beginbfchar <01> <0048", "Identity-H", plain, "Hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := buildPDF(t, pdfOptions{toUnicode: tt.cmap, encoding: tt.encoding}, tt.page)
			p, err := parseBytes(KindPDF, data, Limits{Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Sections[0].Text; got != cleanText(tt.want) {
				t.Fatalf("got %q, want %q", got, cleanText(tt.want))
			}
		})
	}
}

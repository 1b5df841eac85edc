package ingest

import (
	"errors"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	docx := buildDOCX(t, "", []testPara{{"", "hi"}}, nil)
	xlsx := buildXLSX(t, "", []string{"S"}, map[string][][]any{"S": {{"a"}}})
	pptx := buildPPTX(t, []slide{{title: "t"}})
	pdf := buildPDF(t, pdfOptions{}, pdfPage{lines: []string{"x"}})
	utf16 := func(s string) []byte {
		out := []byte{0xFF, 0xFE}
		for _, c := range []byte(s) {
			out = append(out, c, 0)
		}
		return out
	}
	ole := func(stream string) []byte {
		b := append([]byte{}, oleMagic...)
		b = append(b, make([]byte, 504)...)
		return append(b, utf16(stream)[2:]...)
	}
	// A docx whose main part is only findable through [Content_Types].xml.
	oddDocx := buildZip(t,
		zipEntry{"[Content_Types].xml", `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/main.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>`},
		zipEntry{"word/main.xml", "<x/>"})

	tests := []struct {
		name, filename string
		data           []byte
		want           Kind
		class          error  // when an error is expected
		msg            string // substring of the error message
	}{
		{"pdf", "a.pdf", pdf, KindPDF, nil, ""},
		{"pdf named txt", "a.txt", pdf, KindPDF, nil, ""},
		{"pdf after junk", "a", append([]byte("junk\n"), pdf...), KindPDF, nil, ""},
		{"docx", "a.docx", docx, KindDOCX, nil, ""},
		{"docx named pdf", "a.pdf", docx, KindDOCX, nil, ""},
		{"docm via content types", "a.docm", oddDocx, KindDOCX, nil, ""},
		{"xlsx", "a.xlsx", xlsx, KindXLSX, nil, ""},
		{"pptx no name", "", pptx, KindPPTX, nil, ""},
		{"html by content", "page", []byte("<!DOCTYPE html><html><body>hi</body></html>"), KindHTML, nil, ""},
		{"html by content, txt name", "a.txt", []byte("  <html><p>hi</p></html>"), KindHTML, nil, ""},
		{"html by extension", "a.htm", []byte("<section>hi</section>"), KindHTML, nil, ""},
		{"markdown starting with html", "README.md", []byte("<div>hi</div>\n# Title\n"), KindMD, nil, ""},
		{"markdown", "notes.MARKDOWN", []byte("# Title\n\ntext"), KindMD, nil, ""},
		{"csv", "data.csv", []byte("a,b\n1,2\n"), KindCSV, nil, ""},
		{"tsv", "data.tsv", []byte("a\tb\n"), KindCSV, nil, ""},
		{"txt", "notes.txt", []byte("héllo wörld ✓"), KindTXT, nil, ""},
		{"no extension", "README", []byte("plain"), KindTXT, nil, ""},
		{"windows path", `C:\docs\notes.md`, []byte("# x"), KindMD, nil, ""},

		{"empty", "a.txt", nil, "", ErrNoText, "empty"},
		{"text mentioning the pdf magic", "a.txt", []byte("PDF files start with %PDF-1.7 on the first line."), KindTXT, nil, ""},
		{"text named pdf", "a.pdf", []byte("just text"), "", ErrUnsupported, "named .pdf but its content is not a PDF"},
		{"text named docx", "a.docx", []byte("just text"), "", ErrUnsupported, "not a Word document"},
		{"json", "a.json", []byte(`{"a":1}`), "", ErrUnsupported, ".json files are not supported"},
		{"invalid utf-8 txt", "a.txt", []byte("caf\xe9 latin-1"), "", ErrUnsupported, "not UTF-8"},
		{"utf-16", "a.txt", utf16("hello"), "", ErrUnsupported, "UTF-16"},
		{"png", "a.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "", ErrUnsupported, "PNG images are not supported"},
		{"png named txt", "a.txt", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "", ErrUnsupported, "not UTF-8"},
		{"exe", "setup.exe", append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 64)...), "", ErrUnsupported, "not supported"},
		{"elf named pdf", "a.pdf", []byte("\x7fELF\x02\x01\x01\x00\x00\x00"), "", ErrUnsupported, "not supported"},
		{"plain zip", "a.zip", buildZip(t, zipEntry{"a.txt", "hi"}), "", ErrUnsupported, "ZIP archives are not supported"},
		{"zip named docx", "a.docx", buildZip(t, zipEntry{"a.txt", "hi"}), "", ErrUnsupported, "ZIP archives"},
		{"odt", "a.odt", buildZip(t, zipEntry{"mimetype", "application/vnd.oasis.opendocument.text"}, zipEntry{"content.xml", "<x/>"}), "", ErrUnsupported, "OpenDocument"},
		{"broken zip", "a.docx", []byte("PK\x03\x04garbage"), "", ErrDamaged, "damaged"},
		{"encrypted office", "a.docx", ole("EncryptedPackage"), "", ErrEncrypted, "password"},
		{"legacy doc", "a.doc", ole("WordDocument"), "", ErrUnsupported, ".doc"},
		{"legacy xls", "a.xls", ole("Workbook"), "", ErrUnsupported, ".xls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DetectBytes(tt.data, tt.filename)
			if tt.class == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Detect = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if got != "" || !errors.Is(err, tt.class) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Detect = %q, %v; want class %v with %q", got, err, tt.class, tt.msg)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	for _, k := range Kinds() {
		if !k.Valid() || k.MIME() == "" || !strings.HasPrefix(k.Ext(), ".") || parsers[k] == nil {
			t.Errorf("kind %q incomplete", k)
		}
	}
	if Kind("exe").Valid() {
		t.Error("exe is valid")
	}
	if KindPDF.MIME() != "application/pdf" || KindCSV.MIME() != "text/csv; charset=utf-8" {
		t.Error("wrong MIME")
	}
}

func TestHumanFormats(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1000000: "1,000,000", -12345: "-12,345"} {
		if got := humanInt(in); got != want {
			t.Errorf("humanInt(%d) = %q", in, got)
		}
	}
}

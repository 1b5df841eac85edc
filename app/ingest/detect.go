package ingest

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"
)

// sniffLen is how much of the file Detect reads for magic bytes and the
// text check; large enough that a stray invalid byte in a text file is
// likely to be seen, small enough to be instant.
const sniffLen = 64 << 10

// Detect decides the Kind of a stored upload from its content. The file name
// is used only to choose between text formats (txt, md, csv, html) once the
// bytes are known to be text; binary formats are recognised by their magic
// bytes and, for ZIP containers, by the parts inside. It takes an
// io.ReaderAt rather than a header because telling DOCX, XLSX and PPTX apart
// needs the ZIP central directory at the end of the file (*os.File and
// multipart.File both qualify).
//
// Errors are *Error values; unknown or mismatched content wraps
// ErrUnsupported, an empty file ErrNoText, password-protected Office files
// ErrEncrypted and a broken ZIP ErrDamaged.
func Detect(r io.ReaderAt, size int64, filename string) (Kind, error) {
	if size <= 0 {
		return "", newError(ErrNoText, nil, "the file is empty")
	}
	head := make([]byte, min(size, sniffLen))
	n, err := r.ReadAt(head, 0)
	if n < len(head) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return "", newError(ErrDamaged, err, "the file could not be read")
	}
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(filename, `\`, "/")))

	switch {
	case pdfHeaderOffset(head) >= 0:
		return KindPDF, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return detectZip(r, size)
	case bytes.HasPrefix(head, oleMagic):
		return "", detectOLE(r, size)
	}

	sniffed := http.DetectContentType(head)
	if strings.HasPrefix(sniffed, "text/html") && !markdownExt[ext] {
		// HTML is recognised by content and may use a legacy charset: the
		// parser honours <meta charset>, so no UTF-8 check here.
		return KindHTML, nil
	}
	if !isText(head, int64(len(head)) == size) {
		switch {
		case bytes.HasPrefix(head, []byte("\xff\xfe")) || bytes.HasPrefix(head, []byte("\xfe\xff")):
			return "", unsupported("the text is UTF-16 encoded; save it as UTF-8 and upload it again")
		case textExt[ext] != "":
			return "", unsupported("the file is named %s but is not UTF-8 text; save it as UTF-8 and upload it again", ext)
		}
		mime, _, _ := strings.Cut(sniffed, ";")
		if mime == "application/octet-stream" {
			return "", unsupported("this type of file is not supported; upload %s", supported)
		}
		return "", unsupported("%s are not supported; upload %s", typeName(mime), supported)
	}
	if k := textExt[ext]; k != "" {
		return k, nil
	}
	if binaryExt[ext] != "" {
		return "", unsupported("the file is named %s but its content is not a %s", ext, binaryExt[ext])
	}
	return "", unsupported("%s files are not supported; upload %s", ext, supported)
}

// supported is the one list of what can be uploaded, named by refusals of
// other types (and only by them: the caller adds no list of its own).
const supported = "PDF, Word (.docx), PowerPoint (.pptx), Excel (.xlsx), CSV, Markdown, HTML or plain text files"

// typeName names a sniffed MIME type the way people call such files:
// image/png → "PNG images", audio/mpeg → "audio files".
func typeName(mime string) string {
	major, minor, _ := strings.Cut(mime, "/")
	switch major {
	case "image":
		minor = strings.TrimPrefix(strings.TrimSuffix(minor, "+xml"), "x-")
		return strings.ToUpper(minor) + " images"
	case "audio", "video":
		return major + " files"
	}
	return "files of type " + mime
}

// DetectBytes is Detect for content already in memory.
func DetectBytes(b []byte, filename string) (Kind, error) {
	return Detect(bytes.NewReader(b), int64(len(b)), filename)
}

var markdownExt = map[string]bool{".md": true, ".markdown": true, ".mdown": true, ".mkd": true}

// textExt maps the extensions trusted for content that is already known to
// be text. No extension counts as plain text.
var textExt = map[string]Kind{
	"": KindTXT, ".txt": KindTXT, ".text": KindTXT, ".log": KindTXT,
	".md": KindMD, ".markdown": KindMD, ".mdown": KindMD, ".mkd": KindMD,
	".csv": KindCSV, ".tsv": KindCSV,
	".html": KindHTML, ".htm": KindHTML, ".xhtml": KindHTML,
}

// binaryExt names formats whose extension on text bytes is a mismatch.
var binaryExt = map[string]string{
	".pdf": "PDF", ".docx": "Word document", ".xlsx": "spreadsheet", ".pptx": "presentation",
	".doc": "Word document", ".xls": "spreadsheet", ".ppt": "presentation",
}

// pdfHeaderOffset finds "%PDF-<digit>" at the start of a line in the first
// KB, where readers accept it (some files carry junk before the header).
// Requiring a line start keeps a text file that merely mentions "%PDF-"
// from being taken for a PDF.
func pdfHeaderOffset(head []byte) int {
	head = head[:min(len(head), 1024)]
	for off := 0; ; {
		i := bytes.Index(head[off:], []byte("%PDF-"))
		if i < 0 {
			return -1
		}
		i += off
		lineStart := i == 0 || head[i-1] == '\n' || head[i-1] == '\r'
		if lineStart && i+5 < len(head) && head[i+5] >= '0' && head[i+5] <= '9' {
			return i
		}
		off = i + 1
	}
}

// isText reports whether b looks like UTF-8 text: valid UTF-8 (a rune cut off
// at the end of a partial read is fine), no NUL bytes and almost no other
// control characters.
func isText(b []byte, complete bool) bool {
	if !complete {
		// Drop a rune that may have been cut by the read boundary.
		for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
			if r, _ := utf8.DecodeLastRune(b); r != utf8.RuneError {
				break
			}
			b = b[:len(b)-1]
		}
	}
	if !utf8.Valid(b) {
		return false
	}
	ctrl := 0
	for _, c := range b {
		switch {
		case c == 0:
			return false
		case c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f':
			ctrl++
		}
	}
	return ctrl <= 2 || ctrl*100 <= len(b) // tolerate the odd escape code in logs
}

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// detectOLE explains Compound File (OLE) uploads: Office encrypts DOCX, XLSX
// and PPTX into one with an "EncryptedPackage" stream, and legacy
// .doc/.xls/.ppt files use the format too. Stream names are stored in
// UTF-16LE in the directory, so a bounded byte scan finds them without a
// full CFB parser.
func detectOLE(r io.ReaderAt, size int64) error {
	names := map[string]error{
		"EncryptedPackage":    encrypted(nil),
		"WordDocument":        unsupported("old Word documents (.doc) are not supported; save it as .docx and upload it again"),
		"Workbook":            unsupported("old Excel workbooks (.xls) are not supported; save it as .xlsx and upload it again"),
		"PowerPoint Document": unsupported("old PowerPoint files (.ppt) are not supported; save it as .pptx and upload it again"),
	}
	order := []string{"EncryptedPackage", "WordDocument", "Workbook", "PowerPoint Document"}
	found, err := scanUTF16(r, size, order)
	if err == nil && found != "" {
		return names[found]
	}
	return unsupported("this Microsoft Office compound file is not supported; save it as .docx, .xlsx or .pptx and upload it again")
}

// scanUTF16 returns the first of names (in order of preference) present in
// r as UTF-16LE, reading at most 64 MB.
func scanUTF16(r io.ReaderAt, size int64, names []string) (string, error) {
	pats := make([][]byte, len(names))
	maxLen := 0
	for i, n := range names {
		for _, c := range []byte(n) {
			pats[i] = append(pats[i], c, 0)
		}
		maxLen = max(maxLen, len(pats[i]))
	}
	seen := make([]bool, len(names))
	const block = 1 << 20
	buf := make([]byte, block+maxLen)
	limit := min(size, 64<<20)
	for off := int64(0); off < limit; off += block {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		for i, p := range pats {
			if bytes.Contains(buf[:n], p) {
				seen[i] = true
			}
		}
	}
	for i, ok := range seen {
		if ok {
			return names[i], nil
		}
	}
	return "", nil
}

// detectZip tells DOCX, XLSX and PPTX apart by the content type of the main
// part declared in [Content_Types].xml, falling back to the well-known main
// part names. Any other ZIP (plain archives, OpenDocument, EPUB) is
// unsupported.
func detectZip(r io.ReaderAt, size int64) (Kind, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return "", newError(ErrDamaged, err, "the file looks like an Office document or ZIP archive but is damaged (%v)", err)
	}
	if len(zr.File) > DefaultLimits().MaxEntries {
		return "", tooLarge("the archive has more than %s entries", humanInt(int64(DefaultLimits().MaxEntries)))
	}
	parts := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		parts[strings.ToLower(strings.TrimPrefix(f.Name, "/"))] = f
	}
	if f := parts["[content_types].xml"]; f != nil {
		if k := kindFromContentTypes(f); k != "" {
			return k, nil
		}
	}
	switch {
	case parts["word/document.xml"] != nil:
		return KindDOCX, nil
	case parts["xl/workbook.xml"] != nil:
		return KindXLSX, nil
	case parts["ppt/presentation.xml"] != nil:
		return KindPPTX, nil
	case parts["mimetype"] != nil && parts["content.xml"] != nil:
		return "", unsupported("OpenDocument files (.odt, .ods, .odp) are not supported; save it as .docx, .xlsx or .pptx and upload it again")
	}
	return "", unsupported("ZIP archives are not supported; upload the documents inside it instead")
}

// kindFromContentTypes reads at most 1 MB of [Content_Types].xml and maps the
// main document part's content type (including templates and macro-enabled
// variants, whose text is read the same way) to a Kind.
func kindFromContentTypes(f *zip.File) Kind {
	rc, err := f.Open()
	if err != nil {
		return ""
	}
	defer rc.Close()
	dec := xml.NewDecoder(io.LimitReader(rc, 1<<20))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Override" {
			continue
		}
		ct := strings.ToLower(attr(se, "ContentType"))
		if !strings.HasSuffix(ct, ".main+xml") {
			continue
		}
		switch {
		case strings.Contains(ct, "wordprocessingml") || strings.Contains(ct, "ms-word"):
			return KindDOCX
		case strings.Contains(ct, "spreadsheetml") || strings.Contains(ct, "ms-excel"):
			return KindXLSX
		case strings.Contains(ct, "presentationml") || strings.Contains(ct, "ms-powerpoint"):
			return KindPPTX
		}
	}
}

// attr returns the value of the attribute with the given local name.
func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

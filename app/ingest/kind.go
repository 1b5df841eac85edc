package ingest

import "fmt"

// Kind is a supported document format. Its value is a short, stable name that
// is safe to store in the database.
type Kind string

// Supported kinds.
const (
	KindTXT  Kind = "txt"
	KindMD   Kind = "md"
	KindHTML Kind = "html"
	KindPDF  Kind = "pdf"
	KindDOCX Kind = "docx"
	KindCSV  Kind = "csv"
	KindXLSX Kind = "xlsx"
	KindPPTX Kind = "pptx"
)

// Kinds lists every supported kind in a stable order.
func Kinds() []Kind {
	return []Kind{KindTXT, KindMD, KindHTML, KindPDF, KindDOCX, KindCSV, KindXLSX, KindPPTX}
}

var kindInfo = map[Kind]struct{ mime, ext, label, name string }{
	KindTXT:  {"text/plain; charset=utf-8", ".txt", "text file", "Plain text"},
	KindMD:   {"text/markdown; charset=utf-8", ".md", "Markdown file", "Markdown"},
	KindHTML: {"text/html; charset=utf-8", ".html", "HTML page", "Web page (HTML)"},
	KindPDF:  {"application/pdf", ".pdf", "PDF", "PDF"},
	KindDOCX: {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx", "Word document", "Word document"},
	KindCSV:  {"text/csv; charset=utf-8", ".csv", "CSV file", "CSV table"},
	KindXLSX: {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", "spreadsheet", "Excel spreadsheet"},
	KindPPTX: {"application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx", "presentation", "PowerPoint presentation"},
}

// Name is how a page names the kind to people ("PowerPoint presentation"),
// where its MIME type would be jargon (and too long for a phone's width).
func (k Kind) Name() string { return kindInfo[k].name }

// Valid reports whether k is one of the supported kinds.
func (k Kind) Valid() bool { _, ok := kindInfo[k]; return ok }

// MIME returns the canonical MIME type to serve the original file with.
func (k Kind) MIME() string { return kindInfo[k].mime }

// Ext returns the canonical file extension, including the dot.
func (k Kind) Ext() string { return kindInfo[k].ext }

// label is how error messages name the kind ("the PDF", "the spreadsheet").
func (k Kind) label() string {
	if l := kindInfo[k].label; l != "" {
		return l
	}
	return "file"
}

func (k Kind) String() string { return string(k) }

// KindOfMIME is the kind whose MIME returns mime (as documents store it), or
// "" when there is none.
func KindOfMIME(mime string) Kind {
	for k, info := range kindInfo {
		if info.mime == mime {
			return k
		}
	}
	return ""
}

// Location names page n of a document of this kind the way a citation says
// it: "p. 2" in a PDF, "slide 3" in a presentation (Section.Page holds either).
// It is "" when n < 1 or the kind has no pages.
func (k Kind) Location(n int) string {
	if n < 1 {
		return ""
	}
	switch k {
	case KindPDF:
		return fmt.Sprintf("p. %d", n)
	case KindPPTX:
		return fmt.Sprintf("slide %d", n)
	}
	return ""
}

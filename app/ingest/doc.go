// Package ingest turns uploaded files into structured text and then into
// chunks ready for embedding.
//
// The pipeline is Detect → Parse → Chunks:
//
//   - Detect sniffs the bytes (never the client's name or MIME type alone)
//     and returns a Kind or an error wrapping ErrUnsupported.
//   - Parse extracts text while keeping structure (page numbers for PDF and
//     slides, headings for Markdown, HTML and DOCX, sheet names for XLSX). It
//     enforces Limits against zip bombs, huge documents and runaway parsers.
//   - Chunks splits the result into overlapping, structure-aware chunks of
//     roughly TargetTokens tokens.
//
// Every error returned by Detect and Parse is an *Error whose message is
// written for the person who uploaded the file; errors.Is reports its class
// (ErrUnsupported, ErrEncrypted, ErrTooLarge, ErrNoText, ErrDamaged,
// ErrTimeout).
//
// Third-party libraries (all pure Go, so CGO_ENABLED=0 keeps working):
//
//   - golang.org/x/net/html: the Go team's HTML5 parser, tolerant of real-world markup.
//   - github.com/yuin/goldmark: CommonMark-compliant and widely used; we only need its block structure.
//   - github.com/xuri/excelize/v2: the maintained Go XLSX library; formats cells (dates, numbers) like Excel and has unzip size limits.
//   - github.com/ledongthuc/pdf: maintained fork of rsc.io/pdf; we use its object reader and content-stream lexer and do text layout ourselves.
//
// DOCX and PPTX are read with archive/zip and encoding/xml: no well-kept
// pure-Go library extracts text with structure from them, and the parts we
// need (paragraphs, heading styles, slide order) are small.
package ingest

package ingest

import (
	"fmt"
	"strings"
	"testing"
)

// A short page 2 after a short page 1 must be cited as page 2: chunks are
// labelled by the page they start on, so merging small pages into one chunk
// cited every later page as the first.
func TestMultiPagePDFChunksKeepTheirPage(t *testing.T) {
	data := buildPDF(t, pdfOptions{title: "Pages"},
		pdfPage{lines: []string{"Alpha page introduces the onboarding checklist."}},
		pdfPage{lines: []string{"Bravo page explains the travel refund policy."}},
		pdfPage{lines: []string{"Charlie page lists the office opening hours."}},
	)
	p, err := parseBytes(KindPDF, data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	chunks := Chunks(p, ChunkOptions{})
	for word, page := range map[string]int{"Alpha": 1, "Bravo": 2, "Charlie": 3} {
		found := false
		for _, c := range chunks {
			if !strings.Contains(c.Content, word) {
				continue
			}
			found = true
			if c.Page != page {
				t.Errorf("%q is in a chunk of page %d, want %d", word, c.Page, page)
			}
			if got, want := KindPDF.Location(c.Page), fmt.Sprintf("p. %d", page); got != want {
				t.Errorf("%q is cited %q, want %q", word, got, want)
			}
		}
		if !found {
			t.Errorf("no chunk has %q", word)
		}
	}
}

// Slides are named slides, and an empty notes page (PowerPoint writes one for
// every slide) adds no "Notes:" line.
func TestSlidesAreSlidesWithoutEmptyNotes(t *testing.T) {
	data := buildPPTX(t, []slide{
		{title: "Welcome", body: []string{"Agenda for the kickoff"}, emptyNotes: true},
		{title: "Budget", body: []string{"Spending stays flat"}, notes: "Mention the audit."},
	})
	p, err := parseBytes(KindPPTX, data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	chunks := Chunks(p, ChunkOptions{})
	if len(chunks) != 2 {
		t.Fatalf("%d chunks for two slides: %#v", len(chunks), chunks)
	}
	for i, c := range chunks {
		if c.Page != i+1 || KindPPTX.Location(c.Page) != fmt.Sprintf("slide %d", i+1) {
			t.Errorf("chunk %d: page %d cited %q", i, c.Page, KindPPTX.Location(c.Page))
		}
	}
	if strings.Contains(chunks[0].Content, "Notes") {
		t.Errorf("an empty notes page left %q", chunks[0].Content)
	}
	if !strings.Contains(chunks[1].Content, "Notes: Mention the audit.") {
		t.Errorf("notes lost: %q", chunks[1].Content)
	}
	for _, k := range []Kind{KindTXT, KindMD, KindHTML, KindDOCX, KindCSV, KindXLSX} {
		if l := k.Location(1); l != "" {
			t.Errorf("%s has no pages but is cited %q", k, l)
		}
	}
	if KindPDF.Location(0) != "" || KindOfMIME(KindPPTX.MIME()) != KindPPTX || KindOfMIME("image/png") != "" {
		t.Error("Location(0) or KindOfMIME is wrong")
	}
}

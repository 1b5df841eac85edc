package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"quire/app/ingest/ingesttest"
)

// What documents say and how search answers, as a person sees it: a PDF's
// page 2 is "p. 2", slides are slides, a new row's size reads like the page,
// a PNG is refused in one sentence, exact words are a phrase, nonsense finds
// nothing and results say why they matched instead of showing raw scores.
// Every page is looked at at 1280 and 390 px, light and dark, with no console
// or CSP error.
func TestBrowserDocumentsPagesSlidesSearch(t *testing.T) {
	ctx := browser(t)
	problems := watchConsole(ctx, t)
	in, _, token := startWithOllama(t)
	var ws, kb struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", token, map[string]any{"name": "Handbook"}, &kb)

	dir := t.TempDir()
	var img bytes.Buffer
	png.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 4)))
	files := map[string][]byte{
		"handbook.pdf": ingesttest.PDF("Welcome to the company handbook.", "The travel refund policy covers trains and hotels.", "The office opens at nine."),
		"kickoff.pptx": ingesttest.PPTX(ingesttest.Slide{Title: "Kickoff", Body: "Agenda for the quarter"}, ingesttest.Slide{Title: "Budget", Body: "Spending on travel stays flat"}),
		"notes.txt":    []byte(strings.Repeat("n", 213) + "\n"),
		"scan.png":     img.Bytes(),
	}
	var paths []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		paths = append(paths, p)
	}

	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	var size, refusal string
	run(t, ctx, "upload",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/documents"),
		chromedp.SetValue(`#upload-kb`, kb.ID),
		chromedp.SetUploadFiles(`#file-input`, paths),
		chromedp.WaitVisible(`#uploads li.failed`),
		chromedp.Text(`#uploads li.failed .upload-msg`, &refusal),
		chromedp.Poll(`document.querySelectorAll('#documents tr[data-status="ready"]').length === 3`, nil),
		chromedp.Evaluate(`[...document.querySelectorAll('#documents tr')].find(tr => tr.textContent.includes('notes.txt')).querySelector('td.size').textContent`, &size),
	)
	if size != "214 bytes" {
		t.Errorf("the new row says %q for 214 bytes", size)
	}
	if !strings.Contains(refusal, "scan.png: PNG images are not supported") || strings.Count(refusal, "PDF") != 1 {
		t.Errorf("the PNG is refused with %q", refusal)
	}
	look(ctx, t, "documents")

	docID := func(name string) string {
		var docs struct {
			Items []struct{ ID, Name string }
		}
		in.api("GET", "/api/workspaces/"+ws.ID+"/documents", token, nil, &docs)
		for _, d := range docs.Items {
			if d.Name == name {
				return d.ID
			}
		}
		t.Fatalf("no document %s in %+v", name, docs.Items)
		return ""
	}
	var pdfMeta, deckMeta string
	run(t, ctx, "the PDF's page 2",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/documents/"+docID("handbook.pdf")),
		chromedp.Evaluate(`[...document.querySelectorAll('.chunk-list li')].find(li => li.textContent.includes('refund')).querySelector('.chunk-meta').textContent`, &pdfMeta),
	)
	if !strings.Contains(pdfMeta, "p. 2") {
		t.Errorf("the refund passage is labelled %q", pdfMeta)
	}
	look(ctx, t, "document-pdf")
	run(t, ctx, "the slides",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/documents/"+docID("kickoff.pptx")),
		chromedp.Text(`.chunk-list`, &deckMeta),
	)
	if !strings.Contains(deckMeta, "slide 2") || strings.Contains(deckMeta, "page") || strings.Contains(deckMeta, "Notes:") {
		t.Errorf("the presentation's chunks read %q", deckMeta)
	}
	look(ctx, t, "document-pptx")

	search := func(q, mode string) (results []string, meta, empty string) {
		t.Helper()
		run(t, ctx, "search "+q,
			chromedp.Navigate(in.URL+"/w/"+ws.ID+"/search"),
			chromedp.SendKeys(`#search input[name=q]`, q),
			chromedp.SetValue(`#search select[name=mode]`, mode),
			chromedp.Click(`#search button[type=submit]`),
			chromedp.WaitVisible(`section.card`),
			chromedp.Evaluate(`[...document.querySelectorAll('#results li')].map(li => li.dataset.doc)`, &results),
			chromedp.Evaluate(`[...document.querySelectorAll('#results .result-meta')].map(m => m.textContent).join('\n')`, &meta),
			chromedp.Evaluate(`document.querySelector('section.card .empty')?.textContent || ''`, &empty),
		)
		return
	}
	results, meta, _ := search("travel refund policy", "keyword")
	if len(results) != 1 || results[0] != "handbook.pdf" || !strings.Contains(meta, "p. 2") || !strings.Contains(meta, "contains your words") {
		t.Errorf("exact phrase: %v, %q", results, meta)
	}
	if results, _, _ := search("policy refund travel", "keyword"); len(results) != 0 {
		t.Errorf("the words out of order are found as an exact phrase: %v", results)
	}
	results, meta, _ = search("who pays for the hotels and trains when I travel", "hybrid")
	if len(results) == 0 || results[0] != "handbook.pdf" || regexp.MustCompile(`\d\.\d{2}`).MatchString(meta) {
		t.Errorf("a question: %v, %q (no raw scores)", results, meta)
	}
	var texts string
	run(t, ctx, "result texts", chromedp.Text(`#results`, &texts))
	if strings.Contains(texts, "Agenda for the quarter") { // shares only "for the" with the question
		t.Errorf("a passage sharing only function words is a result:\n%s", texts)
	}
	look(ctx, t, "search-results")
	results, _, empty := search("zebra quantum lollipop", "hybrid")
	if len(results) != 0 || !strings.Contains(empty, "Nothing relevant found") {
		t.Errorf("nonsense finds %v (%q)", results, empty)
	}
	look(ctx, t, "search-nothing")

	for _, p := range problems() {
		if !strings.Contains(p, "415 (Unsupported Media Type)") { // the PNG's refusal, expected
			t.Errorf("console error: %s", p)
		}
	}
}

// look saves the current page at 1280 and 390 px wide, light and dark, under
// QUIRE_SCREENSHOTS (see shot), and fails when the page scrolls sideways (a
// presentation's MIME type once made the document page 556 px wide at 390).
func look(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	for _, width := range []int64{1280, 390} {
		for _, scheme := range []string{"light", "dark"} {
			var wide bool
			run(t, ctx, fmt.Sprintf("look at %s %d %s", name, width, scheme),
				emulation.SetDeviceMetricsOverride(width, 900, 1, width < 500),
				emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
				chromedp.Evaluate(`document.documentElement.scrollWidth > innerWidth + 1`, &wide),
			)
			shot(ctx, t, fmt.Sprintf("content-%s-%d-%s", name, width, scheme))
			if wide {
				t.Errorf("%s at %d px %s scrolls sideways", name, width, scheme)
			}
		}
	}
	run(t, ctx, "back to desktop", desktop())
}

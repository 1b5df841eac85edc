package app

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"quire/app/http/api"
	"quire/app/ingest/ingesttest"
)

// A passage from page 2 of a PDF is page 2 everywhere a person meets it (its
// chunk, a search result, a chat's citation, the document page), and a
// presentation's slides are slides; the server sends the label so that every
// client shows the same words.
func TestPagesAndSlidesAreNamedWhereTheyAre(t *testing.T) {
	ts, _ := newOllamaServer(t)
	u := ts.signup("reader")
	ws := ts.createWorkspace(u, "Acme")
	base := "/api/workspaces/" + ws.ID
	var kb api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: u.token, body: map[string]any{"name": "Policies"}}).json(&kb)
	upload := func(name string, content []byte) api.DocumentJSON {
		var d api.DocumentJSON
		res := ts.upload(u, ws.ID, name, content, map[string]string{"knowledge_base_ids": kb.ID})
		if res.Status != 202 {
			t.Fatalf("%s: %d %s", name, res.Status, res.Body)
		}
		res.json(&d)
		return ts.waitReady(u, ws.ID, d.ID)
	}
	pdf := upload("handbook.pdf", ingesttest.PDF(
		"Welcome to the company handbook.",
		"The travel refund policy covers trains and hotels.",
		"The office opens at nine."))
	deck := upload("kickoff.pptx", ingesttest.PPTX(
		ingesttest.Slide{Title: "Kickoff", Body: "Agenda for the quarter"},
		ingesttest.Slide{Title: "Budget", Body: "Spending on travel stays flat"}))

	locations := func(d api.DocumentJSON) map[string]string { // text → location
		var chunks api.List[api.ChunkJSON]
		ts.must(200, req{method: "GET", path: base + "/documents/" + d.ID + "/chunks", token: u.token}).json(&chunks)
		out := map[string]string{}
		for _, c := range chunks.Items {
			out[c.Content] = c.Location
			if strings.Contains(c.Content, "Notes:") {
				t.Errorf("%s: a chunk keeps an empty notes line: %q", d.Name, c.Content)
			}
		}
		return out
	}
	refund := 0
	for text, loc := range locations(pdf) {
		if !strings.Contains(text, "refund") {
			continue
		}
		refund++
		if loc != "p. 2" {
			t.Errorf("the refund passage is at %q, want p. 2", loc)
		}
		if strings.Contains(text, "Welcome") || strings.Contains(text, "nine") {
			t.Errorf("page 2 shares a chunk with another page: %q", text)
		}
	}
	if refund != 1 {
		t.Errorf("%d chunks have page 2's text", refund)
	}
	slides := locations(deck)
	if len(slides) != 2 {
		t.Fatalf("%d chunks for two slides: %v", len(slides), slides)
	}
	for text, loc := range slides {
		if want := map[bool]string{true: "slide 2", false: "slide 1"}[strings.Contains(text, "Spending")]; loc != want {
			t.Errorf("%q is at %q, want %q", text, loc, want)
		}
	}

	var found struct{ Results []api.SearchHit }
	ts.must(200, req{method: "POST", path: base + "/search", token: u.token, body: map[string]any{"query": "travel refund policy", "mode": "keyword"}}).json(&found)
	if len(found.Results) != 1 || found.Results[0].Location != "p. 2" || strings.Join(found.Results[0].Match, ",") != "words" {
		t.Fatalf("search results %+v", found.Results)
	}

	var ch api.ChatJSON
	ts.must(201, req{method: "POST", path: base + "/chats", token: u.token, body: map[string]any{"knowledge_base_ids": []string{kb.ID}}}).json(&ch)
	var reply struct {
		AssistantMessage api.MessageJSON `json:"assistant_message"`
	}
	ts.must(201, req{method: "POST", path: base + "/chats/" + ch.ID + "/messages", token: u.token, body: map[string]string{"content": "What does the travel refund policy cover?"}}).json(&reply)
	var cites []struct {
		DocumentID string `json:"document_id"`
		PageNumber *int   `json:"page_number"`
		Location   string `json:"location"`
		Snippet    string `json:"snippet"`
	}
	if err := jsonUnmarshal(reply.AssistantMessage.Citations, &cites); err != nil || len(cites) == 0 {
		t.Fatalf("citations %s", reply.AssistantMessage.Citations)
	}
	for _, c := range cites {
		switch {
		case strings.Contains(c.Snippet, "refund") && (c.Location != "p. 2" || c.PageNumber == nil || *c.PageNumber != 2):
			t.Errorf("the refund passage is cited at %q", c.Location)
		case c.DocumentID == deck.ID && !strings.HasPrefix(c.Location, "slide "):
			t.Errorf("a slide is cited at %q", c.Location)
		}
	}

	// The document pages say the same, never "page" for a slide.
	chunkMeta := regexp.MustCompile(`<div class="chunk-meta[^"]*">([^<]*)</div>`)
	for d, want := range map[string]string{pdf.ID: "p. 2", deck.ID: "slide 2"} {
		body := string(ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/documents/" + d, token: u.token}).Body)
		var metas []string
		for _, m := range chunkMeta.FindAllStringSubmatch(body, -1) {
			metas = append(metas, m[1])
		}
		joined := strings.Join(metas, "\n")
		if !strings.Contains(joined, want) || strings.Contains(joined, "page") {
			t.Errorf("the document page labels its chunks %q, want %q among them", metas, want)
		}
	}
}

// A size reads the same in the API (for the list a script grows) as on the page.
func TestSizesReadTheSameEverywhere(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("sizes")
	ws := ts.createWorkspace(u, "Acme")
	var d api.DocumentJSON
	res := ts.upload(u, ws.ID, "notes.txt", []byte(strings.Repeat("x", 213)+"\n"), nil)
	res.json(&d)
	if d.FileSizeText != "214 bytes" {
		t.Errorf("the API says %q for 214 bytes", d.FileSizeText)
	}
	page := string(ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/documents", token: u.token}).Body)
	if !strings.Contains(page, ">214 bytes</td>") {
		t.Error("the documents page does not say 214 bytes")
	}
}

// Exact-phrase search takes what a person types, however hostile, as words:
// never FTS syntax, never another workspace's passages, bounded in length.
func TestExactPhraseSearchHostileInput(t *testing.T) {
	ts := newTestServer(t)
	startProcessing(t, ts)
	u := ts.signup("phrase")
	ws := ts.createWorkspace(u, "Acme")
	other := ts.signup("rival")
	rivalWS := ts.createWorkspace(other, "Rival")
	var rivalKB api.KbJSON
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + rivalWS.ID + "/knowledge-bases", token: other.token, body: map[string]any{"name": "Secret"}}).json(&rivalKB)
	for _, up := range []struct {
		who  user
		ws   string
		text string
	}{
		{u, ws.ID, "The travel refund policy covers trains."},
		{other, rivalWS.ID, "The travel refund policy of the rival is secret."},
	} {
		var d api.DocumentJSON
		ts.upload(up.who, up.ws, "policy.txt", []byte(up.text), nil).json(&d)
		deadline := time.Now().Add(20 * time.Second)
		for d.Status != "ready" && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			ts.must(200, req{method: "GET", path: "/api/workspaces/" + up.ws + "/documents/" + d.ID, token: up.who.token}).json(&d)
		}
		if d.Status != "ready" {
			t.Fatalf("document %+v", d)
		}
	}
	search := func(body map[string]any) response {
		body["mode"] = "keyword"
		return ts.do(req{method: "POST", path: "/api/workspaces/" + ws.ID + "/search", token: u.token, body: body})
	}
	for q, found := range map[string]bool{
		`travel refund policy`:        true,
		`"travel refund" policy`:      true,  // quotes are not syntax
		"travel\x00refund\x1b policy": true,  // control characters separate words
		`"travel" OR refund*`:         false, // OR and * are a word and nothing: no such phrase
		`NEAR(travel refund)`:         false,
		`content:travel refund`:       false,
		`policy refund travel`:        false, // the words, not in this order
	} {
		res := search(map[string]any{"query": q})
		var out struct{ Results []api.SearchHit }
		res.json(&out)
		if res.Status != 200 || (len(out.Results) == 1) != found || len(out.Results) > 1 {
			t.Errorf("%q: %d %+v", q, res.Status, out.Results)
		}
	}
	if res := search(map[string]any{"query": strings.Repeat("travel ", 200)}); res.Status != 400 || res.errField() != "query" {
		t.Errorf("a 1,400-character query: %d %s", res.Status, res.Body)
	}
	// Another workspace's knowledge base is no scope here: nothing of it leaks.
	res := search(map[string]any{"query": "travel refund policy", "knowledge_base_ids": []string{rivalKB.ID}})
	if strings.Contains(string(res.Body), "secret") {
		t.Errorf("another workspace's passage: %d %s", res.Status, res.Body)
	}
}

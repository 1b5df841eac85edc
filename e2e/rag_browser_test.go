package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The whole grounded-chat path in a real browser: upload a document into a
// knowledge base, attach it to a chat, ask, see the streamed answer cite the
// document, share the chat, and the colleague reads it with its citation.
func TestBrowserUploadAskCiteShare(t *testing.T) {
	ctx := browser(t)
	in, _, token := startWithOllama(t)
	var ws, kb struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", token, map[string]any{"name": "Handbook"}, &kb)
	in.api("POST", "/api/auth/signup", "", map[string]string{"email": "grace@example.com", "password": "compiler-1952", "name": "Grace"}, nil)
	in.api("POST", "/api/workspaces/"+ws.ID+"/members", token, map[string]string{"email": "grace@example.com"}, nil)

	doc := filepath.Join(t.TempDir(), "answers.md")
	os.WriteFile(doc, []byte("# How Quire answers\n\nQuire answers questions from your documents and cites the passages it used.\n\n# Unrelated\n\nThe cafeteria opens at nine."), 0o644)

	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	run(t, ctx, "upload into the knowledge base",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/documents"),
		chromedp.SetValue(`#upload-kb`, kb.ID),
		chromedp.SetUploadFiles(`#file-input`, []string{doc}),
		chromedp.WaitVisible(`#uploads li.done`),
		chromedp.WaitVisible(`#documents tr[data-status="ready"]`),
	)
	shot(ctx, t, "9-documents")

	var answer, cited, inPanel string
	run(t, ctx, "attach and ask",
		chromedp.Click(`#new-chat button`),
		waitPath(ctx, func(p string) bool { return strings.Contains(p, "/c/") }),
		chromedp.Click(`#chat-settings input[name=knowledge_base_ids]`), // saved as it changes: no Save, no reload
		chromedp.SendKeys(`#question`, "How does Quire answer questions?"),
		chromedp.Click(`#send`),
		chromedp.WaitVisible(`.msg.assistant[data-id] .sources li.cited`),
		chromedp.Text(`.msg.assistant .msg-body`, &answer),
		chromedp.Text(`.msg.assistant .sources li.cited a`, &cited),
		chromedp.Click(`.msg.assistant a.cite`),
		chromedp.WaitVisible(`#cite-panel .cite-passage`),
		chromedp.Text(`#cite-panel .cite-doc`, &inPanel),
		chromedp.KeyEvent("\x1b"), // the panel covers the side column
		chromedp.WaitNotVisible(`#cite-panel`),
	)
	if !strings.Contains(answer, "Quire answers from your documents") || cited != "answers.md" || inPanel != "answers.md" {
		t.Fatalf("answer %q cites %q (the panel shows %q)", answer, cited, inPanel)
	}
	shot(ctx, t, "10-cited-answer")
	var chatPath string
	run(t, ctx, "share",
		chromedp.Evaluate(`location.pathname`, &chatPath),
		chromedp.SetValue(`#share select[name=user_id]`, "2"),
		chromedp.Click(`#share button[type=submit]`),
		chromedp.WaitVisible(`#shares li[data-share="grace@example.com"]`),
		chromedp.Click(`#logout`),
		waitPath(ctx, func(p string) bool { return p == "/login" }),
	)
	loginAs(t, ctx, in, "grace@example.com", "compiler-1952")
	var read string
	run(t, ctx, "the colleague reads it with its citation",
		chromedp.Navigate(in.URL+"/shared"),
		chromedp.Click(`#shared li a`),
		waitPath(ctx, func(p string) bool { return p == chatPath }),
		chromedp.Text(`.msg.assistant .sources li.cited a`, &read),
	)
	if read != "answers.md" {
		t.Fatalf("the colleague sees citation %q", read)
	}
	var composers int
	run(t, ctx, "read-only", chromedp.Evaluate(`document.querySelectorAll('#composer').length`, &composers))
	if composers != 0 {
		t.Fatal("a read-only reader gets a composer")
	}
	// The citation opens the cited chunk on the document's page.
	run(t, ctx, "open the source",
		chromedp.Click(`.msg.assistant .sources li.cited a`),
		waitPath(ctx, func(p string) bool { return strings.Contains(p, "/documents/") }),
		chromedp.WaitVisible(`.chunk-list li:target`),
	)
}

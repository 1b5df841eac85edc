package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// panelShots saves what a person sees of the page (the viewport, with the page's
// sticky parts where they are) at 1280 and 390 px wide, light and dark, into
// QUIRE_SCREENSHOTS, with the element sel scrolled into view, then restores
// 1280 px light.
func panelShots(ctx context.Context, t *testing.T, name, sel string) {
	dir := os.Getenv("QUIRE_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, w := range []int64{1280, 390} {
		for _, scheme := range []string{"light", "dark"} {
			run(t, ctx, "look at "+name,
				chromedp.EmulateViewport(w, 900),
				emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
				chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q)?.scrollIntoView({block: 'center'})`, sel), nil),
				chromedp.Sleep(150*time.Millisecond))
			var buf []byte
			run(t, ctx, "capture "+name, chromedp.CaptureScreenshot(&buf))
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d-%s.png", name, w, scheme)), buf, 0o644)
		}
	}
	run(t, ctx, "back to 1280 light", chromedp.EmulateViewport(1280, 900),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}))
}

// waitTextIs waits until the text of sel is want.
func waitTextIs(sel, want string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var got string
		for {
			if err := chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q)?.textContent.trim() ?? ''`, sel), &got).Do(ctx); err != nil {
				return err
			}
			if got == want {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s reads %q, want %q", sel, got, want)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// Versions, citations in place, copy and ratings, as a person uses them:
// regenerate and edit keep the earlier versions ("‹ 1/2 ›" brings them back,
// with what followed), the question is edited in place (Esc cancels, no
// window.prompt), [n] opens its passage beside the answer with the cited
// words marked and Esc returns to the [n], only cited sources are listed,
// copy gives the Markdown, a thumbs down with a note reaches the admins'
// table, and a public link's [n] leads to the passage on the same page.
func TestBrowserVersionsCitationsRatings(t *testing.T) {
	ctx := browser(t)
	errs := watchConsole(ctx, t)
	in, o, token := startWithOllama(t)
	var ws, kb, chat struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", token, map[string]any{"name": "Handbook"}, &kb)
	doc := filepath.Join(t.TempDir(), "answers.md")
	os.WriteFile(doc, []byte("# How Quire answers\n\nQuire answers questions from your documents and cites the passages it used.\n\n# Unrelated\n\nThe cafeteria opens at nine."), 0o644)

	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	run(t, ctx, "upload into the knowledge base",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/documents"),
		chromedp.SetValue(`#upload-kb`, kb.ID),
		chromedp.SetUploadFiles(`#file-input`, []string{doc}),
		chromedp.WaitVisible(`#documents tr[data-status="ready"]`),
	)
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats", token, map[string]any{"name": "Handbook questions", "knowledge_base_ids": []string{kb.ID}}, &chat)
	chatURL := in.URL + "/w/" + ws.ID + "/c/" + chat.ID
	const question = "How does Quire answer questions?"
	var firstReply string
	var sources int
	run(t, ctx, "ask",
		chromedp.Navigate(chatURL),
		// An edit must never fall back to a browser prompt.
		chromedp.Evaluate(`window.prompt = () => { throw new Error('window.prompt was used') }`, nil),
		chromedp.SendKeys(`#question`, question),
		chromedp.Click(`#send`),
		chromedp.WaitVisible(`.msg.assistant .msg-actions .copy`),
		chromedp.AttributeValue(`.msg.assistant`, "data-id", &firstReply, nil),
		chromedp.Evaluate(`document.querySelectorAll('.msg.assistant .sources li').length`, &sources),
	)
	if sources != 1 {
		t.Errorf("the answer lists %d sources; it cites one", sources)
	}

	// [1] opens the passage in a panel beside the answer; Esc returns to the [1].
	var panelText, marks, focused string
	run(t, ctx, "open the citation",
		chromedp.Click(`.msg.assistant a.cite`),
		chromedp.WaitVisible(`#cite-panel .cite-passage`),
		chromedp.Text(`#cite-panel`, &panelText),
		chromedp.Evaluate(`[...document.querySelectorAll('#cite-panel mark')].map(m => m.textContent.toLowerCase()).join(' ')`, &marks),
	)
	if !strings.Contains(panelText, "answers.md") || !strings.Contains(panelText, "cites the passages it used") || !strings.Contains(panelText, "Open document") {
		t.Errorf("the citation panel shows %q", panelText)
	}
	if !strings.Contains(marks, "documents") {
		t.Errorf("the panel marks %q; the answer's words (documents) should be marked in the passage", marks)
	}
	var path string
	run(t, ctx, "still in the chat", chromedp.Evaluate(`location.pathname`, &path))
	if !strings.HasSuffix(chatURL, path) {
		t.Errorf("clicking [1] left the chat for %s", path)
	}
	panelShots(ctx, t, "chat-citation-panel", ".msg.assistant")
	run(t, ctx, "Esc closes the panel",
		chromedp.KeyEvent("\x1b"),
		chromedp.WaitNotVisible(`#cite-panel`),
		chromedp.Evaluate(`document.activeElement.matches('a.cite') ? 'cite' : document.activeElement.outerHTML`, &focused),
	)
	if focused != "cite" {
		t.Errorf("after Esc the focus is on %s, not the [1]", focused)
	}

	// Regenerate: a second version; the first is one click away.
	var shownReply string
	run(t, ctx, "regenerate",
		chromedp.Click(`#regenerate`),
		waitTextIs(`.msg.assistant .versions .version-count`, "2/2"),
		chromedp.AttributeValue(`.msg.assistant`, "data-id", &shownReply, nil),
	)
	if shownReply == firstReply {
		t.Fatal("after regenerating, the first reply is still the one shown")
	}
	run(t, ctx, "back to the first answer",
		chromedp.Click(`.msg.assistant .versions .prev`),
		waitTextIs(`.msg.assistant .versions .version-count`, "1/2"),
		chromedp.AttributeValue(`.msg.assistant`, "data-id", &shownReply, nil),
	)
	if shownReply != firstReply {
		t.Fatalf("‹ shows reply %s, want the first one %s", shownReply, firstReply)
	}

	// Copy gives the answer's Markdown source.
	var copied string
	run(t, ctx, "copy",
		cdpbrowser.SetPermission(&cdpbrowser.PermissionDescriptor{Name: "clipboard-read"}, cdpbrowser.PermissionSettingGranted).WithOrigin(in.URL),
		cdpbrowser.SetPermission(&cdpbrowser.PermissionDescriptor{Name: "clipboard-write"}, cdpbrowser.PermissionSettingGranted).WithOrigin(in.URL),
		chromedp.Click(`.msg.assistant .msg-actions .copy`),
		chromedp.WaitVisible(`.msg.assistant .msg-actions .copy.done`),
		chromedp.Evaluate(`navigator.clipboard.readText()`, &copied, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	if copied != o.ChatSentence {
		t.Errorf("copied %q, want the answer's Markdown %q", copied, o.ChatSentence)
	}

	// Edit in place: Esc cancels; Save makes a second version of the question.
	var editing int
	var body string
	run(t, ctx, "edit, then Esc",
		chromedp.Click(`.msg.user .msg-actions .edit`),
		chromedp.WaitVisible(`.msg.user .edit-form textarea`),
		chromedp.KeyEvent("\x1b"),
		chromedp.WaitNotPresent(`.msg.user .edit-form`),
		chromedp.Text(`.msg.user .msg-body`, &body),
	)
	if body != question {
		t.Fatalf("after Esc the question reads %q", body)
	}
	run(t, ctx, "edit and save",
		chromedp.Click(`.msg.user .msg-actions .edit`),
		chromedp.WaitVisible(`.msg.user .edit-form textarea`),
		chromedp.Evaluate(`document.querySelector('.msg.user .edit-form textarea').value = ''`, nil),
		chromedp.SendKeys(`.msg.user .edit-form textarea`, "What does the handbook say about citations?"),
	)
	panelShots(ctx, t, "chat-inline-edit", ".edit-form")
	run(t, ctx, "save the edit",
		chromedp.Click(`.msg.user .edit-form button[type=submit]`),
		waitTextIs(`.msg.user .versions .version-count`, "2/2"),
		chromedp.WaitVisible(`.msg.assistant .msg-actions .copy`),
		chromedp.Text(`.msg.user .msg-body`, &body),
		chromedp.Evaluate(`document.querySelectorAll('.edit-form').length`, &editing),
	)
	if body != "What does the handbook say about citations?" || editing != 0 {
		t.Fatalf("after saving the question reads %q (%d edit forms open)", body, editing)
	}
	panelShots(ctx, t, "chat-versions", ".msg.user")
	run(t, ctx, "the first question comes back with its answers",
		chromedp.Click(`.msg.user .versions .prev`),
		waitTextIs(`.msg.user .versions .version-count`, "1/2"),
		chromedp.Text(`.msg.user .msg-body`, &body),
		chromedp.AttributeValue(`.msg.assistant`, "data-id", &shownReply, nil),
	)
	if body != question || shownReply != firstReply {
		t.Fatalf("the first branch shows %q and reply %s (want %s)", body, shownReply, firstReply)
	}

	// A thumbs down with a note, as the workspace's admins then read it.
	run(t, ctx, "rate",
		chromedp.Click(`.msg.assistant .msg-actions .rate[data-rating=down]`),
		chromedp.WaitVisible(`.msg.assistant .note-form textarea`),
		chromedp.SendKeys(`.msg.assistant .note-form textarea`, "It should name the page."),
		chromedp.Click(`.msg.assistant .note-form button[type=submit]`),
		chromedp.WaitNotPresent(`.msg.assistant .note-form`),
		chromedp.WaitVisible(`.msg.assistant .rate[data-rating=down][aria-pressed=true]`),
		chromedp.Reload(),
		chromedp.WaitVisible(`.msg.assistant .rate[data-rating=down][aria-pressed=true]`),
	)
	var ratings, notes string
	run(t, ctx, "the admins' table",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/usage"),
		chromedp.Click(`#feedback-link`),
		chromedp.WaitVisible(`#feedback-models`),
		chromedp.Text(`#feedback-models tbody`, &ratings),
		chromedp.Text(`#feedback-notes`, &notes),
	)
	if !strings.Contains(ratings, o.ChatModel) || !strings.Contains(notes, "It should name the page.") {
		t.Errorf("the ratings page shows %q and notes %q", ratings, notes)
	}
	panelShots(ctx, t, "feedback", "h1")

	// A public link's [1] leads to the cited passage on the same page.
	var pub struct {
		PublicID string `json:"public_id"`
	}
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats/"+chat.ID+"/public", token, map[string]bool{"enabled": true}, &pub)
	var hash, target string
	var publicSources int
	run(t, ctx, "the public page",
		chromedp.Navigate(in.URL+"/p/"+pub.PublicID),
		chromedp.WaitVisible(`.msg.assistant a.cite`),
		chromedp.Evaluate(`document.querySelectorAll('.msg.assistant .sources li').length`, &publicSources),
		chromedp.Click(`.msg.assistant a.cite`),
		chromedp.Evaluate(`location.hash`, &hash),
		chromedp.Text(`.sources li:target`, &target),
	)
	if !strings.HasPrefix(hash, "#src-") || !strings.Contains(target, "answers.md") || publicSources != 1 {
		t.Errorf("the public [1] goes to %q showing %q (%d sources listed)", hash, target, publicSources)
	}
	panelShots(ctx, t, "public-chat", ".sources li:target")
	if e := errs(); len(e) > 0 {
		t.Errorf("the console shows errors:\n%s", strings.Join(e, "\n"))
	}
}

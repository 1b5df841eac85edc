package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// shiftClick clicks the first node matching sel with Shift held, as a person
// selecting a range does.
func shiftClick(sel string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var nodes []*cdp.Node
		if err := chromedp.Nodes(sel, &nodes, chromedp.ByQuery).Do(ctx); err != nil {
			return err
		}
		return chromedp.MouseClickNode(nodes[0], chromedp.ButtonModifiers(input.ModifierShift)).Do(ctx)
	})
}

// waitText waits until the text of sel contains want, and says what it was instead.
func waitText(sel, want string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		err := chromedp.Poll(fmt.Sprintf(`(document.querySelector(%q)?.textContent || '').includes(%q)`, sel, want), nil,
			chromedp.WithPollingTimeout(15*time.Second)).Do(ctx)
		if err != nil {
			var got string
			chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q)?.textContent`, sel), &got).Do(ctx)
			return fmt.Errorf("%s says %q, want %q: %w", sel, got, want, err)
		}
		return nil
	})
}

// Nine documents into a knowledge base is a selection and one click, without
// a page reload, and the page says what happened; a member's bulk delete
// skips what is not theirs. Uploads show a refusal as a refusal and follow a
// document until it is ready.
func TestBrowserDocumentsBulkActions(t *testing.T) {
	ctx := browser(t)
	in := start(t, "")
	var su struct{ Token string }
	su.Token = in.setupAdmin("ada@example.com", "analytical-engine", "Ada")
	var ws, kb struct{ ID string }
	in.api("POST", "/api/workspaces", su.Token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", su.Token, map[string]any{"name": "Handbook"}, &kb)
	in.api("POST", "/api/auth/signup", "", map[string]string{"email": "grace@example.com", "password": "compiler-1952", "name": "Grace"}, nil)
	in.api("POST", "/api/workspaces/"+ws.ID+"/members", su.Token, map[string]string{"email": "grace@example.com"}, nil)

	dir := t.TempDir()
	var files []string
	for i := 1; i <= 9; i++ {
		p := filepath.Join(dir, fmt.Sprintf("policy-%d.md", i))
		os.WriteFile(p, []byte(fmt.Sprintf("# Policy %d\n\nRule number %d of the handbook.", i, i)), 0o644)
		files = append(files, p)
	}
	png := filepath.Join(dir, "photo.png")
	os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0o644)

	consoleErrors := watchConsole(ctx, t)
	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	docsURL := in.URL + "/w/" + ws.ID + "/documents"
	var failedBars, readyUploads int
	var refusal string
	run(t, ctx, "upload nine documents and a picture",
		chromedp.Navigate(docsURL),
		chromedp.SetUploadFiles(`#file-input`, append([]string{png}, files...)),
		chromedp.WaitVisible(`#uploads li.failed`),
		chromedp.Text(`#uploads li.failed`, &refusal),
		chromedp.Poll(`document.querySelectorAll('#uploads li.ready').length === 9`, nil),
		chromedp.Evaluate(`document.querySelectorAll('#uploads li.failed progress').length`, &failedBars),
		chromedp.Evaluate(`document.querySelectorAll('#uploads li.ready').length`, &readyUploads),
	)
	if failedBars != 0 || !strings.Contains(refusal, "Not uploaded") || !strings.Contains(refusal, "photo.png") {
		t.Fatalf("the refused picture shows %q with %d progress bars", refusal, failedBars)
	}
	var processing string
	run(t, ctx, "no upload still says processing", chromedp.Text(`#uploads`, &processing))
	if strings.Contains(processing, "processing") {
		t.Fatalf("a ready document's upload still says processing: %q", processing)
	}
	themedShots(ctx, t, "documents-uploaded")

	var origin, after float64
	var summary string
	run(t, ctx, "two into the handbook, then all nine",
		chromedp.Navigate(docsURL),
		chromedp.WaitVisible(`#documents tbody tr[data-doc]`),
		chromedp.Evaluate(`performance.timeOrigin`, &origin),
		chromedp.Click(`#documents tbody tr:nth-child(2) input.pick-doc`),
		chromedp.Click(`#documents tbody tr:nth-child(5) input.pick-doc`),
		waitText(`#bulk-count`, "2 documents selected"),
		chromedp.Click(`[data-bulk="add_to_knowledge_base"]`),
		waitText(`#bulk-summary`, "2 added to Handbook."),
		chromedp.Click(`#pick-all`), chromedp.Click(`#pick-all`), // all, then none
		waitText(`#bulk-count`, "None selected"),
		chromedp.Click(`#documents tbody tr:first-child input.pick-doc`),
		shiftClick(`#documents tbody tr:last-child input.pick-doc`),
		waitText(`#bulk-count`, "9 documents selected"),
		chromedp.Click(`[data-bulk="add_to_knowledge_base"]`),
		waitText(`#bulk-summary`, "7 added to Handbook, 2 were already in it."),
		chromedp.Evaluate(`performance.timeOrigin`, &after),
		chromedp.Text(`#bulk-summary`, &summary),
	)
	if after != origin {
		t.Fatal("the bulk action reloaded the page")
	}
	var chips int
	run(t, ctx, "every row shows the handbook", chromedp.Evaluate(`document.querySelectorAll('#documents tbody td.kbs .kb-tag').length`, &chips))
	var kbDocs struct{ Items []struct{ ID string } }
	in.api("GET", "/api/workspaces/"+ws.ID+"/knowledge-bases/"+kb.ID+"/documents", su.Token, nil, &kbDocs)
	if chips != 9 || len(kbDocs.Items) != 9 {
		t.Fatalf("after the bulk add: %d chips shown, %d documents in the knowledge base", chips, len(kbDocs.Items))
	}
	themedShots(ctx, t, "documents-bulk-added")

	var rows int
	run(t, ctx, "remove one, delete two, reprocess one",
		chromedp.Click(`#pick-all`), // all were selected: none now
		waitText(`#bulk-count`, "None selected"),
		chromedp.Click(`#documents tbody tr:first-child input.pick-doc`),
		chromedp.Click(`[data-bulk="remove_from_knowledge_base"]`),
		waitText(`#bulk-summary`, "1 removed from Handbook."),
		chromedp.Click(`#documents tbody tr:nth-child(2) input.pick-doc`),
		waitText(`#bulk-count`, "2 documents selected"),
		chromedp.Click(`[data-bulk="delete"]`), // the confirm() is accepted by browser()
		waitText(`#bulk-summary`, "2 documents deleted."),
		chromedp.Evaluate(`document.querySelectorAll('#documents tbody tr[data-doc]').length`, &rows),
		chromedp.Click(`#documents tbody tr:first-child input.pick-doc`),
		chromedp.Click(`[data-bulk="reprocess"]`),
		waitText(`#bulk-summary`, "1 document queued for processing again."),
		chromedp.WaitVisible(`#documents tbody tr:first-child[data-status="ready"]`),
	)
	var left struct{ Items []struct{ ID string } }
	in.api("GET", "/api/workspaces/"+ws.ID+"/documents", su.Token, nil, &left)
	if rows != 7 || len(left.Items) != 7 {
		t.Fatalf("after deleting two of nine: %d rows, %d documents", rows, len(left.Items))
	}

	run(t, ctx, "sign out", chromedp.Click(`#logout`), waitPath(ctx, func(p string) bool { return p == "/login" }),
		chromedp.WaitVisible(`main input[name=email]`)) // the login page has loaded: typing into it now is not lost to the navigation
	loginAs(t, ctx, in, "grace@example.com", "compiler-1952")
	var kbControls int
	run(t, ctx, "a member deletes what she sees",
		chromedp.Navigate(docsURL),
		chromedp.WaitVisible(`#documents tbody tr[data-doc]`),
		chromedp.Evaluate(`document.querySelectorAll('#bulk-kb, [data-bulk$="knowledge_base"]').length`, &kbControls),
		chromedp.Click(`#pick-all`),
		chromedp.Click(`[data-bulk="delete"]`),
		waitText(`#bulk-summary`, "7 documents skipped: only the uploader or an admin can delete them."),
	)
	in.api("GET", "/api/workspaces/"+ws.ID+"/documents", su.Token, nil, &left)
	if kbControls != 0 || len(left.Items) != 7 {
		t.Fatalf("member: %d knowledge-base controls, %d documents left", kbControls, len(left.Items))
	}
	themedShots(ctx, t, "documents-member-skipped")
	if errs := consoleErrors(); len(errs) > 0 {
		t.Fatalf("console errors: %v", errs)
	}
}

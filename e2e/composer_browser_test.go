package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"quire/app/llm/ollamatest"
)

// awaitPromise makes Evaluate wait for a promise's value.
func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// gate holds the model server's embedding calls while closed: retrieval as
// slow as it is when Ollama is busy.
type gate struct {
	mu   sync.Mutex
	open chan struct{} // nil: calls pass
}

func (g *gate) hold() { g.mu.Lock(); g.open = make(chan struct{}); g.mu.Unlock() }
func (g *gate) release() {
	g.mu.Lock()
	if g.open != nil {
		close(g.open)
		g.open = nil
	}
	g.mu.Unlock()
}
func (g *gate) wait(ctx context.Context) {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
}

// startWithSlowEmbeddings is startWithOllama behind a proxy whose gate can
// hold /api/embed.
func startWithSlowEmbeddings(t *testing.T) (*instance, string, *gate, string, string) {
	o := ollamatest.StartShared(t)
	target, _ := url.Parse(o.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // stream replies as they come
	g := &gate{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/embed" {
			g.wait(r.Context())
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.release)
	in := start(t, "", "QUIRE_OLLAMA_URL="+srv.URL)
	var su struct{ Token string }
	su.Token = in.setupAdmin("ada@example.com", "analytical-engine", "Ada")
	if code := in.api("PATCH", "/api/admin/settings", su.Token, map[string]string{"ollama_url": srv.URL, "default_chat_model": o.ChatModel, "default_embedding_model": o.EmbedModel}, nil); code != 200 {
		t.Fatalf("settings %d", code)
	}
	return in, su.Token, g, o.ChatModel, o.EmbedModel
}

// uploadInto uploads a document into a knowledge base and waits until it is ready.
func (in *instance) uploadInto(t *testing.T, token, wsID, kbID, name, content string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("knowledge_base_ids", kbID)
	fw, _ := mw.CreateFormFile("file", name)
	io.WriteString(fw, content)
	mw.Close()
	req, _ := http.NewRequest("POST", in.URL+"/api/workspaces/"+wsID+"/documents", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("upload %s: %d %s", name, resp.StatusCode, raw)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list struct {
			Items []struct{ Name, Status string }
		}
		in.api("GET", "/api/workspaces/"+wsID+"/documents?knowledge_base_id="+kbID, token, nil, &list)
		for _, it := range list.Items {
			if it.Name == name && it.Status == "ready" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %+v", name, list.Items)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// noConsoleErrors fails the test on any console error or uncaught exception.
func noConsoleErrors(t *testing.T, ctx context.Context) func() {
	errs := watchConsole(ctx, t)
	return func() {
		t.Helper()
		if e := errs(); len(e) > 0 {
			t.Fatalf("console errors: %q", e)
		}
	}
}

// themedShots saves the page at 1280 and 390 px wide, light and dark, when
// QUIRE_SCREENSHOTS names a folder.
func themedShots(ctx context.Context, t *testing.T, name string) {
	if os.Getenv("QUIRE_SCREENSHOTS") == "" {
		return
	}
	for _, w := range []int64{1280, 390} {
		for _, theme := range []string{"light", "dark"} {
			run(t, ctx, "screenshot "+name,
				emulation.SetDeviceMetricsOverride(w, 900, 1, w < 600),
				chromedp.Evaluate(`document.documentElement.dataset.theme = `+fmt.Sprintf("%q", theme), nil),
				chromedp.Sleep(150*time.Millisecond))
			shot(ctx, t, fmt.Sprintf("%s-%d-%s", name, w, theme))
		}
	}
	run(t, ctx, "restore the viewport", emulation.ClearDeviceMetricsOverride(), chromedp.Evaluate(`delete document.documentElement.dataset.theme`, nil))
}

// evalBool evaluates a JavaScript condition.
func evalBool(t *testing.T, ctx context.Context, js string) bool {
	t.Helper()
	var ok bool
	run(t, ctx, js, chromedp.Evaluate(js, &ok))
	return ok
}

// enter presses Enter as a keyboard does: one keyDown carrying the text, so
// a handler that prevents the default also prevents the new line
// (chromedp's kb.Enter sends a separate char event that inserts it anyway).
func enter(mods input.Modifier) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		down := input.DispatchKeyEvent(input.KeyDown).WithKey("Enter").WithCode("Enter").WithWindowsVirtualKeyCode(13).WithText("\r").WithModifiers(mods)
		if err := down.Do(ctx); err != nil {
			return err
		}
		return input.DispatchKeyEvent(input.KeyUp).WithKey("Enter").WithCode("Enter").WithWindowsVirtualKeyCode(13).WithModifiers(mods).Do(ctx)
	})
}

const atBottomJS = `(() => { const s = document.scrollingElement; return s.scrollHeight - s.scrollTop - s.clientHeight < 60; })()`

// The composer, end to end in Chromium: the model picker lists installed chat
// models only, "#" attaches a knowledge base as a chip and the very next
// question answers from it, Shift+Enter is a new line, a refused question is
// kept, a question shows at once with "Searching your documents…" while the
// search is slow, Stop works in that phase, the chat opens at its latest
// message and follows a reply unless the reader scrolled up, the title
// replaces "New chat" in the sidebar, and the chat exports.
func TestBrowserComposer(t *testing.T) {
	ctx := browser(t)
	checkConsole := noConsoleErrors(t, ctx)
	in, token, _, chatModel, embedModel := startWithSlowEmbeddings(t)
	var ws, hb, pol struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", token, map[string]any{"name": "Handbook"}, &hb)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", token, map[string]any{"name": "Policies"}, &pol)
	in.uploadInto(t, token, ws.ID, hb.ID, "answers.md", "# How Quire answers\n\nQuire answers questions from your documents and cites the passages it used.\n\n# Unrelated\n\nThe cafeteria opens at nine.")
	var chat struct{ ID string }
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats", token, map[string]any{}, &chat)
	chatURL := in.URL + "/w/" + ws.ID + "/c/" + chat.ID

	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	run(t, ctx, "open the chat", chromedp.Navigate(chatURL), chromedp.WaitVisible(`#question`))
	if !evalBool(t, ctx, `document.activeElement?.id === 'question'`) {
		t.Error("the question box is not focused when the chat opens")
	}
	var models []string
	run(t, ctx, "models", chromedp.Evaluate(`[...document.querySelectorAll('#composer-model option')].map(o => o.value)`, &models))
	if !strings.Contains(strings.Join(models, " "), chatModel) || strings.Contains(strings.Join(models, " "), embedModel) {
		t.Fatalf("the model picker offers %q (chat model %s, embedding model %s)", models, chatModel, embedModel)
	}
	themedShots(ctx, t, "composer-empty")

	// "#" opens the picker, filtered by what follows; Enter attaches; the question is asked at once.
	var picked []string
	run(t, ctx, "# picks a knowledge base",
		chromedp.SendKeys(`#question`, "#hand"),
		chromedp.WaitVisible(`#kb-picker`),
		chromedp.Evaluate(`[...document.querySelectorAll('#kb-picker li[data-kb]')].filter(li => !li.hidden).map(li => li.textContent)`, &picked),
	)
	if len(picked) != 1 || picked[0] != "Handbook" {
		t.Fatalf("the picker for #hand lists %q", picked)
	}
	themedShots(ctx, t, "composer-picker")
	var left string
	run(t, ctx, "attach and ask at once",
		enter(0),
		chromedp.WaitVisible(`#kb-chips .chip[data-kb="`+hb.ID+`"]`),
		chromedp.Value(`#question`, &left),
	)
	if left != "" {
		t.Fatalf("the #query stayed in the question: %q", left)
	}
	run(t, ctx, "Shift+Enter is a new line",
		chromedp.SendKeys(`#question`, "How does Quire"),
		enter(input.ModifierShift),
		chromedp.SendKeys(`#question`, "answer questions?"),
		chromedp.Value(`#question`, &left),
	)
	if left != "How does Quire\nanswer questions?" {
		t.Fatalf("after Shift+Enter the question is %q", left)
	}
	if evalBool(t, ctx, `document.querySelectorAll('.msg').length > 0`) {
		t.Fatal("Shift+Enter sent the question")
	}
	var cited, title string
	run(t, ctx, "Enter sends; the answer cites the attached knowledge base",
		enter(0),
		chromedp.WaitVisible(`.msg.assistant[data-id] .sources li.cited`),
		chromedp.Text(`.msg.assistant .sources li.cited a`, &cited),
		waitJS(`document.getElementById('chat-status').textContent === 'The answer is complete.'`),
	)
	if cited != "answers.md" {
		t.Fatalf("the answer cites %q", cited)
	}
	run(t, ctx, "the title replaces New chat in the sidebar",
		waitJS(`document.getElementById('chat-title').textContent !== 'New chat'`),
		chromedp.Text(`#chat-title`, &title),
		waitJS(`[...document.querySelectorAll('.chat-list a[href$="/c/`+chat.ID+`"]')].every(a => a.textContent === document.getElementById('chat-title').textContent)`),
	)
	if strings.Contains(title, "[") || strings.HasSuffix(title, " .") {
		t.Errorf("title %q", title)
	}
	themedShots(ctx, t, "composer-answer")

	// A refused question (over 32 KB) stays in the box with the reason.
	run(t, ctx, "a refused question is kept",
		chromedp.Evaluate(`document.getElementById('question').value = 'x'.repeat(40000)`, nil),
		enter(0),
		chromedp.WaitVisible(`#composer .form-error`),
		chromedp.Value(`#question`, &left),
	)
	if len(left) != 40000 || evalBool(t, ctx, `document.querySelectorAll('.msg.pending').length > 0`) {
		t.Fatalf("after a refusal the box holds %d characters", len(left))
	}

	// Export: a menu in the chat page; both downloads are named after the chat.
	var md, js string
	run(t, ctx, "export",
		chromedp.Click(`#export-menu summary`),
		chromedp.WaitVisible(`#export-menu a[href$="format=md"]`),
		chromedp.Evaluate(`fetch(document.querySelector('#export-menu a[href$="format=md"]').href).then(r => r.headers.get('content-disposition'))`, &md, awaitPromise),
		chromedp.Evaluate(`fetch(document.querySelector('#export-menu a[href$="format=json"]').href).then(r => r.headers.get('content-disposition'))`, &js, awaitPromise),
	)
	if !strings.HasPrefix(md, "attachment; filename=") || !strings.HasSuffix(md, `.md"`) || !strings.HasSuffix(js, `.json"`) {
		t.Fatalf("export downloads: %q %q", md, js)
	}
	themedShots(ctx, t, "composer-export")
	checkConsole()
}

// While the search is slow the question and "Searching your documents…" show
// at once and the transcript follows; Stop in that phase ends the reply before
// the model writes. A long chat opens at its latest message, and a reader who
// scrolls up while a reply streams stays there and is offered "Jump to latest".
func TestBrowserSlowSearchStopAndFollow(t *testing.T) {
	ctx := browser(t)
	checkConsole := noConsoleErrors(t, ctx)
	in, token, slow, _, _ := startWithSlowEmbeddings(t)
	var ws, hb struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", token, map[string]any{"name": "Handbook"}, &hb)
	in.uploadInto(t, token, ws.ID, hb.ID, "answers.md", "# How Quire answers\n\nQuire answers questions from your documents.\n\n# Unrelated\n\nThe cafeteria opens at nine.")
	var chat struct{ ID string }
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats", token, map[string]any{"name": "Handbook", "knowledge_base_ids": []string{hb.ID}}, &chat)
	chatURL := in.URL + "/w/" + ws.ID + "/c/" + chat.ID
	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	run(t, ctx, "open the chat", chromedp.Navigate(chatURL), chromedp.WaitVisible(`#question`))

	// Slow retrieval: the question and "Searching your documents…" show at
	// once, the transcript follows, and Stop ends the reply before the model writes.
	slow.hold()
	run(t, ctx, "ask while the search is slow",
		chromedp.SendKeys(`#question`, "Where is the cafeteria?"), enter(0),
		waitJS(`[...document.querySelectorAll('.msg.user')].pop().textContent.includes('Where is the cafeteria?')`),
		waitJS(`[...document.querySelectorAll('.msg.assistant')].pop().querySelector('.phase')?.textContent === 'Searching your documents…'`),
		waitJS(`document.getElementById('chat-status').textContent === 'Searching your documents…'`),
		waitJS(atBottomJS),
	)
	themedShots(ctx, t, "composer-searching")
	run(t, ctx, "Stop while searching",
		chromedp.Click(`#stop`),
		chromedp.WaitVisible(`.msg.assistant.stopped`),
		waitJS(`document.getElementById('stop').hidden`),
	)
	slow.release()
	var msgs struct {
		Items []struct{ Role, Status, Content string }
	}
	in.api("GET", "/api/workspaces/"+ws.ID+"/chats/"+chat.ID+"/messages?latest=true", token, nil, &msgs)
	last := msgs.Items[len(msgs.Items)-1]
	if last.Role != "assistant" || last.Status != "stopped" || last.Content != "" {
		t.Fatalf("the reply stopped while searching is %+v", last)
	}
	time.Sleep(time.Second) // an answer that arrived anyway would be stored by now
	in.api("GET", "/api/workspaces/"+ws.ID+"/chats/"+chat.ID+"/messages?latest=true", token, nil, &msgs)
	if l := msgs.Items[len(msgs.Items)-1]; l.Status != "stopped" || l.Content != "" {
		t.Fatalf("the answer arrived anyway: %+v", l)
	}

	// A long chat opens at its latest message; a reader who scrolls up while
	// a reply streams stays where they are and is offered "Jump to latest".
	for i := range 3 {
		long := fmt.Sprintf("Question %d about the handbook.\n%s", i, strings.Repeat("A line of context.\n", 40))
		in.api("POST", "/api/workspaces/"+ws.ID+"/chats/"+chat.ID+"/messages", token, map[string]string{"content": long}, nil)
	}
	run(t, ctx, "reopen at the latest", chromedp.Navigate(chatURL), chromedp.WaitVisible(`#question`), waitJS(atBottomJS))
	slow.hold()
	run(t, ctx, "scroll up while the reply waits",
		chromedp.SendKeys(`#question`, "And what else?"), enter(0),
		waitJS(`[...document.querySelectorAll('.msg.assistant')].pop().querySelector('.phase') !== null`),
		waitJS(atBottomJS),
		chromedp.Evaluate(`window.scrollTo(0, 0)`, nil),
		waitJS(`document.scrollingElement.scrollTop === 0`),
	)
	slow.release()
	run(t, ctx, "the reply streams without pulling the reader down",
		waitJS(`document.getElementById('chat-status').textContent === 'The answer is complete.'`),
		chromedp.WaitVisible(`#jump-latest`),
	)
	if !evalBool(t, ctx, `document.scrollingElement.scrollTop < 100`) {
		t.Fatal("the transcript pulled a reader who had scrolled up to the bottom")
	}
	themedShots(ctx, t, "composer-jump")
	run(t, ctx, "jump to latest", chromedp.Click(`#jump-latest`), waitJS(atBottomJS), waitJS(`document.getElementById('jump-latest').hidden`))

	checkConsole()
}

// Ticking a knowledge base in the settings and asking at once, without any
// Save button, answers from it; the settings saved as they changed are there
// after a reload.
func TestBrowserSettingsSaveAsTheyChange(t *testing.T) {
	ctx := browser(t)
	checkConsole := noConsoleErrors(t, ctx)
	in, _, token := startWithOllama(t)
	var ws, hb struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", token, map[string]any{"name": "Handbook"}, &hb)
	in.uploadInto(t, token, ws.ID, hb.ID, "answers.md", "# How Quire answers\n\nQuire answers questions from your documents and cites the passages it used.")
	var chat struct{ ID string }
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats", token, map[string]any{}, &chat)
	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	var buttons int
	run(t, ctx, "tick and ask",
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/c/"+chat.ID),
		chromedp.Evaluate(`document.querySelectorAll('#chat-settings button[type=submit]').length`, &buttons),
		chromedp.Click(`#chat-settings input[name=knowledge_base_ids]`),
		chromedp.SendKeys(`#chat-settings input[name=name]`, "Handbook questions\t"),
		chromedp.SendKeys(`#question`, "How does Quire answer questions?"), enter(0),
		chromedp.WaitVisible(`.msg.assistant[data-id] .sources li.cited`),
		chromedp.WaitVisible(`#kb-chips .chip[data-kb="`+hb.ID+`"]`),
	)
	if buttons != 0 {
		t.Error("the settings still have a Save button")
	}
	var name string
	run(t, ctx, "after a reload",
		chromedp.Reload(),
		chromedp.WaitVisible(`#chat-settings input[name=knowledge_base_ids]:checked`),
		chromedp.Value(`#chat-settings input[name=name]`, &name),
	)
	if name != "Handbook questions" {
		t.Fatalf("the name saved as %q", name)
	}
	themedShots(ctx, t, "settings")
	checkConsole()
}

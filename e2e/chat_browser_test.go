package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"quire/app/llm/ollamatest"
)

// startWithOllama runs quire against the shared real Ollama with the tiny models
// and makes the first account, an instance admin, with the chat model as default.
func startWithOllama(t *testing.T) (*instance, *ollamatest.Server, string) {
	o := ollamatest.StartShared(t)
	in := start(t, "", "QUIRE_OLLAMA_URL="+o.URL)
	var su struct{ Token string }
	if code := in.api("POST", "/api/auth/signup", "", map[string]string{"email": "ada@example.com", "password": "analytical-engine", "name": "Ada"}, &su); code != 201 {
		t.Fatalf("signup %d", code)
	}
	if code := in.api("PATCH", "/api/admin/settings", su.Token, map[string]string{"ollama_url": o.URL, "default_chat_model": o.ChatModel, "default_embedding_model": o.EmbedModel}, nil); code != 200 {
		t.Fatalf("settings %d", code)
	}
	return in, o, su.Token
}

func TestBrowserChatStreamShareRead(t *testing.T) {
	ctx := browser(t)
	in, o, token := startWithOllama(t)
	var ws struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme"}, &ws)
	if code := in.api("POST", "/api/auth/signup", "", map[string]string{"email": "grace@example.com", "password": "compiler-1952", "name": "Grace"}, nil); code != 201 {
		t.Fatal("colleague signup")
	}
	in.api("POST", "/api/workspaces/"+ws.ID+"/members", token, map[string]string{"email": "grace@example.com"}, nil)

	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	var answer string
	run(t, ctx, "new chat and ask",
		chromedp.Click(`#new-chat button`),
		waitPath(ctx, func(p string) bool { return strings.Contains(p, "/c/") }),
		chromedp.SendKeys(`#question`, "How does Quire answer?"),
		chromedp.Click(`#send`),
		chromedp.WaitVisible(`.msg.assistant[data-id] .msg-body p`),
		chromedp.Text(`.msg.assistant .msg-body`, &answer),
	)
	if !strings.Contains(answer, strings.TrimSuffix(o.ChatSentence, " [1].")) {
		t.Fatalf("answer shown %q, want %q", answer, o.ChatSentence)
	}
	shot(ctx, t, "7-chat")
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
	run(t, ctx, "the colleague reads it",
		chromedp.Navigate(in.URL+"/shared"),
		chromedp.Click(`#shared li a`),
		waitPath(ctx, func(p string) bool { return p == chatPath }),
		chromedp.Text(`.msg.assistant .msg-body`, &read),
	)
	if read != answer {
		t.Fatalf("shared chat shows %q, owner saw %q", read, answer)
	}
	var composers int
	run(t, ctx, "read-only", chromedp.Evaluate(`document.querySelectorAll('#composer').length`, &composers))
	if composers != 0 {
		t.Fatal("a read-only reader gets a composer")
	}
	shot(ctx, t, "8-shared-read")
}

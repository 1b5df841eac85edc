package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"quire/app/llm/ollamatest"
	"quire/app/llm/tinymodel"
)

// Agent mode in a real browser, against the real binary, the real Ollama and
// the tiny agent model: the step shows folded above the streamed answer,
// unfolds from the keyboard, stays after a reload, and the chat's settings
// turn the mode off; the page fits a phone and keeps a clean console.
func TestBrowserAgentSteps(t *testing.T) {
	ctx := browser(t)
	in, o, token := startWithOllama(t)
	if err := o.CreateAgentModel(t.Context(), ollamatest.AgentModel, tinymodel.AgentOptions{}); err != nil {
		t.Fatal(err)
	}
	var ws, kb, chat struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", token, map[string]any{"name": "Company policies"}, &kb)
	doc := in.upload(ws.ID, token, "leave.md", "# Leave\n\nUnused vacation days carry over until the end of March.", kb.ID)
	for deadline := time.Now().Add(30 * time.Second); ; {
		var d struct{ Status string }
		in.api("GET", "/api/workspaces/"+ws.ID+"/documents/"+doc, token, nil, &d)
		if d.Status == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("document still %s", d.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats", token, map[string]any{"name": "Vacation questions", "model": ollamatest.AgentModel, "knowledge_base_ids": []string{kb.ID}}, &chat)
	chatPath := "/w/" + ws.ID + "/c/" + chat.ID

	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	console := watchConsole(ctx, t)
	const summary = "Searched “vacation carry-over” in the attached knowledge bases — 1 passage"
	var step, answer, cited string
	var open bool
	run(t, ctx, "ask in agent mode",
		chromedp.Navigate(in.URL+chatPath),
		chromedp.SendKeys(`#question`, "How many vacation days carry over?"),
		chromedp.Click(`#send`),
		chromedp.WaitVisible(`.msg.assistant[data-id] .sources li.cited`),
		chromedp.Text(`.msg.assistant .steps .step summary`, &step),
		chromedp.Text(`.msg.assistant .msg-body`, &answer),
		chromedp.Text(`.msg.assistant .sources li.cited a`, &cited),
		chromedp.Evaluate(`document.querySelector('.msg.assistant .step').open`, &open),
	)
	if step != summary || !strings.Contains(answer, "Unused vacation days carry over until March") || cited != "leave.md" || open {
		t.Fatalf("step %q (open %v), answer %q citing %q", step, open, answer, cited)
	}
	var result string
	run(t, ctx, "unfold the step from the keyboard",
		chromedp.Focus(`.msg.assistant .step summary`),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(`.msg.assistant .step[open] .step-result`),
		chromedp.Text(`.msg.assistant .step .step-result`, &result),
	)
	if !strings.Contains(result, "[1] leave.md") || !strings.Contains(result, "carry over until the end of March") {
		t.Fatalf("unfolded step %q", result)
	}
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(`.msg.assistant .steps .step summary`), chromedp.Text(`.msg.assistant .steps .step summary`, &step))
	if step != summary {
		t.Fatalf("after a reload the step reads %q", step)
	}
	run(t, ctx, "unfold for the screenshots", chromedp.Click(`.msg.assistant .step summary`), chromedp.WaitVisible(`.step[open] .step-result`))
	p := layoutPage{"agent-chat", chatPath}
	for _, width := range []int64{1280, 390} {
		run(t, ctx, "viewport", viewport(width, 900), chromedp.WaitVisible(`.msg.assistant .steps`))
		checkWidth(t, ctx, p)
		shots(t, ctx, p, int(width))
	}
	run(t, ctx, "desktop", desktop(), viewport(1280, 900))

	var mode struct {
		AgentMode *bool `json:"agent_mode"`
	}
	run(t, ctx, "turn agent mode off",
		chromedp.SetValue(`#chat-settings select[name=agent_mode]`, "off"),
		chromedp.Evaluate(`document.querySelector('#chat-settings select[name=agent_mode]').dispatchEvent(new Event('change', {bubbles: true}))`, nil),
		chromedp.Poll(`document.getElementById('settings-saved').textContent === 'Saved.'`, nil),
	)
	in.api("GET", "/api/workspaces/"+ws.ID+"/chats/"+chat.ID, token, nil, &mode)
	if mode.AgentMode == nil || *mode.AgentMode {
		t.Fatalf("agent_mode after choosing Off: %v", mode.AgentMode)
	}
	if errs := console(); len(errs) > 0 {
		t.Fatalf("console errors: %v", errs)
	}
}

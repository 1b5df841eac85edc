package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"quire/app/answer"
	"quire/app/config"
	"quire/app/http/api"
	"quire/app/llm/ollamatest"
	"quire/app/llm/tinymodel"
)

// Agent mode against the real Ollama and the tiny agent model: it calls
// search_knowledge first, answers with [1] once it has a tool result.

const vacationPolicy = "# Leave\n\nUnused vacation days carry over until the end of March. Vacation carry-over beyond five days needs approval."

// agentFixture is a workspace with the "Company policies" knowledge base
// holding the vacation policy, a member who owns an agent chat over it, and
// the workspace owner (an admin).
type agentFixture struct {
	ts          *testServer
	o           *ollamatest.Server
	admin, user user
	ws          api.WorkspaceJSON
	base, cp    string
	kb          api.KbJSON
	doc         api.DocumentJSON
	chatID      string
}

// endlessAgent calls search_knowledge after every result too.
const endlessAgent = "quire-tiny-agent-endless"

func newAgentServer(t testing.TB, mutate ...func(*config.Config)) (*testServer, *ollamatest.Server) {
	t.Helper()
	o := ollamaForTest(t)
	ts := newTestServer(t, append([]func(*config.Config){func(c *config.Config) { c.OllamaURL = o.URL }}, mutate...)...)
	setModels(t, ts, o)
	startProcessing(t, ts)
	if err := o.CreateAgentModel(t.Context(), ollamatest.AgentModel, tinymodel.AgentOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := o.CreateEndlessAgentModel(t.Context(), endlessAgent, tinymodel.AgentOptions{}); err != nil {
		t.Fatal(err)
	}
	return ts, o
}

func newAgentFixture(t testing.TB, model string, mutate ...func(*config.Config)) *agentFixture {
	t.Helper()
	ts, o := newAgentServer(t, mutate...)
	f := &agentFixture{ts: ts, o: o, admin: ts.signup("admin"), user: ts.signup("member")}
	f.ws = ts.createWorkspace(f.admin, "Acme")
	ts.addMember(f.ws, f.admin, f.user, "member")
	f.base = "/api/workspaces/" + f.ws.ID
	ts.must(201, req{method: "POST", path: f.base + "/knowledge-bases", token: f.admin.token, body: map[string]any{"name": "Company policies", "shared_with_workspace": true}}).json(&f.kb)
	ts.upload(f.admin, f.ws.ID, "leave.md", []byte(vacationPolicy), map[string]string{"knowledge_base_ids": f.kb.ID}).json(&f.doc)
	ts.waitReady(f.admin, f.ws.ID, f.doc.ID)
	f.chatID = f.newChat(t, model, f.kb.ID)
	f.cp = f.base + "/chats/" + f.chatID
	return f
}

func (f *agentFixture) newChat(t testing.TB, model string, kbIDs ...string) string {
	var ch api.ChatJSON
	f.ts.must(201, req{method: "POST", path: f.base + "/chats", token: f.user.token, body: map[string]any{"model": model, "knowledge_base_ids": kbIDs}}).json(&ch)
	return ch.ID
}

// ask posts a question as SSE and returns the events.
func (f *agentFixture) ask(t *testing.T, cp, question string) []sse {
	t.Helper()
	res := f.ts.must(200, req{method: "POST", path: cp + "/messages", token: f.user.token, body: map[string]string{"content": question},
		headers: map[string]string{"Accept": "text/event-stream"}})
	return parseSSE(t, res.Body)
}

func lastMessage(t *testing.T, evs []sse) api.MessageJSON {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1].name != "done" {
		t.Fatalf("the reply did not end with done: %v", evs)
	}
	var m api.MessageJSON
	json.Unmarshal(evs[len(evs)-1].data, &m)
	return m
}

func stepsOf(t *testing.T, m api.MessageJSON) []answer.Step {
	t.Helper()
	var steps []answer.Step
	if err := json.Unmarshal(m.Steps, &steps); err != nil {
		t.Fatalf("steps %s: %v", m.Steps, err)
	}
	return steps
}

// usageRows are the chat-kind ai_usage rows of a reply.
func (f *agentFixture) usageRows(t *testing.T, msgID string) int {
	t.Helper()
	var n int
	if err := f.ts.rawDB().QueryRow(`SELECT count(*) FROM ai_usage WHERE message_id = ? AND kind = 'chat' AND input_tokens > 0`, msgID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The loop end to end: the steps stream as they happen, the answer cites
// the passage the tool found, every model call is one usage row, and the
// steps are the same after a reload, for a colleague it is shared with and
// (without the passages) on a public link.
func TestAgentLoopEndToEnd(t *testing.T) {
	f := newAgentFixture(t, ollamatest.AgentModel)
	evs := f.ask(t, f.cp, "How many vacation days carry over?")
	var names []string
	var streamed []answer.Step
	var text strings.Builder
	for _, e := range evs {
		names = append(names, e.name)
		switch e.name {
		case "step":
			var s answer.Step
			json.Unmarshal(e.data, &s)
			streamed = append(streamed, s)
		case "delta":
			var d struct{ Content string }
			json.Unmarshal(e.data, &d)
			text.WriteString(d.Content)
		}
	}
	if got := strings.Join(names, ","); !strings.HasPrefix(got, "user_message,step,step,citations,delta") || !strings.HasSuffix(got, ",done") {
		t.Fatalf("events %s", got)
	}
	done := lastMessage(t, evs)
	t.Logf("events %s\nsteps %s\nanswer %q citations %s", strings.Join(names, ","), done.Steps, done.Content, done.Citations)
	if done.Content != tinymodel.DefaultAgentAnswer || text.String() != done.Content || done.Status != "complete" {
		t.Fatalf("answer %q (streamed %q, %s)", done.Content, text.String(), done.Status)
	}
	steps := stepsOf(t, done)
	if len(steps) != 2 || steps[0].Role != "assistant" || len(steps[0].ToolCalls) != 1 || steps[0].ToolCalls[0].Name != "search_knowledge" ||
		string(steps[0].ToolCalls[0].Arguments) != `{"query":"vacation carry-over"}` {
		t.Fatalf("steps %+v", steps)
	}
	res := steps[1]
	if res.Role != "tool" || res.ToolCallID != steps[0].ToolCalls[0].ID || res.Passages != 1 || res.Summary != "Searched “vacation carry-over” in the attached knowledge bases — 1 passage" ||
		!strings.Contains(res.Content, "[1] leave.md — Leave (document_id "+f.doc.ID+")") || !strings.Contains(res.Content, "carry over until the end of March") {
		t.Fatalf("tool result %+v", res)
	}
	if len(streamed) != 2 || streamed[1].Summary != res.Summary {
		t.Fatalf("streamed steps %+v", streamed)
	}
	var cites []map[string]any
	json.Unmarshal(done.Citations, &cites)
	if len(cites) != 1 || cites[0]["cited"] != true || cites[0]["document_id"] != f.doc.ID || cites[0]["n"] != 1.0 {
		t.Fatalf("citations %s", done.Citations)
	}
	var passage answer.Passage
	f.ts.must(200, req{method: "GET", path: f.cp + "/messages/" + done.ID + "/citations/1", token: f.user.token}).json(&passage)
	if !passage.CanOpen || !strings.Contains(passage.Text, "carry over until the end of March") {
		t.Fatalf("citation [1] %+v", passage)
	}
	if n := f.usageRows(t, done.ID); n != 2 {
		t.Errorf("%d chat usage rows for a reply of two model calls", n)
	}

	// Reload: the same steps.
	var msgs api.List[api.MessageJSON]
	f.ts.must(200, req{method: "GET", path: f.cp + "/messages", token: f.user.token}).json(&msgs)
	if len(msgs.Items) != 2 || string(msgs.Items[1].Steps) != string(done.Steps) || string(msgs.Items[0].Steps) != "[]" {
		t.Fatalf("reloaded messages %+v", msgs.Items)
	}
	// A colleague it is shared with: the same steps.
	colleague := f.ts.signup("colleague")
	f.ts.addMember(f.ws, f.admin, colleague, "member")
	f.ts.must(201, req{method: "POST", path: f.cp + "/shares", token: f.user.token, body: map[string]int64{"user_id": colleague.ID}})
	f.ts.must(200, req{method: "GET", path: f.cp + "/messages", token: colleague.token}).json(&msgs)
	if string(msgs.Items[1].Steps) != string(done.Steps) {
		t.Fatalf("shared steps %s", msgs.Items[1].Steps)
	}
	page := string(f.ts.must(200, req{method: "GET", path: "/w/" + f.ws.ID + "/c/" + f.chatID, token: colleague.token}).Body)
	if !strings.Contains(page, "Searched “vacation carry-over” in the attached knowledge bases — 1 passage") {
		t.Error("the shared chat page does not show the step")
	}
	// A public link: the steps and their summaries, not the passages the tools returned.
	var pub struct {
		PublicID string `json:"public_id"`
	}
	f.ts.must(200, req{method: "POST", path: f.cp + "/public", token: f.user.token, body: map[string]bool{"enabled": true}}).json(&pub)
	var transcript api.PublicChat
	f.ts.must(200, req{method: "GET", path: "/api/public/chats/" + pub.PublicID}).json(&transcript)
	var public []answer.Step
	json.Unmarshal(transcript.Messages[1].Steps, &public)
	if len(public) != 2 || public[1].Summary != res.Summary || public[1].Content != "" || public[0].ToolCalls[0].Name != "search_knowledge" {
		t.Fatalf("public steps %s", transcript.Messages[1].Steps)
	}
	html := string(f.ts.must(200, req{method: "GET", path: "/p/" + pub.PublicID}).Body)
	if !strings.Contains(html, res.Summary) || strings.Contains(html, `class="step-result"`) {
		t.Error("the public page should show the step's summary, not the tool's result")
	}
	if !strings.Contains(page, `class="step-result"`) {
		t.Error("the shared chat page should unfold the tool's result")
	}
}

// A model without tools keeps the single retrieval before its answer, and
// agent_mode false turns the loop off for a model that has them.
func TestAgentModeFollowsTheModelAndTheSetting(t *testing.T) {
	f := newAgentFixture(t, ollamatest.AgentModel)
	var ch api.ChatJSON
	f.ts.must(200, req{method: "GET", path: f.cp, token: f.user.token}).json(&ch)
	if ch.AgentMode != nil {
		t.Fatalf("a new chat's agent_mode is %v, want null (follow the model)", *ch.AgentMode)
	}
	plain := f.base + "/chats/" + f.newChat(t, f.o.ChatModel, f.kb.ID)
	evs := f.ask(t, plain, "How many vacation days carry over?")
	done := lastMessage(t, evs)
	if done.Content != f.o.ChatSentence || string(done.Steps) != "[]" || evs[1].name != "citations" {
		t.Fatalf("a model without tools: %q steps %s", done.Content, done.Steps)
	}

	f.ts.must(200, req{method: "PATCH", path: f.cp, token: f.user.token, body: map[string]any{"agent_mode": false}}).json(&ch)
	if ch.AgentMode == nil || *ch.AgentMode {
		t.Fatalf("agent_mode after turning it off: %v", ch.AgentMode)
	}
	done = lastMessage(t, f.ask(t, f.cp, "How many vacation days carry over?"))
	// Off, the agent model gets no tools and writes its first sentence as text.
	if string(done.Steps) != "[]" || done.Content != tinymodel.DefaultAgentCall {
		t.Fatalf("agent mode off: %q steps %s", done.Content, done.Steps)
	}
	f.ts.must(200, req{method: "PATCH", path: f.cp, token: f.user.token, body: map[string]any{"agent_mode": nil}}).json(&ch)
	if ch.AgentMode != nil {
		t.Fatal("agent_mode null should follow the model again")
	}
	for _, bad := range []any{"yes", 1, []bool{true}, map[string]bool{"on": true}} {
		if res := f.ts.must(400, req{method: "PATCH", path: f.cp, token: f.user.token, body: map[string]any{"agent_mode": bad}}); res.errField() != "agent_mode" {
			t.Errorf("agent_mode %v: %s", bad, res.Body)
		}
	}
}

// The step limit and the time limit end the reply with a note saying which,
// never a hang; every model call made is still accounted for.
func TestAgentLimits(t *testing.T) {
	f := newAgentFixture(t, endlessAgent, func(c *config.Config) { c.Generation.AgentMaxSteps = 3 })
	began := time.Now()
	done := lastMessage(t, f.ask(t, f.cp, "How many vacation days carry over?"))
	if !strings.Contains(done.Content, "I stopped after 3 steps without an answer (the step limit of agent mode)") || done.Status != "complete" {
		t.Fatalf("step limit: %q (%s)", done.Content, done.Status)
	}
	steps := stepsOf(t, done)
	if len(steps) != 4 { // two rounds of call and result; the third call is not run
		t.Fatalf("%d steps: %+v", len(steps), steps)
	}
	// The same passage found twice keeps its one number.
	if !strings.Contains(steps[3].Content, "[1] leave.md") || strings.Contains(steps[3].Content, "[2]") {
		t.Errorf("second result %q", steps[3].Content)
	}
	if n := f.usageRows(t, done.ID); n != 3 {
		t.Errorf("%d usage rows for three model calls", n)
	}
	t.Logf("three steps took %v", time.Since(began))

	slow, o := newAgentServer(t, func(c *config.Config) {
		c.Generation.AgentMaxSteps, c.Generation.AgentTimeout = 50, config.Duration{Duration: time.Second}
	})
	g := &agentFixture{ts: slow, o: o, admin: slow.signup("admin2"), user: slow.signup("member2")}
	g.ws = slow.createWorkspace(g.admin, "Slow")
	slow.addMember(g.ws, g.admin, g.user, "member")
	g.base = "/api/workspaces/" + g.ws.ID
	slow.must(201, req{method: "POST", path: g.base + "/knowledge-bases", token: g.admin.token, body: map[string]any{"name": "Company policies", "shared_with_workspace": true}}).json(&g.kb)
	slow.upload(g.admin, g.ws.ID, "leave.md", []byte(vacationPolicy), map[string]string{"knowledge_base_ids": g.kb.ID}).json(&g.doc)
	slow.waitReady(g.admin, g.ws.ID, g.doc.ID)
	cp := g.base + "/chats/" + g.newChat(t, endlessAgent, g.kb.ID)
	began = time.Now()
	done = lastMessage(t, g.ask(t, cp, "How many vacation days carry over?"))
	took := time.Since(began)
	if !strings.Contains(done.Content, "I stopped after 1s without an answer (the time limit of agent mode)") || done.Status != "complete" {
		t.Fatalf("time limit: %q (%s)", done.Content, done.Status)
	}
	if took > 5*time.Second {
		t.Errorf("a 1 s time limit took %v", took)
	}
	t.Logf("time limit: %d steps in %v", len(stepsOf(t, done)), took)
}

// Stop ends the loop between or during model calls: the reply is kept as
// stopped with the steps so far, and no further model call is made.
func TestAgentStopMidLoop(t *testing.T) {
	f := newAgentFixture(t, endlessAgent, func(c *config.Config) { c.Generation.AgentMaxSteps = 50 })
	var wg sync.WaitGroup
	wg.Add(1)
	var evs []sse
	go func() {
		defer wg.Done()
		evs = f.ask(t, f.cp, "How many vacation days carry over?")
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		g := f.ts.srv.answer.Running(f.chatID)
		if g != nil {
			got, _, _ := g.Next(0)
			if len(got) >= 4 { // a round of call and result
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the loop made no steps")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out struct {
		AssistantMessage api.MessageJSON `json:"assistant_message"`
	}
	f.ts.must(200, req{method: "POST", path: f.cp + "/stop", token: f.user.token}).json(&out)
	wg.Wait()
	m := out.AssistantMessage
	if m.Status != "stopped" || len(stepsOf(t, m)) < 2 {
		t.Fatalf("stopped reply %s with steps %s", m.Status, m.Steps)
	}
	rows := f.usageRows(t, m.ID)
	time.Sleep(500 * time.Millisecond)
	if again := f.usageRows(t, m.ID); again != rows || rows < 1 {
		t.Errorf("usage rows %d then %d: the loop went on after the stop", rows, again)
	}
	if evs[len(evs)-1].name != "done" {
		t.Errorf("the stream ended with %s", evs[len(evs)-1].name)
	}
}

// Quota is reserved per model call: when the month's tokens run out after
// the first call, the reply ends with the quota error and the steps so far.
func TestAgentQuotaExhaustedMidLoop(t *testing.T) {
	f := newAgentFixture(t, ollamatest.AgentModel)
	var used int64 // embedding the document
	f.ts.rawDB().QueryRow(`SELECT coalesce(sum(input_tokens + output_tokens), 0) FROM ai_usage`).Scan(&used)
	st := f.ts.srv.currentSettings()
	// The first call reserves the prompt room and reply budget (4096 tokens
	// with the tiny model's context); the second asks as much again on top of
	// what the first used.
	st.TokenLimit = used + 4096 + 20
	if err := f.ts.srv.saveSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	evs := f.ask(t, f.cp, "How many vacation days carry over?")
	last := evs[len(evs)-1]
	var e struct{ Code, Message, MessageID string }
	json.Unmarshal(last.data, &e)
	if last.name != "error" || e.Code != "quota_exceeded" || !strings.Contains(e.Message, "tokens for this month left") {
		t.Fatalf("last event %s %s", last.name, last.data)
	}
	var msgs api.List[api.MessageJSON]
	f.ts.must(200, req{method: "GET", path: f.cp + "/messages", token: f.user.token}).json(&msgs)
	m := msgs.Items[1]
	if m.Status != "failed" || len(stepsOf(t, m)) != 2 || f.usageRows(t, m.ID) != 1 {
		t.Fatalf("reply %s steps %s usage rows %d", m.Status, m.Steps, f.usageRows(t, m.ID))
	}
	var held int
	f.ts.rawDB().QueryRow(`SELECT count(*) FROM usage_reservations`).Scan(&held)
	if held != 0 {
		t.Errorf("%d reservations left held", held)
	}
}

// The tools see exactly what the chat's owner sees, in the chat's knowledge
// bases only: a base restricted to another team after it was attached, a
// document in it named by id, a base of another workspace named by id, and
// malformed, oversized or unknown calls all come back as refusals the model
// reads, never as passages.
func TestAgentToolsTenancy(t *testing.T) {
	f := newAgentFixture(t, ollamatest.AgentModel)
	ctx := context.Background()
	// The board's papers, visible to the member when attached, then
	// restricted to a team the member is not in.
	var board api.KbJSON
	f.ts.must(201, req{method: "POST", path: f.base + "/knowledge-bases", token: f.admin.token, body: map[string]any{"name": "Board papers", "shared_with_workspace": true}}).json(&board)
	var secret api.DocumentJSON
	f.ts.upload(f.admin, f.ws.ID, "board.md", []byte("# Board\n\nVacation carry-over for executives: unlimited, a secret of the board."), map[string]string{"knowledge_base_ids": board.ID}).json(&secret)
	f.ts.waitReady(f.admin, f.ws.ID, secret.ID)
	both := f.base + "/chats/" + f.newChat(t, ollamatest.AgentModel, f.kb.ID, board.ID)
	// Another workspace of the admin's, with its own knowledge base.
	other := f.ts.createWorkspace(f.admin, "Elsewhere")
	var foreign api.KbJSON
	f.ts.must(201, req{method: "POST", path: "/api/workspaces/" + other.ID + "/knowledge-bases", token: f.admin.token, body: map[string]any{"name": "Foreign", "shared_with_workspace": true}}).json(&foreign)
	// The member's own upload in no knowledge base of the chat: visible to them, not the chat's.
	var own api.DocumentJSON
	f.ts.upload(f.user, f.ws.ID, "mine.md", []byte("# Mine\n\nMy vacation carry-over notes."), nil).json(&own)
	f.ts.waitReady(f.user, f.ws.ID, own.ID)

	// One agent model per hostile call, each in a chat attached to both bases.
	hostile := []struct {
		name, call, refusal, cp string
	}{
		{"restricted base by id", `{"name": "search_knowledge", "arguments": {"query": "vacation", "knowledge_base": "` + board.ID + `"}}`, "there is no knowledge base", ""},
		{"restricted base by name", `{"name": "search_knowledge", "arguments": {"query": "vacation", "knowledge_base": "Board papers"}}`, "there is no knowledge base", ""},
		{"another workspace's base", `{"name": "search_knowledge", "arguments": {"query": "vacation", "knowledge_base": "` + foreign.ID + `"}}`, "there is no knowledge base", ""},
		{"restricted document", `{"name": "read_document", "arguments": {"document_id": "` + secret.ID + `"}}`, "there is no document", ""},
		{"own document outside the chat", `{"name": "read_document", "arguments": {"document_id": "` + own.ID + `"}}`, "there is no document", ""},
		{"unknown document", `{"name": "read_document", "arguments": {"document_id": "00000000-0000-0000-0000-000000000000"}}`, "there is no document", ""},
		{"wrong type", `{"name": "search_knowledge", "arguments": {"query": 42}}`, "query must be a string", ""},
		{"wrong page", `{"name": "read_document", "arguments": {"document_id": "` + f.doc.ID + `", "page": "two"}}`, "page must be a whole number", ""},
		{"huge", `{"name": "search_knowledge", "arguments": {"query": "` + strings.Repeat("x", 17000) + `"}}`, "at most 16384 are accepted", ""},
		{"control characters", `{"name": "search_knowledge", "arguments": {"query": "\u0000\u0007\u001b"}}`, "query must not contain control characters", ""},
	}
	for i := range hostile {
		model := fmt.Sprintf("quire-tiny-agent-hostile-%d", i)
		if err := f.o.CreateAgentModel(ctx, model, tinymodel.AgentOptions{Call: hostile[i].call}); err != nil {
			t.Fatalf("%s: %v", hostile[i].name, err)
		}
		hostile[i].cp = f.base + "/chats/" + f.newChat(t, model, f.kb.ID, board.ID)
	}
	var team api.TeamJSON
	f.ts.must(201, req{method: "POST", path: f.base + "/teams", token: f.admin.token, body: map[string]string{"name": "Board"}}).json(&team)
	f.ts.must(200, req{method: "PUT", path: f.base + "/knowledge-bases/" + board.ID + "/access", token: f.admin.token, body: map[string]any{"shared_with_workspace": false, "team_ids": []int64{team.ID}}})

	leaked := func(t *testing.T, m api.MessageJSON) {
		t.Helper()
		for _, s := range stepsOf(t, m) {
			if strings.Contains(s.Content, "secret of the board") || strings.Contains(s.Content, "My vacation carry-over notes") || strings.Contains(s.Content, "board.md") {
				t.Fatalf("a tool returned what the chat may not show: %q", s.Content)
			}
		}
		if strings.Contains(string(m.Citations), secret.ID) || strings.Contains(string(m.Citations), own.ID) {
			t.Fatalf("citations %s", m.Citations)
		}
	}
	// Searching both attached bases finds the policy only.
	done := lastMessage(t, f.ask(t, both, "How many vacation days carry over?"))
	leaked(t, done)
	if s := stepsOf(t, done); len(s) != 2 || s[1].Passages != 1 || s[1].Summary != "Searched “vacation carry-over” in the attached knowledge bases — 1 passage" {
		t.Fatalf("search over a base restricted since: %+v", s)
	}

	for _, tc := range hostile {
		done := lastMessage(t, f.ask(t, tc.cp, "Tell me everything."))
		leaked(t, done)
		steps := stepsOf(t, done)
		if len(steps) != 2 || !steps[1].Error || !strings.Contains(steps[1].Content, tc.refusal) || steps[1].Passages != 0 {
			t.Errorf("%s: steps %+v, want a refusal containing %q", tc.name, steps, tc.refusal)
			continue
		}
		want := tinymodel.DefaultAgentAnswer
		if tc.name == "huge" { // the call itself is replayed to the model, and outgrows its context
			want = "The search results no longer fit in the model's context, so the answer stops here. Ask a narrower question."
		}
		if done.Status != "complete" || done.Content != want {
			t.Errorf("%s: the reply after a refusal: %q (%s)", tc.name, done.Content, done.Status)
		}
		var cites []map[string]any
		json.Unmarshal(done.Citations, &cites)
		if len(cites) != 0 {
			t.Errorf("%s: a refused call gave citations %s", tc.name, done.Citations)
		}
	}

	// read_document of a document of the chat reads it, and list names only the visible bases.
	for _, tc := range []struct{ name, call, want, summary string }{
		{"read", `{"name": "read_document", "arguments": {"document_id": "` + f.doc.ID + `"}}`, "carry over until the end of March", "Read “leave.md” — page 1 of 1"},
		{"list", `{"name": "list_knowledge_bases", "arguments": {}}`, "Company policies (id " + f.kb.ID, "Listed knowledge bases — 1"},
		// An argument the tool does not take changes nothing: the search stays within the chat's bases.
		{"extra argument", `{"name": "search_knowledge", "arguments": {"query": "vacation", "scope": "everything"}}`, "[1] leave.md", "Searched “vacation” in the attached knowledge bases — 1 passage"},
	} {
		model := "quire-tiny-agent-" + strings.ReplaceAll(tc.name, " ", "-")
		if err := f.o.CreateAgentModel(ctx, model, tinymodel.AgentOptions{Call: tc.call}); err != nil {
			t.Fatal(err)
		}
		cp := f.base + "/chats/" + f.newChat(t, model, f.kb.ID)
		done := lastMessage(t, f.ask(t, cp, "Tell me everything."))
		leaked(t, done)
		steps := stepsOf(t, done)
		if len(steps) != 2 || steps[1].Error || !strings.Contains(steps[1].Content, tc.want) || steps[1].Summary != tc.summary || strings.Contains(steps[1].Content, "Board papers") {
			t.Errorf("%s: steps %+v", tc.name, steps)
		}
	}
}

// BenchmarkAgentLoopOverhead measures what agent mode adds over today's
// single retrieval, in the same run with the tiny models: the same question
// over the same knowledge base answered by the chat model after one
// retrieval, and by the agent model (a tool call, a search, the answer),
// each through the JSON API in a fresh chat.
//
//	go test ./app -run '^$' -bench AgentLoopOverhead -benchtime 30x
func BenchmarkAgentLoopOverhead(b *testing.B) {
	f := newAgentFixture(b, ollamatest.AgentModel)
	f.ts.srv.chatPosts.Max = 2*b.N + 1
	var single, agent time.Duration
	ask := func(model string) time.Duration {
		b.StopTimer()
		var ch api.ChatJSON
		f.ts.must(201, req{method: "POST", path: f.base + "/chats", token: f.user.token, body: map[string]any{"name": "bench", "model": model, "knowledge_base_ids": []string{f.kb.ID}}}).json(&ch)
		b.StartTimer()
		began := time.Now()
		f.ts.must(201, req{method: "POST", path: f.base + "/chats/" + ch.ID + "/messages", token: f.user.token, body: map[string]string{"content": "How many vacation days carry over?"}})
		return time.Since(began)
	}
	b.ResetTimer()
	for range b.N {
		single += ask(f.o.ChatModel)
		agent += ask(ollamatest.AgentModel)
	}
	n := float64(b.N)
	b.ReportMetric(float64(single.Microseconds())/1000/n, "single-retrieval-ms")
	b.ReportMetric(float64(agent.Microseconds())/1000/n, "agent-loop-ms")
	b.ReportMetric(float64(agent)/float64(single), "agent-over-single-x")
}

package answer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"quire/app/chat"
	"quire/app/llm"
	"quire/app/plan"
	"quire/store"
)

// Agent mode: instead of one retrieval before the answer, the model is
// offered the knowledge tools and loops (model → tool calls → results →
// model) until it answers, within a step limit and a time limit. Every model
// call reserves quota and writes its own usage row; every step is kept with
// the reply (Step), so each reader sees how the answer was found.

// Defaults of Config.AgentMaxSteps and Config.AgentTimeout.
const (
	DefaultAgentMaxSteps = 6
	DefaultAgentTimeout  = 60 * time.Second
)

// maxCallsPerStep bounds the tool calls one model reply may make; the
// others are answered with a refusal, so the model learns why.
const maxCallsPerStep = 4

// EventStep carries Step: a tool call or a tool result of an agent reply.
const EventStep = "step"

// Step is one message of an agent reply's loop, in the chat-message shape
// models use: the assistant's tool calls, or a tool's result.
type Step struct {
	Role       string     `json:"role"` // assistant or tool
	ToolCalls  []StepCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Name       string     `json:"name,omitempty"`    // the tool that answered
	Content    string     `json:"content,omitempty"` // what the model read
	Summary    string     `json:"summary,omitempty"` // the step as a reader is shown it
	Passages   int        `json:"passages"`          // how many passages the result gave
	Error      bool       `json:"error,omitempty"`   // the call was refused or failed
}

// StepCall is a tool call the model made.
type StepCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// agentRun is an agent reply's state: its tools, its steps so far and every
// passage the tools returned, numbered in the order first returned.
type agentRun struct {
	tools   Toolbox
	steps   []Step
	sources []chat.Source
	byChunk map[string]int // chunk id → its number
	looped  bool           // the loop took over the admitted reservation
}

// agentPrompt replaces the grounding prompt: the sources come from the tools.
const agentPrompt = `You answer questions for a team using their documents.
Call search_knowledge to find passages before answering; the results are numbered.
Cite the passages you use inline like [1] or [2][3].
If the documents do not contain the answer, say so plainly instead of guessing.`

// agentMode tells whether a chat's reply runs the loop: with knowledge bases
// attached (an empty scope would mean every document) and a model that can
// call tools, unless the chat turned it off.
func (s *Service) agentMode(ch *store.Chat, info *llm.ModelInfo) bool {
	if len(ch.KnowledgeBaseIDs) == 0 || s.cfg.Tools == nil || !info.Can("tools") {
		return false
	}
	return ch.AgentMode == nil || *ch.AgentMode
}

// loop writes an agent reply. It returns what the final answer is (with the
// passages it cites), the usage summed over the calls, and why it ended
// early: a stop, a failure, the quota. The step and time limits are not
// errors: the reply ends with a note saying which was hit.
func (s *Service) loop(ctx context.Context, g *Generation, r *run) (chat.Result, error) {
	a := r.agent
	var total chat.Result
	total.Model = r.req.Model
	lctx, cancel := context.WithTimeout(ctx, s.agentTimeout())
	defer cancel()
	hold := r.hold // the first call's reservation was made when the question was admitted
	a.looped = true
	for step := 1; ; step++ {
		if step > 1 {
			in, out := s.agentEstimate(r)
			var err error
			if hold, err = s.plan.Reserve(lctx, r.wsID, r.req.Model, in, out); err != nil {
				if lctx.Err() != nil && ctx.Err() == nil {
					return s.timeUp(g, total), nil
				}
				return total, err
			}
		}
		msgs, fits := s.agentMessages(r)
		if !fits {
			s.plan.Release(context.WithoutCancel(ctx), hold)
			return s.note(g, total, "The search results no longer fit in the model's context, so the answer stops here. Ask a narrower question."), nil
		}
		res, err := s.llm.ChatStream(lctx, llm.ChatRequest{Model: r.req.Model, Messages: msgs, Options: chat.Options(r.req), Tools: a.tools.Definitions()},
			func(d string) { g.emit(Event{Name: EventDelta, Delta: d}) })
		if !res.Done && res.Content != "" { // cut short: counted from its text, as a single reply is
			res.OutputTokens = (len(res.Content) + 3) / 4
		}
		s.plan.Settle(context.WithoutCancel(ctx), hold, plan.Call{WorkspaceID: r.wsID, Kind: store.UsageChat, Model: r.req.Model, UserID: r.viewer.UserID,
			ChatID: r.chatID, MessageID: r.reply.ID, Input: res.InputTokens, Output: res.OutputTokens, Duration: res.Duration})
		total.InputTokens += res.InputTokens
		total.OutputTokens += res.OutputTokens
		total.Duration += res.Duration
		total.Content, total.DoneReason = res.Content, res.DoneReason
		if res.Model != "" {
			total.Model = res.Model
		}
		total.Sources = chat.MarkCited(total.Content, a.sources)
		switch {
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return s.timeUp(g, total), nil
		case err != nil:
			return total, err
		case len(res.ToolCalls) == 0:
			return total, nil
		case step >= s.agentMaxSteps():
			return s.note(g, total, fmt.Sprintf("I stopped after %d steps without an answer (the step limit of agent mode). Ask a narrower question, or turn agent mode off for this chat.", step)), nil
		}
		s.runTools(lctx, g, a, step, res)
		if lctx.Err() != nil {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			return s.timeUp(g, total), nil
		}
	}
}

func (s *Service) timeUp(g *Generation, total chat.Result) chat.Result {
	return s.note(g, total, fmt.Sprintf("I stopped after %s without an answer (the time limit of agent mode). Ask a narrower question, or turn agent mode off for this chat.", s.agentTimeout()))
}

// note ends a reply with why it ended early, after any text already written.
func (s *Service) note(g *Generation, total chat.Result, text string) chat.Result {
	if total.Content != "" {
		text = "\n\n" + text
	}
	g.emit(Event{Name: EventDelta, Delta: text})
	total.Content += text
	total.Sources = chat.MarkCited(total.Content, total.Sources)
	return total
}

// runTools records the model's tool calls as a step, runs them one by one
// and records each result, numbering new passages after those of earlier
// steps so a citation [n] means one passage for the whole reply.
func (s *Service) runTools(ctx context.Context, g *Generation, a *agentRun, step int, res llm.ChatResult) {
	call := Step{Role: "assistant"}
	for i, tc := range res.ToolCalls {
		id := tc.ID
		if id == "" {
			id = fmt.Sprintf("call_%d_%d", step, i+1)
		}
		call.ToolCalls = append(call.ToolCalls, StepCall{ID: id, Name: tc.Name, Arguments: tc.Arguments})
	}
	a.steps = append(a.steps, call)
	g.emit(Event{Name: EventStep, Step: &call})
	for i, tc := range call.ToolCalls {
		if ctx.Err() != nil {
			return
		}
		out := Step{Role: "tool", ToolCallID: tc.ID, Name: tc.Name}
		tr := ToolResult{Error: true, Text: fmt.Sprintf("Error: at most %d tool calls are run at once; call it again after reading these results", maxCallsPerStep),
			Summary: "Not run: too many tool calls at once"}
		if i < maxCallsPerStep {
			var err error
			if tr, err = a.tools.Run(ctx, tc.Name, tc.Arguments); err != nil {
				if ctx.Err() != nil {
					return
				}
				// Quire's own failure: logged in full, the model told only that it failed.
				s.log.Warn("agent tool failed", "tool", tc.Name, "err", err)
				tr = ToolResult{Error: true, Text: "Error: the tool failed; try again, or answer with what you have", Summary: clip(tc.Name, 64) + " failed"}
			}
		}
		out.Content, out.Summary, out.Error = a.number(tr), tr.Summary, tr.Error
		out.Passages = len(tr.Passages)
		a.steps = append(a.steps, out)
		g.emit(Event{Name: EventStep, Step: &out})
	}
	g.emit(Event{Name: EventCitations, Sources: a.sources})
}

// number gives the result's passages their numbers (a passage already
// returned keeps its first) and formats what the model reads.
func (a *agentRun) number(tr ToolResult) string {
	if a.byChunk == nil {
		a.byChunk = map[string]int{}
	}
	var b strings.Builder
	if tr.Text != "" {
		b.WriteString(tr.Text)
		b.WriteString("\n")
	}
	for _, p := range tr.Passages {
		n, seen := a.byChunk[p.ChunkID]
		if !seen {
			n = len(a.sources) + 1
			p.N = n
			a.byChunk[p.ChunkID] = n
			a.sources = append(a.sources, p)
		}
		fmt.Fprintf(&b, "[%d] %s", n, p.DocumentName)
		if p.Location != "" {
			fmt.Fprintf(&b, ", %s", p.Location)
		}
		if p.Heading != "" {
			fmt.Fprintf(&b, " — %s", p.Heading)
		}
		fmt.Fprintf(&b, " (document_id %s)\n%s\n\n", p.DocumentID, strings.TrimSpace(p.Content))
	}
	return strings.TrimSpace(b.String())
}

// agentMessages is the prompt of the loop's next call: the agent prompt and
// the chat's own, as much recent history as fits, the question and every
// step so far. It does not fit when the steps alone outgrow the context.
func (s *Service) agentMessages(r *run) ([]llm.Message, bool) {
	system := agentPrompt
	if r.req.System != "" {
		system += "\n" + r.req.System
	}
	var steps []llm.Message
	used := 0
	for _, st := range r.agent.steps {
		m := llm.Message{Role: st.Role, Content: st.Content, ToolName: st.Name, ToolCallID: st.ToolCallID}
		for _, tc := range st.ToolCalls {
			m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
			used += tokens(tc.Name + string(tc.Arguments))
		}
		used += tokens(st.Content)
		steps = append(steps, m)
	}
	left := chat.PromptRoom(r.req) - tokens(system) - tokens(r.req.Question) - tokens(string(r.agent.tools.Definitions())) - used
	if left < 0 {
		return nil, false
	}
	first := len(r.req.History)
	for first > 0 && tokens(r.req.History[first-1].Content) <= left {
		left -= tokens(r.req.History[first-1].Content)
		first--
	}
	msgs := []llm.Message{{Role: "system", Content: system}}
	for _, t := range r.req.History[first:] {
		msgs = append(msgs, llm.Message{Role: t.Role, Content: t.Content})
	}
	msgs = append(msgs, llm.Message{Role: "user", Content: r.req.Question})
	return append(msgs, steps...), true
}

// agentEstimate is what a later call of the loop reserves: its whole prompt
// room (the prompt is fitted into it) and the reply budget.
func (s *Service) agentEstimate(r *run) (input, output int) {
	return chat.PromptRoom(r.req), chat.ReplyBudget(r.req)
}

// tokens estimates a text's tokens as package chat does (four bytes each).
func tokens(s string) int { return (len(s)+3)/4 + 4 }

func (s *Service) agentMaxSteps() int {
	if s.cfg.AgentMaxSteps > 0 {
		return s.cfg.AgentMaxSteps
	}
	return DefaultAgentMaxSteps
}

func (s *Service) agentTimeout() time.Duration {
	if s.cfg.AgentTimeout > 0 {
		return s.cfg.AgentTimeout
	}
	return DefaultAgentTimeout
}

// stepsJSON is the steps as stored with the reply.
func (a *agentRun) stepsJSON() json.RawMessage {
	if a == nil || len(a.steps) == 0 {
		return nil
	}
	b, _ := json.Marshal(a.steps)
	return b
}

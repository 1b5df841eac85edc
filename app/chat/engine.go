// Package chat generates grounded answers: it builds a prompt that numbers its
// sources, fits it into the model's context instead of letting Ollama truncate
// it silently, streams the reply through the model client, and finds which
// sources the reply cites.
package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"quire/app/llm"
)

// Source is one retrieved passage offered to the model as [N].
type Source struct {
	N            int    `json:"n"`
	ChunkID      string `json:"chunk_id"`
	DocumentID   string `json:"document_id"`
	DocumentName string `json:"document_name"`
	PageNumber   *int   `json:"page_number"`
	Location     string `json:"location"` // PageNumber as the document's kind names it: "p. 2", "slide 3"
	Heading      string `json:"section_heading"`
	Snippet      string `json:"snippet"`
	Cited        bool   `json:"cited"`
	Content      string `json:"-"`
}

// Turn is an earlier message of the conversation.
type Turn struct {
	Role    string // user or assistant
	Content string
}

// Request is one reply to generate.
type Request struct {
	Model         string
	System        string // the chat's own system prompt
	History       []Turn // earlier turns, oldest first
	Question      string
	Sources       []Source // best first
	Temperature   *float64
	TopP          *float64
	MaxTokens     *int
	ContextLength int // the model's context window in tokens (0 = unknown)

	// Conversation, when set, is the whole conversation as its caller sent
	// it (/v1, where the client owns it): it is sent as it is, never cut to
	// fit (Fits tells whether it does); System, History and Question are then
	// unused but for Question naming what retrieval searches for. Sources go
	// in a system message in front.
	Conversation []llm.Message
	Tools        json.RawMessage // function definitions passed to the model
	Format       json.RawMessage // Ollama's format: "json" or a JSON schema
	Logprobs     bool
	TopLogprobs  int
	// Extra are more Ollama options (stop, seed, presence_penalty, ...).
	Extra map[string]any
	// Prompt, with Conversation holding it as one user message (for the
	// estimates), is continued as raw text: a legacy text completion.
	Prompt string
}

// Result is a finished (or partial) reply with Ollama's own counts.
type Result struct {
	Model        string // as the model server names it
	Content      string
	ToolCalls    []llm.ToolCall
	Logprobs     []llm.Logprob
	DoneReason   string
	InputTokens  int
	OutputTokens int
	Duration     time.Duration
	Sources      []Source // the sources actually given to the model, with Cited set
}

// estimateTokens approximates a token count without the model's tokenizer:
// about four bytes per token for English text, rounded up, plus per-message overhead.
func estimateTokens(s string) int { return (len(s)+3)/4 + 4 }

const defaultReplyBudget = 1024

const groundingPrompt = `You answer questions for a team using their documents.
Use the numbered sources below when they are relevant and cite them inline like [1] or [2][3].
If the sources do not contain the answer, say so plainly instead of guessing.`

// Messages builds the Ollama messages for a request, fitting them into the
// context window: the reply budget is reserved first, then the system prompt and
// question, then as many sources (best first) and recent history turns as fit.
// It returns the messages and the sources kept, renumbered from 1.
func Messages(r Request) ([]llm.Message, []Source) {
	if r.Conversation != nil {
		return conversationMessages(r)
	}
	budget := contextBudget(r)
	left := budget - ReplyBudget(r) - estimateTokens(r.System) - estimateTokens(groundingPrompt) - estimateTokens(r.Question)

	kept, sources, left := fitSources(r.Sources, left)
	// Most recent turns matter most: walk back from the end.
	first := len(r.History)
	for first > 0 && estimateTokens(r.History[first-1].Content) <= left {
		left -= estimateTokens(r.History[first-1].Content)
		first--
	}

	var system strings.Builder
	if len(kept) > 0 {
		system.WriteString(groundingPrompt)
		system.WriteString("\n\nSources:\n")
		system.WriteString(sources)
	}
	if r.System != "" {
		if system.Len() > 0 {
			system.WriteString("\n")
		}
		system.WriteString(r.System)
	}
	var msgs []llm.Message
	if system.Len() > 0 {
		msgs = append(msgs, llm.Message{Role: "system", Content: system.String()})
	}
	for _, t := range r.History[first:] {
		msgs = append(msgs, llm.Message{Role: t.Role, Content: t.Content})
	}
	msgs = append(msgs, llm.Message{Role: "user", Content: r.Question})
	return msgs, kept
}

// fitSources keeps as many sources, best first, as fit in left tokens,
// numbered from 1, and returns them formatted and the tokens still left.
func fitSources(all []Source, left int) (kept []Source, formatted string, rest int) {
	var b strings.Builder
	for _, s := range all {
		block := formatSource(len(kept)+1, s)
		if estimateTokens(block) > left {
			break
		}
		left -= estimateTokens(block)
		s.N = len(kept) + 1
		kept = append(kept, s)
		b.WriteString(block)
	}
	return kept, b.String(), left
}

// conversationMessages is a caller's conversation with as many sources (best
// first) as fit in front of it.
func conversationMessages(r Request) ([]llm.Message, []Source) {
	left := contextBudget(r) - ReplyBudget(r) - estimateTokens(groundingPrompt) - ConversationTokens(r)
	kept, sources, left := fitSources(r.Sources, left)
	msgs := make([]llm.Message, 0, len(r.Conversation)+1)
	if len(kept) > 0 {
		msgs = append(msgs, llm.Message{Role: "system", Content: groundingPrompt + "\n\nSources:\n" + sources})
	}
	return append(msgs, r.Conversation...), kept
}

// ConversationTokens estimates the tokens of a caller's conversation and tool definitions.
func ConversationTokens(r Request) int {
	n := estimateTokens(string(r.Tools))
	for _, m := range r.Conversation {
		n += estimateTokens(m.Content) + 768*len(m.Images) // a few hundred tokens per image
		for _, tc := range m.ToolCalls {
			n += estimateTokens(tc.Name + string(tc.Arguments))
		}
	}
	return n
}

// Fits reports whether a caller's conversation and its reply budget fit in
// the model's context (an estimate: about four bytes per token).
func Fits(r Request) (need, room int, ok bool) {
	need = ConversationTokens(r) + ReplyBudget(r)
	return need, contextBudget(r), need <= contextBudget(r)
}

func contextBudget(r Request) int {
	if r.ContextLength <= 0 {
		return 4096
	}
	return r.ContextLength
}

// ReplyBudget is the most tokens the reply may have: max_tokens (default 1024),
// at most half the context. Options passes it as num_predict, so it is a real
// bound that a quota reservation can rely on.
//
// A caller's conversation (/v1) gets the max_tokens it asked for, up to the
// whole context: Fits then refuses the request if the two do not fit, rather
// than the reply being cut at half the context without a word.
func ReplyBudget(r Request) int {
	reply := defaultReplyBudget
	if r.MaxTokens != nil {
		reply = *r.MaxTokens
		if r.Conversation != nil {
			return min(reply, contextBudget(r))
		}
	}
	return min(reply, contextBudget(r)/2)
}

// Estimate is the most usage a request may reach, what a quota reservation
// holds: the prompt bounded from above (every token is at least one byte;
// chat templates add a few tokens per message and around the whole) but never
// beyond the context the model is given, and the reply budget.
func Estimate(r Request) (input, output int) {
	msgs, _ := Messages(r)
	input = templateTokens
	for _, m := range msgs {
		input += TokenBound(m.Content)
	}
	return min(input, contextBudget(r)), ReplyBudget(r)
}

// Template overheads for Estimate: generous for the usual chat templates
// (Llama 3's header tokens, a default system block).
const (
	templateTokens = 64
	messageTokens  = 8
)

// TokenBound bounds the tokens of one text from above (see Estimate).
func TokenBound(s string) int { return len(s) + messageTokens }

// PromptRoom is the most prompt tokens a request may be given: the context
// less the reply budget (sources retrieved later may fill it).
func PromptRoom(r Request) int { return contextBudget(r) - ReplyBudget(r) }

func formatSource(n int, s Source) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%d] %s", n, s.DocumentName)
	switch {
	case s.Location != "":
		fmt.Fprintf(&b, ", %s", s.Location)
	case s.PageNumber != nil: // sources stored before they had a location
		fmt.Fprintf(&b, ", page %d", *s.PageNumber)
	}
	if s.Heading != "" {
		fmt.Fprintf(&b, " — %s", s.Heading)
	}
	b.WriteString("\n")
	b.WriteString(strings.TrimSpace(s.Content))
	b.WriteString("\n\n")
	return b.String()
}

var citeRe = regexp.MustCompile(`\[(\d{1,3})\]`)

// MarkCited flags the sources whose number appears as [n] in the reply.
func MarkCited(reply string, sources []Source) []Source {
	cited := map[int]bool{}
	for _, m := range citeRe.FindAllStringSubmatch(reply, -1) {
		n, _ := strconv.Atoi(m[1])
		cited[n] = true
	}
	out := make([]Source, len(sources))
	for i, s := range sources {
		s.Cited = cited[s.N]
		out[i] = s
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].N < out[j].N })
	return out
}

// Options turns the request's sampling settings into Ollama options. num_ctx is
// set explicitly so the prompt we fitted is the prompt Ollama keeps.
func Options(r Request) map[string]any {
	o := map[string]any{}
	if r.ContextLength > 0 {
		o["num_ctx"] = r.ContextLength
	}
	if r.Temperature != nil {
		o["temperature"] = *r.Temperature
	}
	if r.TopP != nil {
		o["top_p"] = *r.TopP
	}
	o["num_predict"] = ReplyBudget(r)
	for k, v := range r.Extra {
		o[k] = v
	}
	return o
}

// Prompt is a request fitted to its model's context, built once: the
// messages sent to the model and the sources they number are the same ones
// the citations shown to the reader name.
type Prompt struct {
	Request  Request
	Messages []llm.Message
	Sources  []Source // the sources kept, renumbered from 1
}

// Build fits a request into its model's context (see Messages).
func Build(r Request) Prompt {
	msgs, kept := Messages(r)
	return Prompt{Request: r, Messages: msgs, Sources: kept}
}

// Streamer is the model call a reply needs (llm.Client.ChatStream).
type Streamer interface {
	ChatStream(ctx context.Context, r llm.ChatRequest, onDelta func(string)) (llm.ChatResult, error)
}

// Stream generates the reply of a built prompt, calling onDelta with each
// piece of text as it arrives. On a cancelled context it returns the partial
// result and ctx.Err(); the model client's errors come back as they are.
func Stream(ctx context.Context, m Streamer, p Prompt, onDelta func(string)) (Result, error) {
	r := p.Request
	out, err := m.ChatStream(ctx, llm.ChatRequest{Model: r.Model, Messages: p.Messages, Options: Options(r),
		Tools: r.Tools, Format: r.Format, Logprobs: r.Logprobs, TopLogprobs: r.TopLogprobs, NoTruncate: r.Conversation != nil, Prompt: r.Prompt}, onDelta)
	res := Result{Model: out.Model, Content: out.Content, ToolCalls: out.ToolCalls, Logprobs: out.Logprobs, DoneReason: out.DoneReason, InputTokens: out.InputTokens, OutputTokens: out.OutputTokens,
		Duration: out.Duration, Sources: MarkCited(out.Content, p.Sources)}
	if !out.Done && res.Content != "" {
		// Ollama counts only in its final message; a reply cut short (stopped,
		// dropped) is counted from its text, so stopping early is not free.
		for _, m := range p.Messages {
			res.InputTokens += estimateTokens(m.Content)
		}
		res.OutputTokens = estimateTokens(res.Content)
	}
	return res, err
}

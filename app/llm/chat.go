package llm

import (
	"cmp"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"quire/app/fault"
	"quire/app/ops"
)

// Message is one message of a chat prompt (role system, user, assistant or tool).
type Message struct {
	Role       string
	Content    string
	Images     [][]byte   // raw image bytes, for models that can see
	ToolCalls  []ToolCall // calls an assistant message made
	ToolName   string     // the tool a role "tool" message answers
	ToolCallID string     // the call it answers
}

// ToolCall is a function call the model asked for; Arguments is a JSON object.
type ToolCall struct {
	ID        string
	Name      string
	Arguments json.RawMessage
}

// Logprob is one output token's log probability, in the shape both Ollama and
// OpenAI use.
type Logprob struct {
	Token       string         `json:"token"`
	Logprob     float64        `json:"logprob"`
	Bytes       []int          `json:"bytes"`
	TopLogprobs []TokenLogprob `json:"top_logprobs"`
}

// TokenLogprob is one alternative token of a Logprob.
type TokenLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// ChatRequest is one reply to generate from a prompt already fitted to the
// model's context; Options are Ollama's (num_ctx, num_predict, temperature...).
type ChatRequest struct {
	Model    string
	Messages []Message
	Options  map[string]any
	// Tools are OpenAI/Ollama function definitions
	// ([{"type":"function","function":{"name","description","parameters"}}]).
	Tools json.RawMessage
	// Format is Ollama's format: "json" or a JSON schema.
	Format json.RawMessage
	// Logprobs asks for output token log probabilities (TopLogprobs alternatives each).
	Logprobs    bool
	TopLogprobs int
	// NoTruncate makes the server refuse a prompt longer than the context
	// instead of dropping its oldest part.
	NoTruncate bool
	// Prompt, when set, is continued as raw text through /api/generate (no
	// chat template; Messages, Tools are unused): a legacy text completion.
	Prompt string
}

// ChatResult is what the model wrote, with Ollama's own counts (which it
// sends only in its final message: Done false means they are missing).
type ChatResult struct {
	Model        string // the model as the server names it (e.g. "llama3.2:latest")
	Content      string
	ToolCalls    []ToolCall
	Logprobs     []Logprob
	Done         bool
	DoneReason   string
	InputTokens  int
	OutputTokens int
	Duration     time.Duration
}

// apiRequest is the Ollama request of r.
func apiRequest(r ChatRequest) (*api.ChatRequest, error) {
	msgs := make([]api.Message, len(r.Messages))
	for i, m := range r.Messages {
		am := api.Message{Role: m.Role, Content: m.Content, ToolName: m.ToolName, ToolCallID: m.ToolCallID}
		for _, img := range m.Images {
			am.Images = append(am.Images, api.ImageData(img))
		}
		for j, tc := range m.ToolCalls {
			call := api.ToolCall{ID: tc.ID, Function: api.ToolCallFunction{Index: j, Name: tc.Name}}
			if len(tc.Arguments) > 0 {
				if err := json.Unmarshal(tc.Arguments, &call.Function.Arguments); err != nil {
					return nil, fault.Field("messages", "the arguments of the tool call %q must be a JSON object: %v", tc.Name, err)
				}
			}
			am.ToolCalls = append(am.ToolCalls, call)
		}
		msgs[i] = am
	}
	stream := true
	req := &api.ChatRequest{Model: r.Model, Messages: msgs, Stream: &stream, Options: r.Options, Format: r.Format,
		Logprobs: r.Logprobs, TopLogprobs: r.TopLogprobs}
	if len(r.Tools) > 0 {
		if err := json.Unmarshal(r.Tools, &req.Tools); err != nil {
			return nil, fault.Field("tools", "tools must be a list of {\"type\":\"function\",\"function\":{...}}: %v", err)
		}
	}
	if r.NoTruncate {
		f := false
		req.Truncate = &f
	}
	return req, nil
}

func toolCalls(calls []api.ToolCall) []ToolCall {
	out := make([]ToolCall, 0, len(calls))
	for _, c := range calls {
		args, _ := json.Marshal(c.Function.Arguments)
		if string(args) == "null" {
			args = json.RawMessage("{}")
		}
		out = append(out, ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: args})
	}
	return out
}

// ChatStream streams a reply from /api/chat, calling onDelta with each piece
// of text as it arrives. On a cancelled context it returns the partial result
// and ctx.Err(); a stream that ends without its final message returns the
// partial result and ErrIncomplete.
func (c *Client) ChatStream(ctx context.Context, r ChatRequest, onDelta func(string)) (ChatResult, error) {
	if r.Prompt != "" {
		return c.generateStream(ctx, r, onDelta)
	}
	req, err := apiRequest(r)
	if err != nil {
		return ChatResult{}, err
	}
	var res ChatResult
	var content strings.Builder
	began := time.Now()
	_, err = c.call(ctx, r.Model, func(h *host) (started bool, err error) {
		err = h.api.Chat(ctx, req, func(cr api.ChatResponse) error {
			started = true
			if cr.Model != "" {
				res.Model = cr.Model
			}
			res.ToolCalls = append(res.ToolCalls, toolCalls(cr.Message.ToolCalls)...)
			res.Logprobs = append(res.Logprobs, logprobs(cr.Logprobs)...)
			if cr.Message.Content != "" {
				content.WriteString(cr.Message.Content)
				onDelta(cr.Message.Content)
			}
			if cr.Done {
				res.Done, res.DoneReason = true, cr.DoneReason
				res.InputTokens, res.OutputTokens = cr.PromptEvalCount, cr.EvalCount
			}
			return nil
		})
		return started, streamErr(ctx, h, err, r.Model, res.Done)
	})
	return c.ended(ctx, "chat", res, content.String(), began, err)
}

// ended finishes a streamed call: its text and duration, what its error means
// (a stop, the server's failure, or a stream that ended without its final
// message, which the official client does not report), and its metric. err
// is already classified (streamErr).
func (c *Client) ended(ctx context.Context, kind string, res ChatResult, content string, began time.Time, err error) (ChatResult, error) {
	res.Content, res.Duration = content, time.Since(began)
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	ops.ObserveOllama(kind, res.Duration, err)
	return res, err
}

// streamErr is what a stream's end means: the server's failure, or a stream
// that ended without its final message (the official client does not report
// it), which the pool counts against the host.
func streamErr(ctx context.Context, h *host, err error, model string, done bool) error {
	if err == nil && !done && ctx.Err() == nil {
		return ErrIncomplete
	}
	return classify(ctx, h.url, err, model)
}

// generateStream continues a raw prompt (ChatRequest.Prompt) through /api/generate.
func (c *Client) generateStream(ctx context.Context, r ChatRequest, onDelta func(string)) (ChatResult, error) {
	stream := true
	req := &api.GenerateRequest{Model: r.Model, Prompt: r.Prompt, Raw: true, Stream: &stream, Options: r.Options, Format: r.Format,
		Logprobs: r.Logprobs, TopLogprobs: r.TopLogprobs}
	if r.NoTruncate {
		f := false
		req.Truncate = &f
	}
	var res ChatResult
	var content strings.Builder
	began := time.Now()
	_, err := c.call(ctx, r.Model, func(h *host) (started bool, err error) {
		err = h.api.Generate(ctx, req, func(gr api.GenerateResponse) error {
			started = true
			if gr.Model != "" {
				res.Model = gr.Model
			}
			res.Logprobs = append(res.Logprobs, logprobs(gr.Logprobs)...)
			if gr.Response != "" {
				content.WriteString(gr.Response)
				onDelta(gr.Response)
			}
			if gr.Done {
				res.Done, res.DoneReason = true, gr.DoneReason
				res.InputTokens, res.OutputTokens = gr.PromptEvalCount, gr.EvalCount
			}
			return nil
		})
		return started, streamErr(ctx, h, err, r.Model, res.Done)
	})
	return c.ended(ctx, "generate", res, content.String(), began, err)
}

func logprobs(in []api.Logprob) []Logprob {
	var out []Logprob
	for _, lp := range in {
		l := Logprob{Token: lp.Token, Logprob: lp.Logprob, Bytes: lp.Bytes, TopLogprobs: []TokenLogprob{}}
		for _, t := range lp.TopLogprobs {
			l.TopLogprobs = append(l.TopLogprobs, TokenLogprob{t.Token, t.Logprob, t.Bytes})
		}
		out = append(out, l)
	}
	return out
}

// Model is one model the server has installed.
type Model struct {
	Name          string
	Size          int64
	Family        string
	ParameterSize string
	ModifiedAt    time.Time
}

// List returns the models installed on the pool's hosts (each name once,
// as the first host answering lists it); hosts that do not answer are left
// out, and only when none answers is it an error.
func (c *Client) List(ctx context.Context) ([]Model, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShowTimeout)
	defer cancel()
	began := time.Now()
	hosts := c.snapshot()
	lists := make([][]Model, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { lists[i], errs[i] = listOn(ctx, h) })
	}
	wg.Wait()
	var out []Model
	seen := map[string]bool{}
	var err error
	answered := false
	for i := range hosts {
		if errs[i] != nil {
			err = cmp.Or(err, errs[i])
			continue
		}
		answered = true
		for _, m := range lists[i] {
			if !seen[m.Name] {
				seen[m.Name] = true
				out = append(out, m)
			}
		}
	}
	if !answered {
		ops.ObserveOllama("list", time.Since(began), err)
		return nil, err
	}
	ops.ObserveOllama("list", time.Since(began), nil)
	if out == nil {
		out = []Model{}
	}
	return out, nil
}

// listOn lists one host's models, and remembers them for routing.
func listOn(ctx context.Context, h *host) ([]Model, error) {
	resp, err := h.api.List(ctx)
	if err != nil {
		err = classify(ctx, h.url, err, "")
		if hostFailure(err) {
			h.markDown(err)
		}
		return nil, err
	}
	out := make([]Model, len(resp.Models))
	tags := make(map[string]bool, len(resp.Models))
	for i, m := range resp.Models {
		out[i] = Model{Name: m.Name, Size: m.Size, Family: m.Details.Family, ParameterSize: m.Details.ParameterSize, ModifiedAt: m.ModifiedAt}
		tags[modelKey(m.Name)] = true
	}
	h.mu.Lock()
	h.tags = tags
	h.mu.Unlock()
	h.markUp()
	return out, nil
}

// Progress is one step of a pull.
type Progress struct {
	Host             string // the host's URL
	Status           string
	Completed, Total int64
}

// Pull downloads a model on every host of the pool, one after the other,
// reporting progress; what Show knew of the model is forgotten, since the
// pull may have replaced it. A host failing does not stop the others; the
// first failure is returned.
func (c *Client) Pull(ctx context.Context, model string, progress func(Progress)) error {
	var first error
	for _, h := range c.snapshot() {
		if err := c.pullOn(ctx, h, model, progress); err != nil && first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return first
}

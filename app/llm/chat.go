package llm

import (
	"context"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"quire/app/ops"
)

// Message is one message of a chat prompt (role system, user or assistant).
type Message struct {
	Role    string
	Content string
}

// ChatRequest is one reply to generate from a prompt already fitted to the
// model's context; Options are Ollama's (num_ctx, num_predict, temperature...).
type ChatRequest struct {
	Model    string
	Messages []Message
	Options  map[string]any
}

// ChatResult is what the model wrote, with Ollama's own counts (which it
// sends only in its final message: Done false means they are missing).
type ChatResult struct {
	Content      string
	Done         bool
	DoneReason   string
	InputTokens  int
	OutputTokens int
	Duration     time.Duration
}

// ChatStream streams a reply from /api/chat, calling onDelta with each piece
// of text as it arrives. On a cancelled context it returns the partial result
// and ctx.Err(); a stream that ends without its final message returns the
// partial result and ErrIncomplete.
func (c *Client) ChatStream(ctx context.Context, r ChatRequest, onDelta func(string)) (ChatResult, error) {
	msgs := make([]api.Message, len(r.Messages))
	for i, m := range r.Messages {
		msgs[i] = api.Message{Role: m.Role, Content: m.Content}
	}
	var res ChatResult
	var content strings.Builder
	stream := true
	began := time.Now()
	err := c.client().Chat(ctx, &api.ChatRequest{Model: r.Model, Messages: msgs, Stream: &stream, Options: r.Options}, func(cr api.ChatResponse) error {
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
	res.Content, res.Duration = content.String(), time.Since(began)
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case err != nil:
		err = c.classify(ctx, err, r.Model)
	case !res.Done:
		err = ErrIncomplete // the official client does not report a dropped stream
	}
	ops.ObserveOllama("chat", res.Duration, err)
	return res, err
}

// Model is one model the server has installed.
type Model struct {
	Name          string
	Size          int64
	Family        string
	ParameterSize string
	ModifiedAt    time.Time
}

// List returns the installed models.
func (c *Client) List(ctx context.Context) ([]Model, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShowTimeout)
	defer cancel()
	began := time.Now()
	resp, err := c.client().List(ctx)
	err = c.classify(ctx, err, "")
	ops.ObserveOllama("list", time.Since(began), err)
	if err != nil {
		return nil, err
	}
	out := make([]Model, len(resp.Models))
	for i, m := range resp.Models {
		out[i] = Model{Name: m.Name, Size: m.Size, Family: m.Details.Family, ParameterSize: m.Details.ParameterSize, ModifiedAt: m.ModifiedAt}
	}
	return out, nil
}

// Progress is one step of a pull.
type Progress struct {
	Status           string
	Completed, Total int64
}

// Pull downloads a model, reporting progress; what Show knew of the model is
// forgotten, since the pull may have replaced it.
func (c *Client) Pull(ctx context.Context, model string, progress func(Progress)) error {
	began := time.Now()
	err := c.client().Pull(ctx, &api.PullRequest{Model: model}, func(p api.ProgressResponse) error {
		progress(Progress{Status: p.Status, Completed: p.Completed, Total: p.Total})
		return nil
	})
	c.forget(model)
	err = c.classify(ctx, err, model)
	ops.ObserveOllama("pull", time.Since(began), err)
	return err
}

package answer

import (
	"context"
	"encoding/json"
	"strings"

	"quire/app/chat"
	"quire/app/rag"
	"quire/app/tools"
)

// Toolbox is what an agent reply may call, already bound to its scope (the
// workspace, the chat owner's view, the chat's knowledge bases). A model's
// mistake is a result with Error set, which it reads; Run's error is a
// failure of Quire's own (the store, a stop) and is not shown to the model.
type Toolbox interface {
	Definitions() json.RawMessage
	Run(ctx context.Context, name string, args json.RawMessage) (ToolResult, error)
}

// ToolResult is one tool call's outcome.
type ToolResult struct {
	// Text is what the model reads besides the passages, which the loop
	// numbers for citing across the whole reply.
	Text string
	// Summary is the step as a reader is shown it, folded.
	Summary  string
	Passages []chat.Source
	Error    bool // the call was wrong; Text says why
}

// chatTools are the knowledge tools (package tools) over a chat's
// knowledge bases as its owner sees them.
type chatTools struct {
	tools *tools.Tools
	scope tools.Scope
}

func (t *chatTools) Definitions() json.RawMessage { return t.tools.Definitions() }

func (t *chatTools) Run(ctx context.Context, name string, args json.RawMessage) (ToolResult, error) {
	res, err := t.tools.Run(ctx, t.scope, name, args)
	if err != nil {
		return ToolResult{}, err
	}
	out := ToolResult{Text: res.Text, Summary: res.Summary, Error: res.IsError}
	if len(res.Passages) == 0 {
		return out, nil
	}
	// The tool numbers its passages from [1] in each call; the model is
	// given them numbered for the whole reply instead, under the summary
	// (and any note on how the search ran).
	out.Text = res.Summary
	if _, note, ok := strings.Cut(res.Text, "\nNote: "); ok {
		out.Text += "\nNote: " + note
	}
	for _, p := range res.Passages {
		out.Passages = append(out.Passages, source(p))
	}
	return out, nil
}

// source is a passage a tool returned as a reply cites it.
func source(p rag.Result) chat.Source {
	s := chat.Source{ChunkID: p.ChunkID, DocumentID: p.DocumentID, DocumentName: p.DocumentName, Heading: p.Heading,
		Location: p.Location, Snippet: p.Snippet.Text, Content: p.Content}
	if s.Snippet == "" { // read_document's chunks come whole, without a search's snippet
		s.Snippet = clip(strings.TrimSpace(p.Content), 300)
	}
	if p.Page > 0 {
		n := p.Page
		s.PageNumber = &n
	}
	return s
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

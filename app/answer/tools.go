package answer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"quire/app/chat"
	"quire/app/fault"
	"quire/app/ingest"
	"quire/store"
)

// Toolbox is what an agent reply may call, already bound to its scope (the
// workspace, the chat owner's view, the chat's knowledge bases). Run's error
// is a refusal or failure the model is told about; it never ends the reply.
type Toolbox interface {
	Definitions() json.RawMessage
	Run(ctx context.Context, name string, args json.RawMessage) (ToolResult, error)
}

// ToolResult is one tool call's outcome.
type ToolResult struct {
	// Text is what the model reads besides the passages (which the loop
	// numbers for citing, across the whole reply).
	Text string
	// Summary is the step as a reader is shown it, folded.
	Summary  string
	Passages []chat.Source
}

// Limits of one tool call, so a hostile or confused model cannot make a
// tool read or return without bound.
const (
	maxToolArgs     = 4096 // bytes of a call's arguments
	maxQueryRunes   = 1000 // as the search box
	toolSearchTopK  = 5
	maxReadPassages = 8
	maxReadBytes    = 8000
	maxListedKBs    = 50 // a chat has at most 50 knowledge bases
)

const toolDefinitions = `[
{"type":"function","function":{"name":"search_knowledge","description":"Search the knowledge bases attached to this chat for passages about a topic. Results are numbered; cite them like [1].","parameters":{"type":"object","properties":{"query":{"type":"string","description":"What to look for, in a few words"},"knowledge_base":{"type":"string","description":"Optional: the name or id of one attached knowledge base to search alone"}},"required":["query"]}}},
{"type":"function","function":{"name":"read_document","description":"Read a document of the attached knowledge bases by its id (as search results give it), optionally one page.","parameters":{"type":"object","properties":{"document_id":{"type":"string"},"page":{"type":"integer","description":"Optional: the page (or slide) to read"}},"required":["document_id"]}}},
{"type":"function","function":{"name":"list_knowledge_bases","description":"List the knowledge bases attached to this chat.","parameters":{"type":"object","properties":{}}}}
]`

// kbTools are the knowledge tools over a chat's knowledge bases as its
// owner sees them: every call re-checks visibility, so a base the owner lost
// access to since the chat attached it is not searched.
type kbTools struct {
	st     *store.Store
	search Searcher
	wsID   string
	viewer store.Viewer
	kbIDs  []string // attached to the chat; never empty (an empty scope means "everything")
}

func (t *kbTools) Definitions() json.RawMessage { return json.RawMessage(toolDefinitions) }

func (t *kbTools) Run(ctx context.Context, name string, args json.RawMessage) (ToolResult, error) {
	if len(args) > maxToolArgs {
		return ToolResult{}, fault.New(fault.Invalid, "the arguments are %d bytes; at most %d are accepted", len(args), maxToolArgs)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(args, &fields); err != nil && len(bytes.TrimSpace(args)) > 0 {
		return ToolResult{}, fault.New(fault.Invalid, "the arguments must be a JSON object")
	}
	switch name {
	case "search_knowledge":
		return t.searchKnowledge(ctx, fields)
	case "read_document":
		return t.readDocument(ctx, fields)
	case "list_knowledge_bases":
		if err := onlyArgs(fields); err != nil {
			return ToolResult{}, err
		}
		return t.listKnowledgeBases(ctx)
	}
	return ToolResult{}, fault.New(fault.Invalid, "there is no tool %q; the tools are search_knowledge, read_document and list_knowledge_bases", clip(name, 64))
}

// onlyArgs refuses arguments the tool does not take: a misspelt one would
// otherwise be ignored without the model learning why.
func onlyArgs(fields map[string]json.RawMessage, allowed ...string) error {
	for k := range fields {
		if !slices.Contains(allowed, k) {
			return fault.New(fault.Invalid, "unknown argument %q", clip(k, 64))
		}
	}
	return nil
}

// stringArg reads an optional string argument, cleaned of control characters.
func stringArg(fields map[string]json.RawMessage, key string) (string, bool, error) {
	raw, ok := fields[key]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, fault.New(fault.Invalid, "%s must be a string", key)
	}
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
	return s, true, nil
}

// visibleKBs are the chat's knowledge bases the owner can see now.
func (t *kbTools) visibleKBs(ctx context.Context) ([]*store.KnowledgeBase, error) {
	var out []*store.KnowledgeBase
	for _, id := range t.kbIDs {
		kb, err := t.st.GetKnowledgeBase(ctx, t.wsID, t.viewer, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, kb)
	}
	return out, nil
}

func kbNames(kbs []*store.KnowledgeBase) string {
	names := make([]string, len(kbs))
	for i, kb := range kbs {
		names[i] = kb.Name
	}
	return strings.Join(names, ", ")
}

func (t *kbTools) searchKnowledge(ctx context.Context, fields map[string]json.RawMessage) (ToolResult, error) {
	if err := onlyArgs(fields, "query", "knowledge_base"); err != nil {
		return ToolResult{}, err
	}
	query, _, err := stringArg(fields, "query")
	if err != nil {
		return ToolResult{}, err
	}
	if query == "" {
		return ToolResult{}, fault.New(fault.Invalid, "query is required: say what to look for")
	}
	if utf8.RuneCountInString(query) > maxQueryRunes {
		return ToolResult{}, fault.New(fault.Invalid, "the query must be at most %d characters", maxQueryRunes)
	}
	kbs, err := t.visibleKBs(ctx)
	if err != nil {
		return ToolResult{}, err
	}
	if len(kbs) == 0 {
		return ToolResult{}, fault.New(fault.Invalid, "no knowledge base attached to this chat is visible")
	}
	if want, ok, err := stringArg(fields, "knowledge_base"); err != nil {
		return ToolResult{}, err
	} else if ok && want != "" {
		i := slices.IndexFunc(kbs, func(kb *store.KnowledgeBase) bool { return kb.ID == want || strings.EqualFold(kb.Name, want) })
		if i < 0 {
			return ToolResult{}, fault.New(fault.Invalid, "%q is not a knowledge base of this chat; they are: %s", clip(want, 100), kbNames(kbs))
		}
		kbs = kbs[i : i+1]
	}
	ids := make([]string, len(kbs))
	for i, kb := range kbs {
		ids[i] = kb.ID
	}
	resp, err := t.search.Retrieve(ctx, t.wsID, t.viewer, ids, query, toolSearchTopK)
	if err != nil {
		return ToolResult{}, err
	}
	res := ToolResult{Summary: fmt.Sprintf("Searched “%s” in %s — %s", clip(query, 100), kbNames(kbs), plural(len(resp.Results), "passage"))}
	for _, h := range resp.Results {
		src := chat.Source{ChunkID: h.ChunkID, DocumentID: h.DocumentID, DocumentName: h.DocumentName, Heading: h.Heading,
			Location: h.Location, Snippet: h.Snippet.Text, Content: h.Content}
		if h.Page > 0 {
			p := h.Page
			src.PageNumber = &p
		}
		res.Passages = append(res.Passages, src)
	}
	if len(res.Passages) == 0 {
		res.Text = "No passages found. Try other words."
	}
	if resp.Warning != "" {
		res.Text = strings.TrimSpace(res.Text + "\n" + resp.Warning)
	}
	return res, nil
}

func (t *kbTools) readDocument(ctx context.Context, fields map[string]json.RawMessage) (ToolResult, error) {
	if err := onlyArgs(fields, "document_id", "page"); err != nil {
		return ToolResult{}, err
	}
	docID, _, err := stringArg(fields, "document_id")
	if err != nil {
		return ToolResult{}, err
	}
	if docID == "" {
		return ToolResult{}, fault.New(fault.Invalid, "document_id is required")
	}
	page := 0
	if raw, ok := fields["page"]; ok && string(raw) != "null" {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || f != float64(int(f)) || f < 1 || f > 100000 {
			return ToolResult{}, fault.New(fault.Invalid, "page must be a whole number from 1")
		}
		page = int(f)
	}
	notFound := fault.New(fault.NotFound, "no document %q in the knowledge bases of this chat", clip(docID, 64))
	doc, err := t.st.GetVisibleDocument(ctx, t.wsID, t.viewer, docID)
	if errors.Is(err, store.ErrNotFound) {
		return ToolResult{}, notFound
	}
	if err != nil {
		return ToolResult{}, err
	}
	// Visible is not enough: the tools answer from the chat's knowledge bases only.
	in, err := t.st.DocumentKBIDs(ctx, t.wsID, t.viewer, doc.ID)
	if err != nil {
		return ToolResult{}, err
	}
	if !slices.ContainsFunc(in, func(id string) bool { return slices.Contains(t.kbIDs, id) }) {
		return ToolResult{}, notFound
	}
	kind := ingest.KindOfMIME(doc.MimeType)
	res := ToolResult{}
	size, after := 0, -1
	for len(res.Passages) < maxReadPassages && size < maxReadBytes {
		chunks, err := t.st.ListChunks(ctx, t.wsID, doc.ID, after, 100)
		if err != nil {
			return ToolResult{}, err
		}
		if len(chunks) == 0 {
			break
		}
		for _, ck := range chunks {
			after = ck.Index
			if page > 0 && ck.Page != page {
				continue
			}
			if len(res.Passages) == maxReadPassages || size+len(ck.Content) > maxReadBytes && len(res.Passages) > 0 {
				res.Text = "The document goes on; read one page at a time for the rest."
				size = maxReadBytes
				break
			}
			size += len(ck.Content)
			src := chat.Source{ChunkID: ck.ID, DocumentID: doc.ID, DocumentName: doc.Name, Heading: ck.Heading,
				Location: kind.Location(ck.Page), Snippet: clip(ck.Content, 300), Content: ck.Content}
			if ck.Page > 0 {
				p := ck.Page
				src.PageNumber = &p
			}
			res.Passages = append(res.Passages, src)
		}
	}
	where := "“" + clip(doc.Name, 100) + "”"
	if page > 0 {
		where += fmt.Sprintf(", page %d", page)
	}
	if len(res.Passages) == 0 {
		res.Text = "Nothing to read there."
	}
	res.Summary = fmt.Sprintf("Read %s — %s", where, plural(len(res.Passages), "passage"))
	return res, nil
}

func (t *kbTools) listKnowledgeBases(ctx context.Context) (ToolResult, error) {
	kbs, err := t.visibleKBs(ctx)
	if err != nil {
		return ToolResult{}, err
	}
	var b strings.Builder
	for _, kb := range kbs[:min(len(kbs), maxListedKBs)] {
		fmt.Fprintf(&b, "- %s (id %s, %s)", kb.Name, kb.ID, plural(kb.DocumentCount, "document"))
		if d := strings.TrimSpace(kb.Description); d != "" {
			fmt.Fprintf(&b, ": %s", clip(d, 300))
		}
		b.WriteString("\n")
	}
	if len(kbs) == 0 {
		b.WriteString("No knowledge base attached to this chat is visible.")
	}
	return ToolResult{Text: b.String(), Summary: "Listed the knowledge bases — " + plural(len(kbs), "knowledge base")}, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

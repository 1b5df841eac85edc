// Package tools is Quire's knowledge offered as tools to a model: the chat
// agent loop hands them to Ollama's chat tools API, the MCP server to other
// assistants. Both run the same code, so what a tool can return is decided
// once, here, by the store's visibility rules.
//
// The API:
//
//	t := tools.New(knowledgeService, store)
//	t.Definitions()                        // the tools as an OpenAI/Ollama "tools" array
//	t.Specs()                              // the same, typed (for MCP)
//	res, err := t.Run(ctx, scope, name, args)
//
// A Scope is whose eyes the tools look through: a workspace, a viewer (the
// chat's owner, the API key's owner) and optionally the knowledge bases a
// chat has attached. Nothing outside the scope is ever returned, and nothing
// outside it is told apart from nothing at all: another workspace's document,
// a document restricted to a team the viewer is not in, and a made-up id are
// the same "not found".
//
// Run's error is for the caller's own failures (the store failing, the
// context ending). Everything the model got wrong — an unknown tool, missing
// or mistyped arguments, an id it invented — is a Result with IsError set
// and a Text that says how to do better, which the model reads like any other
// tool result; a model cannot crash or stall its caller with its arguments.
//
// The tools:
//
//   - search_knowledge(query, knowledge_base?) — hybrid search (the query
//     is embedded, which the knowledge layer records as the viewer's
//     ai_usage); knowledge_base narrows it to one base, by id or name.
//   - read_document(document_id, page?) — the document's text, its chunks in
//     order, PageChunks chunks (at most PageChars characters) per page, so a
//     huge document never floods a context; the text says "page N of M".
//   - list_knowledge_bases() — the bases in scope, with ids and sizes.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"quire/app/fault"
	"quire/app/ingest"
	"quire/app/knowledge"
	"quire/app/rag"
	"quire/store"
)

// Tool names.
const (
	SearchKnowledge    = "search_knowledge"
	ReadDocument       = "read_document"
	ListKnowledgeBases = "list_knowledge_bases"
)

// Limits of what one call takes and returns.
const (
	// PageChunks is how many chunks read_document returns per page: with
	// chunks of about 512 tokens, a page is about 2,000 tokens, which even a
	// small model's context holds next to the conversation.
	PageChunks = 4
	// PageChars caps a page's text whatever the chunker made of the file.
	PageChars = 12000
	// MaxArgs is the largest arguments object a call may send; the longest
	// legitimate one is a 1,000-character query.
	MaxArgs = 16 << 10
	// MaxBases is how many knowledge bases list_knowledge_bases names.
	MaxBases = 200
	// SearchTopK is how many passages a search returns.
	SearchTopK = rag.DefaultTopK
)

// Scope is whose knowledge the tools use.
type Scope struct {
	WorkspaceID string
	Viewer      store.Viewer
	// KBs limits the tools to these knowledge bases (a chat's attached ones):
	// nil means every knowledge base and document the viewer sees, an empty
	// non-nil slice means none at all.
	KBs []string
}

// Result is what a tool call gives back.
type Result struct {
	Text     string       // what the model reads
	Passages []rag.Result // the chunks returned, for citations
	Summary  string       // one line for a person: "Searched “x” in Handbook — 5 passages"
	IsError  bool         // the call was wrong; Text says why
}

// Spec describes one tool: its name, what it is for, and its arguments as a
// JSON Schema object.
type Spec struct {
	Name        string
	Description string
	Parameters  json.RawMessage
}

// Tools runs the knowledge tools.
type Tools struct {
	k  *knowledge.Service
	st *store.Store
}

// New returns the tools over a knowledge service and its store.
func New(k *knowledge.Service, st *store.Store) *Tools { return &Tools{k: k, st: st} }

var specs = []Spec{
	{
		Name: SearchKnowledge,
		Description: "Search the team's documents for passages that answer a question. " +
			"Returns the best passages with their document id and name; cite them, or read a document in full with read_document.",
		Parameters: json.RawMessage(`{"type":"object","properties":{` +
			`"query":{"type":"string","description":"what to look for, in plain words (at most 1000 characters)"},` +
			`"knowledge_base":{"type":"string","description":"optional: the id or name of one knowledge base to search (see list_knowledge_bases); omit to search all"}` +
			`},"required":["query"]}`),
	},
	{
		Name: ReadDocument,
		Description: "Read a document's text, page by page (" + strconv.Itoa(PageChunks) + " passages a page). " +
			"Use a document id from search_knowledge results.",
		Parameters: json.RawMessage(`{"type":"object","properties":{` +
			`"document_id":{"type":"string","description":"the document's id"},` +
			`"page":{"type":"integer","minimum":1,"description":"the page to read, from 1 (default 1)"}` +
			`},"required":["document_id"]}`),
	},
	{
		Name:        ListKnowledgeBases,
		Description: "List the knowledge bases you can search, with their ids, descriptions and document counts.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{}}`),
	},
}

// Specs lists the tools.
func (t *Tools) Specs() []Spec { return specs }

// Definitions is the tools as Ollama's and OpenAI's chat APIs take them:
// [{"type":"function","function":{"name","description","parameters"}}].
func (t *Tools) Definitions() json.RawMessage {
	type fn struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	}
	type def struct {
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	out := make([]def, len(specs))
	for i, s := range specs {
		out[i] = def{Type: "function", Function: fn{s.Name, s.Description, s.Parameters}}
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // static data
	}
	return b
}

// Run calls the tool name with args (a JSON object; empty or null is {}).
func (t *Tools) Run(ctx context.Context, sc Scope, name string, args json.RawMessage) (Result, error) {
	if len(args) > MaxArgs {
		return failed("the arguments are %d bytes; at most %d are accepted", len(args), MaxArgs), nil
	}
	a, err := parseArgs(args)
	if err != nil {
		return failed("%s", err), nil
	}
	var res Result
	switch name {
	case SearchKnowledge:
		res, err = t.search(ctx, sc, a)
	case ReadDocument:
		res, err = t.read(ctx, sc, a)
	case ListKnowledgeBases:
		res, err = t.list(ctx, sc)
	default:
		return failed("there is no tool %q; the tools are %s, %s and %s", clip(name, 64), SearchKnowledge, ReadDocument, ListKnowledgeBases), nil
	}
	// The model's mistakes (a wrong field, an id it cannot see) are for it
	// to read and correct; anything else is the caller's to handle.
	if f, ok := fault.As(err); ok && (f.Kind == fault.Invalid || f.Kind == fault.NotFound) {
		return failed("%s", f.Message), nil
	}
	return res, err
}

func failed(format string, a ...any) Result {
	msg := fmt.Sprintf(format, a...)
	return Result{Text: "Error: " + msg, Summary: "Tool call failed: " + msg, IsError: true}
}

// args is a call's arguments, kept raw so each field's type is checked with
// a message that names it.
type args map[string]json.RawMessage

func parseArgs(raw json.RawMessage) (args, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return args{}, nil
	}
	var a args
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil, errors.New("the arguments must be a JSON object")
	}
	return a, nil
}

// str reads a string argument; "" when it is absent or null.
func (a args) str(name string) (string, error) {
	raw, ok := a[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fault.Field(name, "%s must be a string", name)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }) {
		return "", fault.Field(name, "%s must not contain control characters", name)
	}
	return strings.TrimSpace(s), nil
}

// int reads a positive integer argument, def when absent. Small models
// often quote numbers, so "2" is 2.
func (a args) int(name string, def int) (int, error) {
	raw, ok := a[name]
	if !ok || string(raw) == "null" {
		return def, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(strings.TrimSpace(s))
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n < 1 {
		return 0, fault.Field(name, "%s must be a whole number from 1", name)
	}
	return n, nil
}

func (t *Tools) search(ctx context.Context, sc Scope, a args) (Result, error) {
	q, err := a.str("query")
	if err != nil {
		return Result{}, err
	}
	if q == "" {
		return Result{}, fault.Field("query", "query is required: say what to look for")
	}
	kbArg, err := a.str("knowledge_base")
	if err != nil {
		return Result{}, err
	}
	where := "all knowledge bases"
	kbs := sc.KBs
	if kbArg != "" {
		kb, err := t.findBase(ctx, sc, kbArg)
		if err != nil {
			return Result{}, err
		}
		kbs, where = []string{kb.ID}, kb.Name
	} else if sc.KBs != nil {
		if len(sc.KBs) == 0 {
			return Result{Text: "No knowledge base is available here, so there is nothing to search.",
				Summary: fmt.Sprintf("Searched “%s” — no knowledge base attached", clip(q, 80))}, nil
		}
		where = "the attached knowledge bases"
	}
	res, err := t.k.Search(ctx, sc.WorkspaceID, sc.Viewer, knowledge.SearchInput{Query: q, KnowledgeBaseIDs: kbs, TopK: SearchTopK})
	if err != nil {
		return Result{}, err
	}
	var b strings.Builder
	if len(res.Results) == 0 {
		fmt.Fprintf(&b, "No passages found for %q in %s.", q, where)
	}
	for i, p := range res.Results {
		fmt.Fprintf(&b, "[%d] %s (document_id %s", i+1, p.DocumentName, p.DocumentID)
		if p.Location != "" {
			fmt.Fprintf(&b, ", %s", p.Location)
		}
		if p.Heading != "" {
			fmt.Fprintf(&b, ", section %q", p.Heading)
		}
		fmt.Fprintf(&b, ")\n%s\n\n", strings.TrimSpace(p.Content))
	}
	if res.Warning != "" {
		fmt.Fprintf(&b, "\nNote: %s", res.Warning)
	}
	return Result{
		Text:     strings.TrimSpace(b.String()),
		Passages: res.Results,
		Summary:  fmt.Sprintf("Searched “%s” in %s — %s", clip(q, 80), where, plural(len(res.Results), "passage")),
	}, nil
}

// findBase resolves a knowledge_base argument, an id or a name (models use
// either), among the bases in scope. One outside the scope is not found.
func (t *Tools) findBase(ctx context.Context, sc Scope, idOrName string) (*store.KnowledgeBase, error) {
	notFound := fault.New(fault.NotFound, "there is no knowledge base %q here; list_knowledge_bases names the ones you can search", clip(idOrName, 80))
	if utf8.RuneCountInString(idOrName) > 200 {
		return nil, notFound
	}
	bases, _, err := t.bases(ctx, sc)
	if err != nil {
		return nil, err
	}
	for i := range bases {
		if bases[i].ID == idOrName {
			return &bases[i], nil
		}
	}
	for i := range bases {
		if strings.EqualFold(bases[i].Name, idOrName) {
			return &bases[i], nil
		}
	}
	return nil, notFound
}

// bases lists the knowledge bases in scope by name (at most MaxBases) and
// says whether there were more.
func (t *Tools) bases(ctx context.Context, sc Scope) ([]store.KnowledgeBase, bool, error) {
	var allowed map[string]bool
	if sc.KBs != nil {
		allowed = make(map[string]bool, len(sc.KBs))
		for _, id := range sc.KBs {
			allowed[id] = true
		}
		if len(allowed) == 0 {
			return nil, false, nil
		}
	}
	var out []store.KnowledgeBase
	afterName, afterID := "", ""
	for {
		page, err := t.st.ListKnowledgeBases(ctx, sc.WorkspaceID, sc.Viewer, afterName, afterID, 100)
		if err != nil {
			return nil, false, err
		}
		for _, kb := range page {
			if allowed == nil || allowed[kb.ID] {
				if len(out) == MaxBases {
					return out, true, nil
				}
				out = append(out, kb)
			}
		}
		if len(page) < 100 {
			return out, false, nil
		}
		afterName, afterID = page[len(page)-1].Name, page[len(page)-1].ID
	}
}

func (t *Tools) list(ctx context.Context, sc Scope) (Result, error) {
	bases, more, err := t.bases(ctx, sc)
	if err != nil {
		return Result{}, err
	}
	var b strings.Builder
	if len(bases) == 0 {
		b.WriteString("No knowledge base is available here.")
	}
	for _, kb := range bases {
		fmt.Fprintf(&b, "- %s (id %s): %s", kb.Name, kb.ID, plural(kb.DocumentCount, "document"))
		if d := strings.TrimSpace(kb.Description); d != "" {
			fmt.Fprintf(&b, " — %s", clip(strings.Join(strings.Fields(d), " "), 300))
		}
		b.WriteByte('\n')
	}
	if more {
		fmt.Fprintf(&b, "(only the first %d are listed)\n", MaxBases)
	}
	return Result{Text: strings.TrimSpace(b.String()), Summary: "Listed knowledge bases — " + strconv.Itoa(len(bases))}, nil
}

func (t *Tools) read(ctx context.Context, sc Scope, a args) (Result, error) {
	id, err := a.str("document_id")
	if err != nil {
		return Result{}, err
	}
	if id == "" {
		return Result{}, fault.Field("document_id", "document_id is required (from search_knowledge results)")
	}
	pageNo, err := a.int("page", 1)
	if err != nil {
		return Result{}, err
	}
	d, err := t.Document(ctx, sc, id)
	if err != nil {
		return Result{}, err
	}
	p, err := t.Page(ctx, sc, d, pageNo)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Text:     p.Text,
		Passages: p.Passages,
		Summary:  fmt.Sprintf("Read “%s” — page %d of %d", clip(d.Name, 80), p.Number, p.Of),
	}, nil
}

// Document loads a document in scope: visible to the viewer, ready, and (when
// the scope names knowledge bases) in one of them. Anything else is the same
// fault.NotFound, so an id reveals nothing about what it names.
func (t *Tools) Document(ctx context.Context, sc Scope, id string) (*store.Document, error) {
	notFound := fault.New(fault.NotFound, "there is no document %q that you can read here", clip(id, 64))
	if len(id) > 64 {
		return nil, notFound
	}
	d, err := t.st.GetVisibleDocument(ctx, sc.WorkspaceID, sc.Viewer, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	if sc.KBs != nil {
		in, err := t.st.DocumentKBIDs(ctx, sc.WorkspaceID, sc.Viewer, d.ID)
		if err != nil {
			return nil, err
		}
		if !overlaps(in, sc.KBs) {
			return nil, notFound
		}
	}
	if d.Status != store.DocReady {
		return nil, fault.New(fault.Invalid, "the document %q is still being processed (%s); try again later", d.Name, d.Status)
	}
	return d, nil
}

// Page is one page of a document's text.
type Page struct {
	Number, Of int
	Text       string       // headed "<name> — page N of M"
	Passages   []rag.Result // its chunks
}

// Pages is how many pages d has (at least 1, even when it has no text).
func Pages(d *store.Document) int { return max(1, (d.ChunkCount+PageChunks-1)/PageChunks) }

// Page reads page n (from 1) of a document that Document returned.
func (t *Tools) Page(ctx context.Context, sc Scope, d *store.Document, n int) (*Page, error) {
	of := Pages(d)
	if n > of {
		return nil, fault.Field("page", "%q has %s; page %d does not exist", d.Name, plural(of, "page"), n)
	}
	chunks, err := t.st.ListChunks(ctx, sc.WorkspaceID, d.ID, (n-1)*PageChunks-1, PageChunks)
	if err != nil {
		return nil, err
	}
	kbs, err := t.st.DocumentKBIDs(ctx, sc.WorkspaceID, sc.Viewer, d.ID)
	if err != nil {
		return nil, err
	}
	p := &Page{Number: n, Of: of}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (document_id %s) — page %d of %d\n\n", d.Name, d.ID, n, of)
	kind := ingest.KindOfMIME(d.MimeType)
	budget := PageChars
	for _, c := range chunks {
		text := strings.TrimSpace(c.Content)
		if utf8.RuneCountInString(text) > budget {
			text = clip(text, budget)
		}
		budget -= utf8.RuneCountInString(text)
		if loc := kind.Location(c.Page); loc != "" {
			fmt.Fprintf(&b, "[%s] ", loc)
		}
		b.WriteString(text)
		b.WriteString("\n\n")
		p.Passages = append(p.Passages, rag.Result{ChunkID: c.ID, ChunkIndex: c.Index, DocumentID: d.ID, DocumentName: d.Name,
			KnowledgeBaseIDs: kbs, Content: c.Content, Page: c.Page, Location: kind.Location(c.Page), Heading: c.Heading})
		if budget <= 0 {
			break
		}
	}
	if len(chunks) == 0 {
		b.WriteString("(this document has no text)\n\n")
	}
	if n < of {
		fmt.Fprintf(&b, "(more: read page %d)", n+1)
	}
	p.Text = strings.TrimSpace(b.String())
	t.k.RecordReads(ctx, sc.WorkspaceID, sc.Viewer, "read", p.Passages) // a page read is a read like a search's passages
	return p, nil
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

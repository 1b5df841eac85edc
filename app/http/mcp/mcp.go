// Package mcp serves the Model Context Protocol at /mcp, so that another
// assistant (a desktop app, an IDE, an agent) can search and read a Quire
// workspace: the tools of package tools (search_knowledge, read_document,
// list_knowledge_bases) and the documents as resources
// (quire://documents/<id>, ?page=N for later pages).
//
// It uses the official Go SDK's streamable HTTP transport in its stateless,
// JSON-response form: every POST is one JSON-RPC exchange answered with one
// JSON body. The server keeps no sessions and holds no streams open (GET and
// DELETE are 405), so a hostile client cannot pile up sessions or park
// never-ending streams; a request is bounded by max_body_kb (the route
// table's body limit, before this package runs), by the SDK's own body cap,
// and a tool call by CallTimeout.
//
// The route is a WorkspaceKey route: only a personal API key bound to a
// workspace gets here (the route table refuses sessions, unbound keys and
// revoked keys first), the plan's API access gate and the per-key rate limit
// apply as for /v1, and every call sees exactly what the key's owner sees in
// that workspace.
package mcp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"quire/app/audit"
	"quire/app/chat"
	"quire/app/fault"
	"quire/app/http/deps"
	"quire/app/http/request"
	"quire/app/tools"
	"quire/store"
)

// Limits of one request.
const (
	// CallTimeout bounds a tool call or resource read: a search embeds one
	// query, a read is a few rows, so anything longer is a stuck model server.
	CallTimeout = 60 * time.Second
	// MaxBody is the SDK's own cap on a JSON-RPC body, under max_body_kb's.
	MaxBody = 1 << 20
	// ResourcesPage is how many documents one resources/list page names.
	ResourcesPage = 100
	// URIPrefix starts a document's resource URI.
	URIPrefix = "quire://documents/"
)

// Handlers serves /mcp.
type Handlers struct {
	*deps.Deps
	tools *tools.Tools
	serve fiber.Handler // the SDK's handler, built once
}

// New returns the /mcp handlers over the instance's dependencies.
func New(d *deps.Deps) *Handlers {
	h := &Handlers{Deps: d, tools: tools.New(d.Knowledge, d.Store)}
	srv := h.server()
	h.serve = adaptor.HTTPHandler(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, &sdk.StreamableHTTPOptions{
		Stateless:           true,
		JSONResponse:        true,
		MaxRequestBodyBytes: MaxBody,
		// The SDK refuses a non-localhost Host on a loopback connection
		// against DNS rebinding, which matters for servers that trust the
		// browser's ambient credentials. /mcp takes a bearer key only, which a
		// rebinding page does not have; and behind a reverse proxy on the same
		// machine the Host is rightly the public name.
		DisableLocalhostProtection: true,
		Logger:                     d.Log,
	}))
	return h
}

// scopeKey carries the caller's scope from Serve to the SDK's handlers:
// fasthttp's request context, which the adaptor hands to the SDK, answers
// Value with the request's user values.
type scopeKey struct{}

// errNoScope fails a call that somehow lost its caller: closed, not open.
var errNoScope = errors.New("the request carries no API key's scope")

// actorKey holds the request's audit actor (the key and its owner) the same
// way: the adaptor's context is not the route's, and what an assistant reads
// is recorded under its key.
type actorKey struct{}

// scopeOf is the request's scope, and its context carrying the audit actor.
func scopeOf(ctx context.Context) (context.Context, tools.Scope, error) {
	sc, ok := ctx.Value(scopeKey{}).(tools.Scope)
	if !ok || sc.WorkspaceID == "" {
		return ctx, tools.Scope{}, errNoScope
	}
	if a, ok := ctx.Value(actorKey{}).(audit.Actor); ok {
		ctx = audit.WithActor(ctx, a)
	}
	return ctx, sc, nil
}

// Serve answers one MCP request for the route's API key.
func (h *Handlers) Serve(c *fiber.Ctx) error {
	ws, u := request.Workspace(c), request.User(c)
	c.Context().SetUserValue(scopeKey{}, tools.Scope{WorkspaceID: ws.ID, Viewer: store.ViewerFor(ws, u.ID)})
	c.Context().SetUserValue(actorKey{}, audit.ActorFrom(c.UserContext()))
	return h.serve(c)
}

// server is the MCP server; every handler answers within the scope of the
// request it serves (scopeOf).
func (h *Handlers) server() *sdk.Server {
	srv := sdk.NewServer(&sdk.Implementation{Name: "quire", Title: "Quire", Version: h.Version}, &sdk.ServerOptions{
		Instructions: "Search and read this Quire workspace's documents. Cite passages by document name; " +
			"use read_document (or the quire://documents/<id> resource) to read a document found by search_knowledge.",
		Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}, Resources: &sdk.ResourceCapabilities{}},
	})
	for _, spec := range h.tools.Specs() {
		srv.AddTool(&sdk.Tool{Name: spec.Name, Description: spec.Description, InputSchema: spec.Parameters},
			func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				ctx, sc, err := scopeOf(ctx)
				if err != nil {
					return nil, err
				}
				return h.call(ctx, sc, spec.Name, req.Params.Arguments)
			})
	}
	srv.AddResourceTemplate(&sdk.ResourceTemplate{
		Name: "document", Title: "A document of the workspace", MIMEType: "text/plain",
		URITemplate: URIPrefix + "{id}{?page}",
		Description: "A document's text, " + strconv.Itoa(tools.PageChunks) + " passages a page; add ?page=N for page N.",
	}, func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		ctx, sc, err := scopeOf(ctx)
		if err != nil {
			return nil, err
		}
		return h.readResource(ctx, sc, req.Params.URI)
	})
	// resources/list pages through the documents from the store, as the
	// viewer sees them, rather than registering every document up front.
	srv.AddReceivingMiddleware(func(next sdk.MethodHandler) sdk.MethodHandler {
		return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
			if r, ok := req.(*sdk.ListResourcesRequest); ok && method == "resources/list" {
				ctx, sc, err := scopeOf(ctx)
				if err != nil {
					return nil, err
				}
				cursor := ""
				if r.Params != nil {
					cursor = r.Params.Cursor
				}
				return h.listResources(ctx, sc, cursor)
			}
			return next(ctx, method, req)
		}
	})
	return srv
}

// call runs a tool. A search embeds its query, so it first reserves that
// against the workspace's plan like any model call (a spent allowance is a
// tool error the assistant can tell its user about); the knowledge layer
// writes the ai_usage row of the embedding itself.
func (h *Handlers) call(ctx context.Context, sc tools.Scope, name string, args json.RawMessage) (*sdk.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	if name == tools.SearchKnowledge {
		model := h.Settings.Get().DefaultEmbeddingModel
		hold, err := h.Plan.Reserve(ctx, sc.WorkspaceID, model, chat.TokenBound(string(args)), 0)
		if fault.Is(err, fault.Quota) {
			return toolError(err.Error()), nil
		} else if err != nil {
			return nil, err
		}
		defer h.Plan.Release(ctx, hold)
	}
	res, err := h.tools.Run(ctx, sc, name, args)
	if err != nil {
		return nil, h.internal(err)
	}
	out := &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: res.Text}}, IsError: res.IsError}
	if !res.IsError && len(res.Passages) > 0 {
		out.StructuredContent = passages(res)
	}
	return out, nil
}

// passages is a result's passages as structured content, for clients that
// show sources.
func passages(res tools.Result) map[string]any {
	list := make([]map[string]any, len(res.Passages))
	for i, p := range res.Passages {
		list[i] = map[string]any{"document_id": p.DocumentID, "document_name": p.DocumentName, "chunk_id": p.ChunkID,
			"location": p.Location, "heading": p.Heading, "uri": URIPrefix + p.DocumentID}
	}
	return map[string]any{"summary": res.Summary, "passages": list}
}

func toolError(msg string) *sdk.CallToolResult {
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "Error: " + msg}}, IsError: true}
}

// internal logs a failure of ours and gives the client a sentence without
// the details (they may name paths or SQL).
func (h *Handlers) internal(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the call took longer than %s and was stopped", CallTimeout)
	}
	if f, ok := fault.As(err); ok {
		return errors.New(f.Message)
	}
	h.Log.Error("mcp call failed", "err", err)
	return errors.New("something went wrong on the server; it has been logged")
}

// readResource reads quire://documents/<id>[?page=N].
func (h *Handlers) readResource(ctx context.Context, sc tools.Scope, uri string) (*sdk.ReadResourceResult, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	rest, ok := strings.CutPrefix(uri, URIPrefix)
	if !ok || len(uri) > 256 {
		return nil, sdk.ResourceNotFoundError(uri[:min(len(uri), 256)])
	}
	id, query, _ := strings.Cut(rest, "?")
	page := 1
	if query != "" {
		q, err := url.ParseQuery(query)
		if err == nil && q.Has("page") {
			page, err = strconv.Atoi(q.Get("page"))
		}
		if err != nil || page < 1 {
			return nil, invalidParams("page must be a whole number from 1")
		}
	}
	d, err := h.tools.Document(ctx, sc, id)
	if fault.Is(err, fault.NotFound) {
		return nil, sdk.ResourceNotFoundError(uri)
	}
	if err != nil {
		return nil, h.internal(err)
	}
	p, err := h.tools.Page(ctx, sc, d, page)
	if err != nil {
		return nil, h.internal(err)
	}
	return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: uri, MIMEType: "text/plain", Text: p.Text}}}, nil
}

// invalidParams is a JSON-RPC "invalid params" error.
func invalidParams(msg string) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: msg}
}

// listResources is one page of the ready documents the viewer sees, newest
// first; the cursor is the last one's position.
func (h *Handlers) listResources(ctx context.Context, sc tools.Scope, cursor string) (*sdk.ListResourcesResult, error) {
	f := store.DocumentFilter{Status: store.DocReady, Limit: ResourcesPage + 1}
	if cursor != "" {
		after, err := parseCursor(cursor)
		if err != nil {
			return nil, invalidParams("the cursor is not one this server issued")
		}
		f.After = after
	}
	docs, err := h.Store.ListDocuments(ctx, sc.WorkspaceID, sc.Viewer, f)
	if err != nil {
		return nil, h.internal(err)
	}
	out := &sdk.ListResourcesResult{Resources: []*sdk.Resource{}}
	if len(docs) > ResourcesPage {
		docs = docs[:ResourcesPage]
		last := docs[len(docs)-1]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(last.CreatedAt.Format(time.RFC3339Nano) + " " + last.ID))
	}
	for _, d := range docs {
		out.Resources = append(out.Resources, &sdk.Resource{URI: URIPrefix + d.ID, Name: d.Name, Title: d.Name, MIMEType: "text/plain",
			Description: fmt.Sprintf("%d pages of text (%d passages)", tools.Pages(&d), d.ChunkCount)})
	}
	return out, nil
}

func parseCursor(s string) (*store.DocumentCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	at, id, ok := strings.Cut(string(raw), " ")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || len(id) > 64 {
		return nil, errors.New("bad cursor")
	}
	return &store.DocumentCursor{CreatedAt: t, ID: id}, nil
}

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"quire/app/auth"
	"quire/app/http/api"
	"quire/store"
)

// /mcp with the official Go SDK's client on a real socket: the refusals at
// the door, and what a hostile client cannot do to the server.

// bearer adds an API key to every request of an MCP client.
type bearer struct {
	key  string
	next http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.key != "" {
		r.Header.Set("Authorization", "Bearer "+b.key)
	}
	return b.next.RoundTrip(r)
}

// mcpConnect opens an SDK client session to base/mcp with key.
func mcpConnect(ctx context.Context, base, key string) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "quire-test", Version: "1"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1,
		HTTPClient: &http.Client{Transport: bearer{key, http.DefaultTransport}, Timeout: 30 * time.Second}}, nil)
}

// mcpPost sends one raw JSON-RPC body to /mcp as a streamable HTTP client would.
func mcpPost(ts *testServer, key, body string, headers ...string) response {
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	return ts.do(req{method: "POST", path: "/mcp", token: key, body: body, headers: h})
}

const mcpInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

type mcpKeys struct {
	owner                       user
	ws, other                   api.WorkspaceJSON
	bound, elsewhere, unbound   string
	revoked, session, ownerKey2 string
}

func newMCPKeys(t *testing.T, ts *testServer) *mcpKeys {
	k := &mcpKeys{owner: ts.signup("mcp")}
	k.ws, k.other = ts.createWorkspace(k.owner, "Acme"), ts.createWorkspace(k.owner, "Other")
	mk := func(body map[string]string) api.TokenJSON {
		var tok api.TokenJSON
		ts.must(201, req{method: "POST", path: "/api/me/tokens", token: k.owner.token, body: body}).json(&tok)
		return tok
	}
	k.bound = mk(map[string]string{"name": "mcp", "workspace_id": k.ws.ID}).Token
	k.elsewhere = mk(map[string]string{"name": "other", "workspace_id": k.other.ID}).Token
	k.unbound = mk(map[string]string{"name": "loose"}).Token
	rev := mk(map[string]string{"name": "revoked", "workspace_id": k.ws.ID})
	ts.must(204, req{method: "DELETE", path: fmt.Sprintf("/api/me/tokens/%d", rev.ID), token: k.owner.token})
	k.revoked, k.session = rev.Token, k.owner.token
	return k
}

// TestMCPRefusesWithoutAWorkspaceKey: only a live key bound to a workspace
// gets in; everyone else is told why, with the SDK client and on the wire.
func TestMCPRefusesWithoutAWorkspaceKey(t *testing.T) {
	ts := newTestServer(t)
	k := newMCPKeys(t, ts)
	base := "http://" + ts.listen()
	for _, tc := range []struct {
		label, key string
		status     int
		says       string
	}{
		{"no key", "", 401, "sign in or send"},
		{"a revoked key", k.revoked, 401, "unknown, revoked or expired"},
		{"a made-up key", "qk_" + strings.Repeat("x", 40), 401, "unknown, revoked or expired"},
		{"a key without a workspace", k.unbound, 403, "personal API key created for a workspace"},
		{"a session token", k.session, 403, "personal API key created for a workspace"},
	} {
		res := mcpPost(ts, tc.key, mcpInit)
		if res.Status != tc.status || !strings.Contains(string(res.Body), tc.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.label, res.Status, res.Body, tc.status, tc.says)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cs, err := mcpConnect(ctx, base, tc.key)
		cancel()
		if err == nil {
			cs.Close()
			t.Errorf("%s: the SDK client connected", tc.label)
		} else if !strings.Contains(err.Error(), fmt.Sprint(tc.status)) && !strings.Contains(err.Error(), http.StatusText(tc.status)) {
			t.Errorf("%s: the SDK client's error does not name %d: %v", tc.label, tc.status, err)
		}
	}
	// A malformed Authorization header is refused too, not taken as anonymous.
	res := ts.do(req{method: "POST", path: "/mcp", body: mcpInit, headers: map[string]string{"Authorization": "Basic dXNlcjpwYXNz", "Content-Type": "application/json"}})
	if res.Status != 401 {
		t.Errorf("Basic auth: %d %s", res.Status, res.Body)
	}
	// The bound key does get in, in either of its holder's workspaces.
	for _, key := range []string{k.bound, k.elsewhere} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cs, err := mcpConnect(ctx, base, key)
		if err != nil {
			t.Fatalf("bound key: %v", err)
		}
		tools, err := cs.ListTools(ctx, nil)
		if err != nil || len(tools.Tools) != 3 {
			t.Errorf("tools: %+v %v", tools, err)
		}
		cs.Close()
		cancel()
	}
}

// TestMCPHostileRequests: oversized, malformed and unexpected requests get a
// clear refusal, and the server keeps nothing of them.
func TestMCPHostileRequests(t *testing.T) {
	ts := newTestServer(t)
	k := newMCPKeys(t, ts)
	for _, tc := range []struct {
		label, body string
		headers     []string
		status      int
		says        string
	}{
		{"a body over max_body_kb", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", ts.cfg.MaxBodyKB<<10) + `"}}`, nil, 413, "request body is over"},
		{"not JSON", `{"jsonrpc":`, nil, 400, ""},
		{"JSON that is not JSON-RPC", `[1,2,3]`, nil, 400, ""},
		{"a form body", `a=b`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"no event-stream in Accept", mcpInit, []string{"Accept", "application/json"}, 400, "Accept"},
		{"an unsupported protocol version header", mcpInit, []string{"Mcp-Protocol-Version", "1999-01-01"}, 400, "Unsupported protocol version"},
		{"gzip", mcpInit, []string{"Content-Encoding", "gzip"}, 415, "uncompressed"},
	} {
		res := mcpPost(ts, k.bound, tc.body, tc.headers...)
		if res.Status != tc.status || !strings.Contains(string(res.Body), tc.says) {
			t.Errorf("%s: %d %.300s, want %d saying %q", tc.label, res.Status, res.Body, tc.status, tc.says)
		}
	}
	// An unknown method is refused by name, not a crash.
	res := mcpPost(ts, k.bound, `{"jsonrpc":"2.0","id":7,"method":"tools/delete_everything","params":{}}`)
	if res.Status != 400 || !strings.Contains(string(res.Body), `"tools/delete_everything" unsupported`) {
		t.Errorf("unknown method: %d %s", res.Status, res.Body)
	}
	// No sessions and no standing streams: GET and DELETE are 405, whatever the session header.
	for _, m := range []string{"GET", "DELETE"} {
		res := ts.do(req{method: m, path: "/mcp", token: k.bound, headers: map[string]string{"Accept": "text/event-stream", "Mcp-Session-Id": "anything"}})
		if res.Status != 405 || res.Header.Get("Allow") != "POST" {
			t.Errorf("%s /mcp: %d %s", m, res.Status, res.Body)
		}
	}
}

// TestMCPManySessionsHoldNothing: hundreds of clients that initialize and
// never close leave no goroutines or memory behind (the server is
// stateless), and parallel ones all get answers.
func TestMCPManySessionsHoldNothing(t *testing.T) {
	ts := newTestServer(t)
	k := newMCPKeys(t, ts)
	base := "http://" + ts.listen()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	warm, err := mcpConnect(ctx, base, k.bound)
	if err != nil {
		t.Fatal(err)
	}
	warm.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A raw initialize that never sends notifications/initialized nor DELETE.
			r, _ := http.NewRequestWithContext(ctx, "POST", base+"/mcp", strings.NewReader(mcpInit))
			r.Header.Set("Authorization", "Bearer "+k.bound)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json, text/event-stream")
			resp, err := tr.RoundTrip(r)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var out struct {
				Result struct{ ServerInfo struct{ Name string } }
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || out.Result.ServerInfo.Name != "quire" {
				errs <- fmt.Errorf("initialize: %d %v %+v", resp.StatusCode, err, out)
			}
			if resp.Header.Get("Mcp-Session-Id") != "" {
				errs <- fmt.Errorf("the server handed out a session id")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tr.CloseIdleConnections()
	// fasthttp keeps idle workers for a while whatever the route, so what
	// is counted is what MCP would keep: goroutines in the SDK or in Quire's
	// MCP package.
	deadline := time.Now().Add(5 * time.Second)
	for mcpGoroutines() != "" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := mcpGoroutines(); left != "" {
		t.Errorf("goroutines left after 200 abandoned sessions:\n%s", left)
	}
}

// mcpGoroutines is the stacks of the goroutines running MCP code.
func mcpGoroutines() string {
	var all strings.Builder
	pprof.Lookup("goroutine").WriteTo(&all, 2)
	var out []string
	for _, g := range strings.Split(all.String(), "\n\n") {
		if strings.Contains(g, "modelcontextprotocol") || strings.Contains(g, "quire/app/http/mcp") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// TestMCPNeedsAPIAccess: a plan without API access refuses /mcp like /v1.
func TestMCPNeedsAPIAccess(t *testing.T) {
	b := newBillingServer(t)
	owner := b.signup("owner")
	ws := b.createWorkspace(owner, "Gated")
	secret, hash := auth.NewToken("qk_")
	if _, err := b.store.CreateToken(t.Context(), owner.ID, store.TokenAPIKey, "old key", hash, ws.ID, nil); err != nil {
		t.Fatal(err)
	}
	if res := mcpPost(b.testServer, secret, mcpInit); res.Status != 402 || res.errCode() != "quota_exceeded" || !strings.Contains(string(res.Body), "API access") {
		t.Errorf("free plan: %d %s", res.Status, res.Body)
	}
}

// mcpWorld is a workspace with documents, a team-restricted one among them,
// and the SDK client of its owner's key and of a plain member's key.
type mcpWorld struct {
	ts                      *testServer
	base                    string
	owner, member           user
	ws, other               api.WorkspaceJSON
	policy, secret, foreign api.DocumentJSON
	ownerKey, memberKey     string
	ownerKeyElsewhere       string
	handbook, engineering   api.KbJSON
}

func newMCPWorld(t *testing.T) *mcpWorld {
	ts, _ := newOllamaServer(t)
	w := &mcpWorld{ts: ts, base: "http://" + ts.listen(), owner: ts.signup("owner"), member: ts.signup("member")}
	w.ws, w.other = ts.createWorkspace(w.owner, "Acme"), ts.createWorkspace(w.owner, "Other")
	ts.addMember(w.ws, w.owner, w.member, "member")
	kb := func(ws api.WorkspaceJSON, name string, shared bool) api.KbJSON {
		var out api.KbJSON
		ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/knowledge-bases", token: w.owner.token,
			body: map[string]any{"name": name, "shared_with_workspace": shared}}).json(&out)
		return out
	}
	w.handbook, w.engineering = kb(w.ws, "Handbook", true), kb(w.ws, "Engineering", false)
	otherKB := kb(w.other, "Handbook", true)
	up := func(ws api.WorkspaceJSON, name, text, kbID string) api.DocumentJSON {
		var d api.DocumentJSON
		res := ts.upload(w.owner, ws.ID, name, []byte(text), map[string]string{"knowledge_base_ids": kbID})
		if res.Status != 202 {
			t.Fatalf("upload %s: %d %s", name, res.Status, res.Body)
		}
		res.json(&d)
		return ts.waitReady(w.owner, ws.ID, d.ID)
	}
	w.policy = up(w.ws, "policy.txt", "Vacation policy. Unused vacation days carry over to the next year, up to five days.", w.handbook.ID)
	w.secret = up(w.ws, "secret.txt", "Engineering only. The ship will sail across the ocean with the secret cargo and the vacation plans.", w.engineering.ID)
	w.foreign = up(w.other, "foreign.txt", "Elsewhere. Vacation days in the other workspace never carry over.", otherKB.ID)
	key := func(u user, wsID string) string {
		var tok api.TokenJSON
		ts.must(201, req{method: "POST", path: "/api/me/tokens", token: u.token, body: map[string]string{"name": "mcp", "workspace_id": wsID}}).json(&tok)
		return tok.Token
	}
	w.ownerKey, w.memberKey, w.ownerKeyElsewhere = key(w.owner, w.ws.ID), key(w.member, w.ws.ID), key(w.owner, w.other.ID)
	return w
}

func (w *mcpWorld) connect(t *testing.T, key string) (*mcp.ClientSession, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cs, err := mcpConnect(ctx, w.base, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, ctx
}

func toolText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestMCPHostileToolCalls: arguments a client makes up get tool errors the
// assistant can read; resource URIs it makes up get "not found".
func TestMCPHostileToolCalls(t *testing.T) {
	w := newMCPWorld(t)
	cs, ctx := w.connect(t, w.memberKey)
	for _, tc := range []struct {
		name string
		args any
		says string
	}{
		{"search_knowledge", map[string]any{"query": 42}, "query must be a string"},
		{"search_knowledge", map[string]any{}, "query is required"},
		{"search_knowledge", map[string]any{"query": strings.Repeat("vacation ", 200)}, "at most 1000 characters"},
		{"search_knowledge", map[string]any{"query": "vacation\x00"}, "control characters"},
		{"search_knowledge", map[string]any{"query": "vacation", "knowledge_base": "Engineering"}, "no knowledge base"},
		{"read_document", map[string]any{"document_id": w.secret.ID}, "there is no document"},
		{"read_document", map[string]any{"document_id": w.foreign.ID}, "there is no document"},
		{"read_document", map[string]any{"document_id": w.policy.ID, "page": -1}, "page must be a whole number"},
		{"read_document", map[string]any{"document_id": w.policy.ID, "page": 99}, "page 99 does not exist"},
	} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tc.name, Arguments: tc.args})
		if err != nil {
			t.Errorf("%s %v: %v", tc.name, tc.args, err)
			continue
		}
		if text := toolText(res); !res.IsError || !strings.Contains(text, tc.says) || strings.Contains(text, "cargo") || strings.Contains(text, "never carry") {
			t.Errorf("%s %v: %+v %q, want an error saying %q", tc.name, tc.args, res, text, tc.says)
		}
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "drop_tables", Arguments: map[string]any{}}); err == nil {
		t.Error("an unknown tool was called")
	}
	for _, uri := range []string{
		"quire://documents/" + w.secret.ID,  // restricted to a team the member is not in
		"quire://documents/" + w.foreign.ID, // another workspace
		"quire://documents/../../etc/passwd",
		"quire://documents/" + strings.Repeat("a", 1000),
		"file:///etc/passwd",
		"quire://documents/",
	} {
		if res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri}); err == nil || strings.Contains(fmt.Sprint(res), "cargo") {
			t.Errorf("read %.80s: %+v %v", uri, res, err)
		} else if len(err.Error()) > 600 {
			t.Errorf("read %.80s: the error echoes the input (%d bytes)", uri, len(err.Error()))
		}
	}
	for _, uri := range []string{"quire://documents/" + w.policy.ID + "?page=0", "quire://documents/" + w.policy.ID + "?page=abc"} {
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri}); err == nil || !strings.Contains(err.Error(), "page must be a whole number") {
			t.Errorf("read %s: %v", uri, err)
		}
	}
	if _, err := cs.ListResources(ctx, &mcp.ListResourcesParams{Cursor: "not-a-cursor"}); err == nil || !strings.Contains(err.Error(), "cursor") {
		t.Errorf("a made-up cursor: %v", err)
	}
	// A URI too long for a request header (the client repeats it in one) is
	// refused at the door; the server goes on serving.
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "quire://documents/" + strings.Repeat("a", 10000)}); err == nil {
		t.Error("a 10 KB URI was read")
	}
	cs2, ctx := w.connect(t, w.memberKey)
	if res, err := cs2.ReadResource(ctx, &mcp.ReadResourceParams{URI: "quire://documents/" + w.policy.ID}); err != nil || !strings.Contains(res.Contents[0].Text, "carry over") {
		t.Errorf("read after the refusal: %+v %v", res, err)
	}
}

// TestMCPSearchUsesTheQuota: a search embeds its query, which is usage of the
// key's workspace; with the allowance spent, it is refused with the reason and
// nothing is embedded.
func TestMCPSearchUsesTheQuota(t *testing.T) {
	w := newMCPWorld(t)
	cs, ctx := w.connect(t, w.ownerKey)
	costs := func() store.CostTotals {
		c, err := w.ts.store.WorkspaceCosts(ctx, w.ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before := costs()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_knowledge", Arguments: map[string]any{"query": "vacation days carry over"}})
	if err != nil || res.IsError || !strings.Contains(toolText(res), w.policy.ID) {
		t.Fatalf("search: %+v %v", res, err)
	}
	after := costs()
	if after.InputTokens <= before.InputTokens {
		t.Errorf("the query's embedding is not in the workspace's usage: %+v then %+v", before, after)
	}
	st := w.ts.srv.currentSettings()
	st.TokenLimit = after.InputTokens // spent
	if err := w.ts.srv.saveSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_knowledge", Arguments: map[string]any{"query": "vacation days carry over"}})
	if err != nil || !res.IsError || !strings.Contains(toolText(res), "tokens for this month left") {
		t.Fatalf("search over the limit: %+v %q %v", res, toolText(res), err)
	}
	if spent := costs(); spent != after {
		t.Errorf("a refused search still embedded: %+v then %+v", after, spent)
	}
	// Reading needs no model, so it still works.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_document", Arguments: map[string]any{"document_id": w.policy.ID}})
	if err != nil || res.IsError {
		t.Errorf("read over the limit: %+v %v", res, err)
	}
}

// TestMCPParallelKeysStayApart: the one MCP server answers every request in
// the scope of that request's key, however many run at once: a member never
// gets the team's document, the owner always does, and the owner's key for
// another workspace never sees this one.
func TestMCPParallelKeysStayApart(t *testing.T) {
	w := newMCPWorld(t)
	type caller struct {
		key          string
		sees, hidden []string // document ids in, and not in, every answer
	}
	callers := []caller{
		{w.memberKey, []string{w.policy.ID}, []string{w.secret.ID, w.foreign.ID}},
		{w.ownerKey, []string{w.policy.ID, w.secret.ID}, []string{w.foreign.ID}},
		{w.ownerKeyElsewhere, []string{w.foreign.ID}, []string{w.policy.ID, w.secret.ID}},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 12 {
		c := callers[i%len(callers)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cs, err := mcpConnect(ctx, w.base, c.key)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer cs.Close()
			for range 5 {
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_knowledge", Arguments: map[string]any{"query": "vacation days carry over secret cargo"}})
				if err != nil {
					errs <- err.Error()
					return
				}
				list, err := cs.ListResources(ctx, nil)
				if err != nil {
					errs <- err.Error()
					return
				}
				var uris strings.Builder
				for _, r := range list.Resources {
					uris.WriteString(r.URI + " ")
				}
				for _, got := range []string{toolText(res), uris.String()} {
					for _, id := range c.sees {
						if !strings.Contains(got, id) {
							errs <- fmt.Sprintf("caller %d misses %s in %q", i%len(callers), id, got)
						}
					}
					for _, id := range c.hidden {
						if strings.Contains(got, id) {
							errs <- fmt.Sprintf("caller %d gets %s: %q", i%len(callers), id, got)
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestMCPReadsAreAudited: what another assistant received through the MCP
// server is in the workspace's audit log like any read — passages found by
// search_knowledge and pages read with read_document or as a resource, each
// under the document, with the API key as the actor.
func TestMCPReadsAreAudited(t *testing.T) {
	w := newMCPWorld(t)
	cs, ctx := w.connect(t, w.ownerKey)
	reads := func() []store.AuditEntry {
		return w.ts.auditRows(store.AuditFilter{Workspace: w.ws.ID, Action: "passages.read", TargetID: w.policy.ID})
	}
	check := func(step string, before int, mode string) {
		t.Helper()
		rows := reads()
		if len(rows) <= before {
			t.Fatalf("%s: no passages.read row for the document", step)
		}
		e := rows[0]
		if e.ActorKind != "api_key" || e.UserID == nil || *e.UserID != w.owner.ID || details(t, e)["mode"] != mode {
			t.Errorf("%s: row %+v details %s", step, e, e.Details)
		}
	}
	n := len(reads())
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_knowledge", Arguments: map[string]any{"query": "vacation days carry over"}})
	if err != nil || res.IsError {
		t.Fatalf("search: %+v %v", res, err)
	}
	check("search_knowledge", n, "hybrid")
	n = len(reads())
	if res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_document", Arguments: map[string]any{"document_id": w.policy.ID}}); err != nil || res.IsError {
		t.Fatalf("read: %+v %v", res, err)
	}
	check("read_document", n, "read")
	n = len(reads())
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "quire://documents/" + w.policy.ID}); err != nil {
		t.Fatal(err)
	}
	check("resource", n, "read")
	// A refused read (another team's document) reads nothing.
	if res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_document", Arguments: map[string]any{"document_id": w.foreign.ID}}); err != nil || !res.IsError {
		t.Fatalf("foreign read: %+v %v", res, err)
	}
	if rows := w.ts.auditRows(store.AuditFilter{AllWorkspaces: true, Action: "passages.read", TargetID: w.foreign.ID}); len(rows) != 0 {
		t.Errorf("a refused read was recorded as received: %+v", rows)
	}
}

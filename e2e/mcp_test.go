package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The official MCP Go SDK's client against the real binary and the real
// Ollama: an assistant connected with a member's workspace key finds and
// reads what that member may read, and nothing else.

type bearerTransport struct{ key string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.key != "" {
		r.Header.Set("Authorization", "Bearer "+b.key)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func mcpSession(ctx context.Context, in *instance, key string) (*mcp.ClientSession, error) {
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: in.URL + "/mcp", MaxRetries: -1,
		HTTPClient: &http.Client{Transport: bearerTransport{key}, Timeout: 30 * time.Second}}, nil)
}

func mcpText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

func TestMCPWithTheSDKClient(t *testing.T) {
	in, _, ada := startWithOllama(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var grace struct {
		Token string
		User  struct{ ID int64 }
	}
	if code := in.api("POST", "/api/auth/signup", "", map[string]string{"email": "grace@example.com", "password": "compiler-1952", "name": "Grace"}, &grace); code != 201 {
		t.Fatalf("signup %d", code)
	}
	var ws, temp, elsewhere, handbook, legal struct{ ID string }
	in.api("POST", "/api/workspaces", ada, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces", ada, map[string]string{"name": "Temp"}, &temp)
	in.api("POST", "/api/workspaces", grace.Token, map[string]string{"name": "Elsewhere"}, &elsewhere)
	for _, w := range []string{ws.ID, temp.ID} {
		if code := in.api("POST", "/api/workspaces/"+w+"/members", ada, map[string]string{"email": "grace@example.com", "role": "member"}, nil); code != 201 {
			t.Fatalf("add member %d", code)
		}
	}
	base := "/api/workspaces/" + ws.ID
	in.api("POST", base+"/knowledge-bases", ada, map[string]any{"name": "Handbook", "shared_with_workspace": true}, &handbook)
	in.api("POST", base+"/knowledge-bases", ada, map[string]any{"name": "Legal", "shared_with_workspace": false}, &legal)
	var teamRow struct{ ID int64 }
	if code := in.api("POST", base+"/teams", ada, map[string]string{"name": "Lawyers"}, &teamRow); code != 201 {
		t.Fatalf("team %d", code)
	}
	if code := in.api("PUT", base+"/knowledge-bases/"+legal.ID+"/access", ada, map[string]any{"shared_with_workspace": false, "team_ids": []int64{teamRow.ID}}, nil); code != 200 {
		t.Fatalf("access %d", code)
	}
	var otherKB struct{ ID string }
	in.api("POST", "/api/workspaces/"+elsewhere.ID+"/knowledge-bases", grace.Token, map[string]any{"name": "Notes", "shared_with_workspace": true}, &otherKB)
	in.uploadInto(t, ada, ws.ID, handbook.ID, "policy.txt", "Vacation policy. Unused vacation days carry over to the next year, up to five days.")
	in.uploadInto(t, ada, ws.ID, legal.ID, "contract.txt", "Legal only. The settlement pays the vacation days of the departing director.")
	in.uploadInto(t, grace.Token, elsewhere.ID, otherKB.ID, "diary.txt", "Elsewhere. Grace's vacation days in her own workspace.")
	ids := map[string]string{}
	for _, w := range []struct{ id, token string }{{ws.ID, ada}, {elsewhere.ID, grace.Token}} {
		var list struct{ Items []struct{ ID, Name string } }
		in.api("GET", "/api/workspaces/"+w.id+"/documents", w.token, nil, &list)
		for _, d := range list.Items {
			ids[d.Name] = d.ID
		}
	}
	key := func(token, wsID string) (string, int64) {
		var k struct {
			ID    int64
			Token string
		}
		if code := in.api("POST", "/api/me/tokens", token, map[string]string{"name": "assistant", "workspace_id": wsID}, &k); code != 201 {
			t.Fatalf("key %d", code)
		}
		return k.Token, k.ID
	}
	graceKey, _ := key(grace.Token, ws.ID)
	graceElsewhere, _ := key(grace.Token, elsewhere.ID)
	graceTemp, _ := key(grace.Token, temp.ID)
	revoked, revokedID := key(grace.Token, ws.ID)
	in.api("DELETE", fmt.Sprintf("/api/me/tokens/%d", revokedID), grace.Token, nil, nil)
	if code := in.api("DELETE", fmt.Sprintf("/api/workspaces/%s/members/%d", temp.ID, grace.User.ID), ada, nil, nil); code != 204 {
		t.Fatalf("remove from Temp: %d", code)
	}

	// Grace's assistant in Acme.
	cs, err := mcpSession(ctx, in, graceKey)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	if slices.Sort(names); !slices.Equal(names, []string{"list_knowledge_bases", "read_document", "search_knowledge"}) {
		t.Fatalf("tools %v", names)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_knowledge", Arguments: map[string]any{"query": "vacation days carry over"}})
	if err != nil || res.IsError {
		t.Fatalf("search: %v %+v", err, res)
	}
	if text := mcpText(res); !strings.Contains(text, ids["policy.txt"]) || !strings.Contains(text, "carry over to the next year") {
		t.Errorf("search does not find the policy:\n%s", text)
	} else if strings.Contains(text, "settlement") || strings.Contains(text, ids["contract.txt"]) || strings.Contains(text, "Grace's vacation") {
		t.Errorf("search returns a document Grace may not read here:\n%s", text)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_document", Arguments: map[string]any{"document_id": ids["policy.txt"]}})
	if err != nil || res.IsError || !strings.Contains(mcpText(res), "page 1 of 1") || !strings.Contains(mcpText(res), "up to five days") {
		t.Errorf("read the policy: %v %+v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_knowledge_bases"})
	if err != nil || !strings.Contains(mcpText(res), "Handbook") || strings.Contains(mcpText(res), "Legal") {
		t.Errorf("knowledge bases: %v %q", err, mcpText(res))
	}
	// The team's contract and another workspace's diary are "not found", by id.
	for _, name := range []string{"contract.txt", "diary.txt"} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_document", Arguments: map[string]any{"document_id": ids[name]}})
		if err != nil || !res.IsError || !strings.Contains(mcpText(res), "there is no document") {
			t.Errorf("read %s: %v %+v", name, err, res)
		}
		if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "quire://documents/" + ids[name]}); err == nil || !strings.Contains(strings.ToLower(err.Error()), "not found") {
			t.Errorf("resource %s: %v", name, err)
		}
	}
	// Resources: the documents Grace may read, and their text.
	list, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range list.Resources {
		uris = append(uris, r.URI)
	}
	if !slices.Equal(uris, []string{"quire://documents/" + ids["policy.txt"]}) {
		t.Errorf("resources %v, want only the policy", uris)
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "quire://documents/" + ids["policy.txt"]})
	if err != nil || len(rr.Contents) != 1 || !strings.Contains(rr.Contents[0].Text, "carry over") || rr.Contents[0].MIMEType != "text/plain" {
		t.Errorf("read resource: %v %+v", err, rr)
	}

	// Her key for Elsewhere sees Elsewhere only.
	other, err := mcpSession(ctx, in, graceElsewhere)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	res, err = other.CallTool(ctx, &mcp.CallToolParams{Name: "search_knowledge", Arguments: map[string]any{"query": "vacation days"}})
	if err != nil || strings.Contains(mcpText(res), "carry over") || !strings.Contains(mcpText(res), "Grace's vacation") {
		t.Errorf("search with the Elsewhere key: %v %q", err, mcpText(res))
	}
	res, err = other.CallTool(ctx, &mcp.CallToolParams{Name: "read_document", Arguments: map[string]any{"document_id": ids["policy.txt"]}})
	if err != nil || !res.IsError || strings.Contains(mcpText(res), "five days") {
		t.Errorf("read Acme's policy with the Elsewhere key: %v %+v", err, res)
	}

	// Refused at the door: no key, a revoked key, a key for a workspace she
	// was removed from (removal deletes the member's keys bound there).
	for _, tc := range []struct{ label, key, status string }{{"no key", "", "401"}, {"revoked key", revoked, "401"}, {"key of a workspace she left", graceTemp, "401"}} {
		if cs, err := mcpSession(ctx, in, tc.key); err == nil {
			cs.Close()
			t.Errorf("%s: connected", tc.label)
		} else if !strings.Contains(err.Error(), tc.status) && !strings.Contains(err.Error(), map[string]string{"401": "Unauthorized", "403": "Forbidden"}[tc.status]) {
			t.Errorf("%s: %v, want %s", tc.label, err, tc.status)
		}
	}
}

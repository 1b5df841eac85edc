package app

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"quire/app/config"
	"quire/app/http/api"
)

// BenchmarkMCPOverhead: what /mcp's stateless design costs per call (a fresh
// SDK server per request) against the JSON API answering the same question,
// both over a real socket with the same workspace key:
//
//	go test ./app -run '^$' -bench MCPOverhead -benchtime 300x
func BenchmarkMCPOverhead(b *testing.B) {
	ts := newTestServer(b, func(c *config.Config) { c.V1RequestsPerMinute = 0 }) // the per-key limit would stop the loop
	base := "http://" + ts.listen()
	owner := ts.quickUser("bench")
	ws := ts.createWorkspace(owner, "Acme")
	for _, name := range []string{"Handbook", "Engineering", "Legal"} {
		ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/knowledge-bases", token: owner.token, body: map[string]any{"name": name}})
	}
	var key api.TokenJSON
	ts.must(201, req{method: "POST", path: "/api/me/tokens", token: owner.token, body: map[string]string{"name": "bench", "workspace_id": ws.ID}}).json(&key)
	ctx := context.Background()

	b.Run("api", func(b *testing.B) {
		r, _ := http.NewRequest("GET", base+"/api/workspaces/"+ws.ID+"/knowledge-bases", nil)
		r.Header.Set("Authorization", "Bearer "+key.Token)
		for b.Loop() {
			resp, err := http.DefaultClient.Do(r)
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(resp.StatusCode, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("mcp", func(b *testing.B) {
		cs, err := mcpConnect(ctx, base, key.Token)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		for b.Loop() {
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_knowledge_bases"})
			if err != nil || res.IsError {
				b.Fatal(res, err)
			}
		}
	})
}

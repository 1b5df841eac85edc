package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The account page tells how to connect an assistant over MCP: this
// instance's /mcp URL and an example config that is valid JSON naming it,
// both copyable from the keyboard, fitting a phone, light and dark.
func TestBrowserAccountMCPHint(t *testing.T) {
	chromiumPath(t)
	in := start(t, "")
	admin := in.setupAdmin("ada@example.com", "analytical-engine", "Ada")
	if code := in.api("POST", "/api/workspaces", admin, map[string]string{"name": "Acme"}, nil); code != 201 {
		t.Fatalf("workspace %d", code)
	}
	ctx := browser(t)
	console := watchConsole(ctx, t)
	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	want := in.URL + "/mcp"
	for _, width := range []int64{1280, 390} {
		p := layoutPage{"account-mcp", "/account"}
		run(t, ctx, "account", viewport(width, 900), chromedp.Navigate(in.URL+"/account"), chromedp.WaitVisible(`#mcp`))
		var url, config string
		run(t, ctx, "read the hint", chromedp.Text(`#mcp-url`, &url), chromedp.TextContent(`#mcp-config`, &config))
		if url != want {
			t.Errorf("URL %q, want %q", url, want)
		}
		var cfg struct {
			MCPServers map[string]struct {
				Type, URL string
				Headers   map[string]string
			} `json:"mcpServers"`
		}
		if err := json.Unmarshal([]byte(config), &cfg); err != nil {
			t.Fatalf("the example config is not JSON (%v):\n%s", err, config)
		}
		if q := cfg.MCPServers["quire"]; q.URL != want || q.Type != "http" || !strings.HasPrefix(q.Headers["Authorization"], "Bearer ") {
			t.Errorf("example config %+v", cfg)
		}
		checkWidth(t, ctx, p)
		shots(t, ctx, p, int(width))
	}
	// Keyboard: Tab reaches "Copy config", Enter copies it (or selects it
	// where the clipboard is refused).
	found := false
	for i := 0; i < 60 && !found; i++ {
		run(t, ctx, "tab", chromedp.KeyEvent(kb.Tab))
		found = activeID(t, ctx) == "button:Copy config"
	}
	if !found {
		t.Fatal("Tab never reaches the Copy config button")
	}
	var label string
	run(t, ctx, "copy", chromedp.KeyEvent(kb.Enter), chromedp.Sleep(200e6), chromedp.Evaluate(`document.activeElement.textContent`, &label))
	if label != "Copied" && label != "Selected: press Ctrl+C" {
		t.Errorf("after Enter the button says %q", label)
	}
	if errs := console(); len(errs) > 0 {
		t.Errorf("console: %v", errs)
	}
}

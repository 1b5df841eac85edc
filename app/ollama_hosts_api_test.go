package app

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"quire/app/config"
	"quire/app/http/api"
	"quire/app/llm/ollamatest"
	"quire/app/llm/tinymodel"
)

type hostList struct {
	Items  []api.OllamaHostJSON `json:"items"`
	Locked string               `json:"locked"`
}

func (ts *testServer) hosts(token string) hostList {
	var l hostList
	ts.must(200, req{method: "GET", path: "/api/admin/ollama-hosts", token: token}).json(&l)
	return l
}

// deadURL is a loopback URL where nothing listens.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// TestOllamaHostsAdminAPI: the admin adds a second real Ollama host, its
// models show, calls reach both hosts, edits are checked, and the pool
// survives a restart.
func TestOllamaHostsAdminAPI(t *testing.T) {
	ts, o := newOllamaServer(t)
	second := ollamatest.Start(t)
	const only = "quire-second-only"
	if err := second.CreateEmbedModel(t.Context(), only, tinymodel.EmbedOptions{Dim: ollamatest.EmbedDim}); err != nil {
		t.Fatal(err)
	}
	admin := ts.signup("root")

	var added api.OllamaHostJSON
	ts.must(201, req{method: "POST", path: "/api/admin/ollama-hosts", token: admin.token,
		body: map[string]any{"url": second.URL + "/", "label": "GPU box", "weight": 2}}).json(&added)
	if added.URL != second.URL || added.Label != "GPU box" || added.Weight != 2 || !added.Editable || added.Primary {
		t.Fatalf("added %+v", added)
	}
	l := ts.hosts(admin.token)
	if len(l.Items) != 2 || !l.Items[0].Primary || l.Items[0].URL != o.URL || l.Items[0].Editable || l.Locked != "" {
		t.Fatalf("hosts %+v", l)
	}
	// The models list is the pool's: the second host's own model is there.
	var models api.List[api.ModelJSON]
	ts.must(200, req{method: "GET", path: "/api/admin/models", token: admin.token}).json(&models)
	found := false
	for _, m := range models.Items {
		found = found || strings.TrimSuffix(m.Name, ":latest") == only && m.Embedding
	}
	if !found {
		t.Errorf("the second host's model is not listed: %+v", models.Items)
	}
	// Embeddings of the model only the second host has go there.
	if _, _, err := ts.srv.llm.Embed(t.Context(), only, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	l = ts.hosts(admin.token)
	if l.Items[1].Requests.OK == 0 || len(l.Items[1].Models) < 3 || l.Items[1].Status != "up" {
		t.Errorf("second host after a call: %+v", l.Items[1])
	}

	// Edits: checked, with the field to fix.
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "ftp://10.0.0.5:11434"}, "url"},
		{map[string]any{"url": "javascript:alert(1)"}, "url"},
		{map[string]any{"url": "http://admin:pw@10.0.0.5:11434"}, "url"},
		{map[string]any{"url": strings.Repeat("h", 5000)}, "url"},
		{map[string]any{"url": "http://10.0.0.5:11434", "label": "a\x00b"}, "label"},
		{map[string]any{"url": "http://10.0.0.5:11434", "weight": 1000}, "weight"},
		{map[string]any{"label": "no url"}, "url"},
	} {
		res := ts.do(req{method: "POST", path: "/api/admin/ollama-hosts", token: admin.token, body: bad.body})
		if res.Status != 400 || res.errField() != bad.field {
			t.Errorf("POST %v: %d %s", bad.body, res.Status, res.Body)
		}
	}
	if res := ts.do(req{method: "POST", path: "/api/admin/ollama-hosts", token: admin.token, body: map[string]any{"url": " " + o.URL + "/"}}); res.Status != 409 {
		t.Errorf("the primary again: %d %s", res.Status, res.Body)
	}
	if res := ts.do(req{method: "POST", path: "/api/admin/ollama-hosts", token: admin.token, body: map[string]any{"url": second.URL}}); res.Status != 409 {
		t.Errorf("a duplicate: %d %s", res.Status, res.Body)
	}
	if res := ts.do(req{method: "PATCH", path: "/api/admin/ollama-hosts/" + l.Items[0].ID, token: admin.token, body: map[string]any{"weight": 3}}); res.Status != 409 {
		t.Errorf("PATCH the primary: %d %s", res.Status, res.Body)
	}
	for _, id := range []string{"nope", "../../settings", strings.Repeat("a", 300)} {
		if res := ts.do(req{method: "PATCH", path: "/api/admin/ollama-hosts/" + id, token: admin.token, body: map[string]any{"weight": 3}}); res.Status != 404 {
			t.Errorf("PATCH unknown %q: %d %s", id, res.Status, res.Body)
		}
	}
	if res := ts.do(req{method: "POST", path: "/api/admin/models/pull", token: admin.token, body: map[string]string{"name": "x", "host": "nope"}}); res.Status != 400 || res.errField() != "host" {
		t.Errorf("pull on an unknown host: %d %s", res.Status, res.Body)
	}
	var patched api.OllamaHostJSON
	ts.must(200, req{method: "PATCH", path: "/api/admin/ollama-hosts/" + added.ID, token: admin.token, body: map[string]any{"weight": 5, "label": "big"}}).json(&patched)
	if patched.Weight != 5 || patched.Label != "big" || patched.Requests.OK == 0 {
		t.Errorf("patched %+v (an edit keeps the host's state)", patched)
	}

	// Parallel additions all survive (one lock from reading to storing).
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if res := ts.do(req{method: "POST", path: "/api/admin/ollama-hosts", token: admin.token, body: map[string]any{"url": deadURL(t)}}); res.Status != 201 {
				t.Errorf("parallel add: %d %s", res.Status, res.Body)
			}
		})
	}
	wg.Wait()
	if n := len(ts.hosts(admin.token).Items); n != 14 {
		t.Errorf("%d hosts after 12 parallel additions, want 14", n)
	}

	// A restart over the same database keeps the admin's hosts.
	again, err := New(context.Background(), ts.cfg, ts.store, os.DirFS("../web"), ts.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(again.llm.Hosts()); n != 14 {
		t.Errorf("%d hosts after a restart, want 14", n)
	}

	ts.must(204, req{method: "DELETE", path: "/api/admin/ollama-hosts/" + added.ID, token: admin.token})
	ts.must(404, req{method: "DELETE", path: "/api/admin/ollama-hosts/" + added.ID, token: admin.token})
	for _, h := range ts.hosts(admin.token).Items {
		if h.URL == second.URL {
			t.Error("the deleted host is still in the pool")
		}
	}
	// Without the second host its model is on no host: today's clear error
	// (once the health checks have seen the 12 dead hosts).
	ts.srv.llm.CheckNow(t.Context())
	if _, _, err := ts.srv.llm.Embed(t.Context(), only, []string{"x"}); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("a model on no host: %v", err)
	}
}

// TestOllamaHostsFromConfig: a configured pool is locked, starts although a
// host is unreachable, and /metrics has a series per host.
func TestOllamaHostsFromConfig(t *testing.T) {
	o := ollamaForTest(t)
	dead := deadURL(t)
	ts := newTestServer(t, func(c *config.Config) {
		c.OllamaURL = o.URL
		c.OllamaURLs = []string{o.URL}
		c.Ollama = []config.OllamaHost{{URL: dead, Weight: 3, Label: "down box"}}
	})
	setModels(t, ts, o)
	admin := ts.signup("root")
	l := ts.hosts(admin.token)
	if len(l.Items) != 2 || l.Locked == "" || l.Items[1].Editable || l.Items[1].Label != "down box" || l.Items[1].Weight != 3 {
		t.Fatalf("configured pool %+v", l)
	}
	res := ts.do(req{method: "POST", path: "/api/admin/ollama-hosts", token: admin.token, body: map[string]any{"url": deadURL(t)}})
	if res.Status != 409 || res.errCode() != "pool_locked" || !strings.Contains(string(res.Body), "config file") {
		t.Errorf("adding to a configured pool: %d %s", res.Status, res.Body)
	}
	// Every call succeeds: the dead host (heavier, so tried first) fails
	// before answering and the call goes to the live one.
	for range 3 {
		if _, _, err := ts.srv.llm.Embed(t.Context(), o.EmbedModel, []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	metrics := string(ts.must(200, req{method: "GET", path: "/metrics", token: admin.token}).Body)
	for _, want := range []string{
		fmt.Sprintf(`quire_ollama_host_up{host="%s",label="down box"} 0`, dead),
		fmt.Sprintf(`quire_ollama_host_up{host="%s",label=""} 1`, o.URL),
		fmt.Sprintf(`quire_ollama_host_in_flight{host="%s",label=""} 0`, o.URL),
		fmt.Sprintf(`quire_ollama_host_requests_total{host="%s",outcome="retried"} 1`, dead),
		fmt.Sprintf(`quire_ollama_host_requests_total{host="%s",outcome="ok"}`, o.URL),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestOllamaHostsConfigLoad: ollama_urls, QUIRE_OLLAMA_URLS and [[ollama]]
// make the pool; bad entries are refused with the host to fix.
func TestOllamaHostsConfigLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "quire.toml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	load := func() (config.Config, error) {
		return config.Load(flag.NewFlagSet("quire", flag.ContinueOnError), []string{"--config", file})
	}
	write("ollama_urls = [\"http://10.0.0.1:11434\"]\n[[ollama]]\nurl = \"http://10.0.0.2:11434/\"\nweight = 4\nlabel = \"GPU\"\n")
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.OllamaHosts(); len(h) != 2 || h[1].Weight != 4 || h[1].Label != "GPU" || cfg.OllamaURL != "http://10.0.0.1:11434" || cfg.Source("ollama_url") == "" {
		t.Errorf("pool %+v, url %s (%s)", h, cfg.OllamaURL, cfg.Source("ollama_url"))
	}
	for _, bad := range []struct{ toml, want string }{
		{"ollama_urls = [\"ftp://10.0.0.1\"]", "http(s)"},
		{"ollama_urls = [\"http://10.0.0.1:11434\", \"http://10.0.0.1:11434/\"]", "listed twice"},
		{"[[ollama]]\nurl = \"http://10.0.0.1:11434\"\nweight = -2", "weight"},
		{"[[ollama]]\nurl = \"http://10.0.0.1:11434\"\nlabel = \"a\\u0007b\"", "label"},
		{"ollama_url = \"http://10.0.0.9:11434\"\nollama_urls = [\"http://10.0.0.1:11434\"]", "as well as a pool"},
		{"[[ollama]]\nurl = \"http://10.0.0.1:11434\"\nsecret = 1", "unknown option"},
	} {
		write(bad.toml)
		if _, err := load(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.toml, err, bad.want)
		}
	}
	var many strings.Builder
	many.WriteString("ollama_urls = [")
	for i := range 101 {
		fmt.Fprintf(&many, "\"http://10.0.%d.%d:11434\",", i/200, i%200+1)
	}
	write(strings.TrimSuffix(many.String(), ",") + "]")
	if _, err := load(); err == nil || !strings.Contains(err.Error(), "at most 100") {
		t.Errorf("101 hosts: %v", err)
	}
	write("")
	t.Setenv("QUIRE_OLLAMA_URLS", " http://10.0.0.1:11434 ,, http://10.0.0.3:11434")
	if cfg, err = load(); err != nil || len(cfg.OllamaHosts()) != 2 || cfg.Source("ollama_url") != "QUIRE_OLLAMA_URLS" {
		t.Errorf("from the environment: %+v, %v", cfg.OllamaHosts(), err)
	}
}

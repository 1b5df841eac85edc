package ops

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"quire/app/config"
	"quire/app/llm/ollamatest"
	"quire/store"
)

func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// TestDoctorChecksEveryOllamaHost: every host of the pool is checked; a
// default model on any reachable host is installed, and a dead primary is a
// warning while other hosts serve.
func TestDoctorChecksEveryOllamaHost(t *testing.T) {
	live := ollamatest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	primary, dead := deadURL(t), deadURL(t)
	if err := st.PutSetting(ctx, "instance", map[string]string{"ollama_url": primary, "default_chat_model": live.ChatModel}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting(ctx, "ollama_hosts", []config.OllamaHost{{URL: live.URL, Label: "GPU"}, {URL: dead}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	byName := func(in DoctorInput) map[string]Check {
		in.DataDir, in.DBPath, in.BackupsDir = dir, filepath.Join(dir, "quire.db"), filepath.Join(dir, "backups")
		out := map[string]Check{}
		for _, c := range Doctor(ctx, in) {
			out[c.Name] = c
		}
		return out
	}
	got := byName(DoctorInput{OllamaURL: "http://127.0.0.1:11434"})
	want := map[string]Status{"ollama": Warn, "ollama host " + live.URL + " (GPU)": OK, "ollama host " + dead: Warn, "chat model": OK}
	for name, st := range want {
		if c, ok := got[name]; !ok || c.Status != st {
			t.Errorf("%s: %+v, want %s", name, c, st)
		}
	}
	if c := got["ollama"]; !strings.Contains(c.Fix, "other hosts of the pool serve") {
		t.Errorf("dead primary: %+v", c)
	}

	// A configured pool is what is checked; the stored hosts are not used.
	got = byName(DoctorInput{OllamaURL: dead, OllamaURLSource: "config file", OllamaHosts: []config.OllamaHost{{URL: dead}}})
	if c := got["ollama"]; c.Status != Fail || !strings.Contains(c.Fix, "chat and embeddings need it") {
		t.Errorf("a pool of one dead host with a default model: %+v", c)
	}
	for name := range got {
		if strings.HasPrefix(name, "ollama host") {
			t.Errorf("the stored hosts were checked with a configured pool: %s", name)
		}
	}
}

package app

import (
	"os"
	"testing"

	"quire/app/config"
	"quire/app/llm/ollamatest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	ollamatest.StopShared()
	os.Exit(code)
}

// newOllamaServer is a test server wired to the shared real Ollama with the
// project's tiny models, the chat model set as the instance default.
func newOllamaServer(t *testing.T) (*testServer, *ollamatest.Server) {
	t.Helper()
	o := ollamatest.StartShared(t)
	ts := newTestServer(t, func(c *config.Config) { c.OllamaURL = o.URL })
	st := ts.srv.currentSettings()
	st.DefaultChatModel = o.ChatModel
	st.DefaultEmbeddingModel = o.EmbedModel
	if err := ts.srv.saveSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	return ts, o
}

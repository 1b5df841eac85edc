package app

import (
	"os"
	"testing"
	"time"

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
func newOllamaServer(t testing.TB) (*testServer, *ollamatest.Server) {
	t.Helper()
	o := ollamaForTest(t)
	ts := newTestServer(t, func(c *config.Config) { c.OllamaURL = o.URL })
	setModels(t, ts, o)
	return ts, o
}

func ollamaForTest(t testing.TB) *ollamatest.Server { return ollamatest.StartShared(t) }

// setModels makes the tiny models the instance defaults.
func setModels(t testing.TB, ts *testServer, o *ollamatest.Server) {
	st := ts.srv.currentSettings()
	st.OllamaURL = o.URL
	st.DefaultChatModel = o.ChatModel
	st.DefaultEmbeddingModel = o.EmbedModel
	if err := ts.srv.saveSettings(t.Context(), st); err != nil {
		t.Fatal(err)
	}
}

func sleepBriefly() { time.Sleep(20 * time.Millisecond) }

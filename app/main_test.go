package app

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"quire/app/config"
	"quire/app/ingest"
	"quire/app/llm/ollamatest"
)

func TestMain(m *testing.M) {
	ingest.RunWorkerIfRequested() // documents are parsed by this binary re-executed as a worker
	ollamatest.Main(m)
}

// newOllamaServer is a test server wired to the shared real Ollama with the
// project's tiny models, the chat model set as the instance default.
func newOllamaServer(t testing.TB) (*testServer, *ollamatest.Server) {
	t.Helper()
	o := ollamaForTest(t)
	ts := newTestServer(t, func(c *config.Config) { c.OllamaURL = o.URL })
	setModels(t, ts, o)
	startProcessing(t, ts)
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

// startProcessing runs the document pipeline for the test's lifetime.
func startProcessing(t testing.TB, ts *testServer) {
	ctx, cancel := context.WithCancel(context.Background())
	if err := ts.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		ts.srv.runner.Stop(stop)
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

package llm_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"quire/app/llm"
	"quire/app/llm/ollamatest"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func dot(a, b []float32) (s float64) {
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestEmbedAndShow(t *testing.T) {
	srv := ollamatest.StartShared(t)
	c, err := llm.New(srv.URL, llm.Options{EmbedBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	mi, err := c.Show(ctx(t), srv.EmbedModel)
	if err != nil {
		t.Fatal(err)
	}
	if mi.EmbeddingLength != srv.EmbedDim || mi.ContextLength != 512 || !mi.Can("embedding") || mi.Can("completion") {
		t.Errorf("show: %+v", mi)
	}
	inputs := []string{"brown fox jumps", "a brown fox", "tax invoice revenue", "invoice tax", "lonely"}
	vecs, tokens, err := c.Embed(ctx(t), srv.EmbedModel, inputs) // three calls of at most two
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != len(inputs) || tokens < len(inputs) {
		t.Fatalf("%d vectors, %d tokens", len(vecs), tokens)
	}
	// Order is kept across batches: related pairs are closer than unrelated ones.
	if dot(vecs[0], vecs[1]) < dot(vecs[0], vecs[2])+0.3 || dot(vecs[2], vecs[3]) < dot(vecs[3], vecs[1])+0.3 {
		t.Errorf("batched embeddings out of order")
	}
	if v, _, err := c.Embed(ctx(t), srv.EmbedModel, nil); err != nil || len(v) != 0 {
		t.Errorf("empty input: %v, %v", v, err)
	}
}

func TestErrors(t *testing.T) {
	srv := ollamatest.StartShared(t)
	c, _ := llm.New(srv.URL, llm.Options{})

	_, _, err := c.Embed(ctx(t), "no-such-model", []string{"x"})
	if !errors.Is(err, llm.ErrUnavailable) || !errors.Is(err, llm.ErrModelNotFound) || !strings.Contains(err.Error(), "ollama pull no-such-model") {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := c.Show(ctx(t), "no-such-model"); !errors.Is(err, llm.ErrModelNotFound) {
		t.Errorf("show unknown model: %v", err)
	}

	// Nothing listens: connection refused, reported at once.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	if err := c.SetBaseURL(dead); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, _, err = c.Embed(ctx(t), srv.EmbedModel, []string{"x"})
	if !errors.Is(err, llm.ErrUnavailable) || errors.Is(err, llm.ErrModelNotFound) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("server down: %v", err)
	}
	if time.Since(began) > 2*time.Second {
		t.Errorf("refused connection took %v", time.Since(began))
	}
	if err := c.Heartbeat(ctx(t)); !errors.Is(err, llm.ErrUnavailable) {
		t.Errorf("heartbeat of a dead server: %v", err)
	}

	// A server that never answers: the per-call timeout turns it into ErrUnavailable.
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hang.Close()
	defer close(release) // before Close, which waits for the handlers
	slow, _ := llm.New(hang.URL, llm.Options{EmbedTimeout: 200 * time.Millisecond})
	_, _, err = slow.Embed(ctx(t), "m", []string{"x"})
	if !errors.Is(err, llm.ErrUnavailable) || !strings.Contains(err.Error(), "in time") {
		t.Errorf("hanging server: %v", err)
	}
	// The caller's own cancellation is not the server's fault.
	cctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, _, err = slow.Embed(cctx, "m", []string{"x"}); errors.Is(err, llm.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v", err)
	}

	if err := c.SetBaseURL("ftp://x"); err == nil {
		t.Error("non-http URL accepted")
	}
}

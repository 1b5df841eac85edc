package llm_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"quire/app/fault"
	"quire/app/llm"
	"quire/app/llm/ollamatest"
	"quire/app/ops"
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

// ollamaCalls reads the Ollama call count of a kind and outcome from the metrics.
func ollamaCalls(t *testing.T, kind, outcome string) int {
	var buf strings.Builder
	if err := ops.Default.Write(&buf, "test"); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf(`quire_ollama_call_duration_seconds_count{kind=%q,outcome=%q} `, kind, outcome)
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			n, _ := strconv.Atoi(rest)
			return n
		}
	}
	return 0
}

func TestChatStreamIsObserved(t *testing.T) {
	srv := ollamatest.StartShared(t)
	c, _ := llm.New(srv.URL, llm.Options{})
	before, failedBefore := ollamaCalls(t, "chat", "ok"), ollamaCalls(t, "chat", "error")
	var deltas strings.Builder
	res, err := c.ChatStream(ctx(t), llm.ChatRequest{Model: srv.ChatModel, Messages: []llm.Message{{Role: "user", Content: "hi"}}},
		func(d string) { deltas.WriteString(d) })
	if err != nil || !res.Done || res.Content != srv.ChatSentence || deltas.String() != res.Content || res.InputTokens == 0 || res.OutputTokens == 0 {
		t.Fatalf("chat: %+v %v", res, err)
	}
	_, err = c.ChatStream(ctx(t), llm.ChatRequest{Model: srv.EmbedModel, Messages: []llm.Message{{Role: "user", Content: "hi"}}}, func(string) {})
	if f, ok := fault.As(err); !ok || f.Kind != fault.Invalid || f.Field != "model" {
		t.Errorf("an embedding model asked to chat: %v", err)
	}
	if got := ollamaCalls(t, "chat", "ok"); got != before+1 {
		t.Errorf("chat calls observed: %d, want %d", got, before+1)
	}
	if got := ollamaCalls(t, "chat", "error"); got != failedBefore+1 {
		t.Errorf("failed chat calls observed: %d, want %d", got, failedBefore+1)
	}
}

// Show answers from its cache until the URL changes or the model is pulled.
func TestShowIsCachedUntilTheURLChangesOrAPull(t *testing.T) {
	var shows int
	var mu sync.Mutex
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/show":
			mu.Lock()
			shows++
			mu.Unlock()
			fmt.Fprint(w, `{"capabilities":["completion"],"model_info":{"llama.context_length":2048}}`)
		case "/api/pull":
			fmt.Fprint(w, `{"status":"success"}`+"\n")
		}
	}))
	defer fake.Close()
	c, _ := llm.New(fake.URL, llm.Options{})
	count := func() int { mu.Lock(); defer mu.Unlock(); return shows }
	for range 3 {
		if mi, err := c.Show(ctx(t), "m"); err != nil || mi.ContextLength != 2048 || !mi.Can("completion") {
			t.Fatalf("show: %+v %v", mi, err)
		}
	}
	if count() != 1 {
		t.Fatalf("%d /api/show calls for three Shows", count())
	}
	if err := c.SetBaseURL(fake.URL + "/"); err != nil {
		t.Fatal(err)
	}
	c.Show(ctx(t), "m")
	if count() != 2 {
		t.Fatalf("a new URL did not forget the cache: %d calls", count())
	}
	if err := c.Pull(ctx(t), "m", func(llm.Progress) {}); err != nil {
		t.Fatal(err)
	}
	c.Show(ctx(t), "m")
	if count() != 3 {
		t.Fatalf("a pull did not forget the model: %d calls", count())
	}
}

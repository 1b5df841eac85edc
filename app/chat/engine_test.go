package chat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"quire/app/fault"
	"quire/app/llm"
	"quire/app/llm/ollamatest"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

func clientFor(t *testing.T, raw string) *llm.Client {
	c, err := llm.New(raw, llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func page(n int) *int { return &n }

func TestStreamFromRealOllama(t *testing.T) {
	srv := ollamatest.StartShared(t)
	var deltas []string
	r := Request{
		Model:    srv.ChatModel,
		Question: "How does Quire answer?",
		Sources: []Source{
			{ChunkID: "c1", DocumentName: "handbook.pdf", PageNumber: page(3), Content: "Quire answers from your documents."},
			{ChunkID: "c2", DocumentName: "faq.md", Content: "Unrelated."},
		},
		ContextLength: 4096,
	}
	res, err := Stream(context.Background(), clientFor(t, srv.URL), Build(r), func(d string) { deltas = append(deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Content != srv.ChatSentence || strings.Join(deltas, "") != res.Content || len(deltas) < 2 {
		t.Fatalf("reply %q from %d deltas, want %q streamed", res.Content, len(deltas), srv.ChatSentence)
	}
	if res.DoneReason != "stop" || res.InputTokens == 0 || res.OutputTokens == 0 {
		t.Fatalf("counts from Ollama missing: %+v", res)
	}
	if len(res.Sources) != 2 || !res.Sources[0].Cited || res.Sources[1].Cited {
		t.Fatalf("citations %+v: the tiny model cites [1] only", res.Sources)
	}
}

func TestUnknownModelAndDownServerAreUnavailable(t *testing.T) {
	srv := ollamatest.StartShared(t)
	_, err := Stream(context.Background(), clientFor(t, srv.URL), Build(Request{Model: "no-such-model", Question: "hi"}), func(string) {})
	if !errors.Is(err, llm.ErrUnavailable) || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("unknown model: %v", err)
	}
	if !fault.Is(err, fault.Unavailable) {
		t.Fatalf("unknown model is not a fault.Unavailable: %v", err)
	}
	down := clientFor(t, "http://127.0.0.1:1")
	if _, err := Stream(context.Background(), down, Build(Request{Model: "m", Question: "hi"}), func(string) {}); !errors.Is(err, llm.ErrUnavailable) {
		t.Fatalf("server down: %v", err)
	}
}

// Faults a real server cannot produce on demand: a stream cut before done, a 500, a stall.
func TestStreamFaults(t *testing.T) {
	chunk := func(w http.ResponseWriter, content string, done bool) {
		fmt.Fprintf(w, `{"model":"m","message":{"role":"assistant","content":%q},"done":%v}`+"\n", content, done)
		w.(http.Flusher).Flush()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		switch {
		case strings.Contains(string(body[:n]), "drop-me"):
			w.Header().Set("Content-Type", "application/x-ndjson")
			chunk(w, "Half an ans", false) // then the connection ends without done
		case strings.Contains(string(body[:n]), "fail-me"):
			w.WriteHeader(500)
			fmt.Fprint(w, `{"error":"runner crashed"}`)
		case strings.Contains(string(body[:n]), "slow-me"):
			chunk(w, "Thinking", false)
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
	}))
	defer srv.Close()
	c := clientFor(t, srv.URL)

	res, err := Stream(context.Background(), c, Build(Request{Model: "m", Question: "drop-me"}), func(string) {})
	if !errors.Is(err, llm.ErrIncomplete) || res.Content != "Half an ans" {
		t.Fatalf("dropped stream: %q %v", res.Content, err)
	}
	if _, err := Stream(context.Background(), c, Build(Request{Model: "m", Question: "fail-me"}), func(string) {}); !errors.Is(err, llm.ErrUnavailable) || !strings.Contains(err.Error(), "runner crashed") {
		t.Fatalf("500: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 4)
	go func() {
		res, err := Stream(ctx, c, Build(Request{Model: "m", Question: "slow-me"}), func(d string) { cancel() })
		if errors.Is(err, context.Canceled) {
			got <- res.Content
		} else {
			got <- "unexpected: " + fmt.Sprint(err)
		}
	}()
	select {
	case partial := <-got:
		if partial != "Thinking" {
			t.Fatalf("stopped stream kept %q", partial)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not stop a stalled stream")
	}
}

func TestMessagesFitTheContext(t *testing.T) {
	long := strings.Repeat("word ", 400) // ~500 tokens
	var sources []Source
	for i := range 10 {
		sources = append(sources, Source{ChunkID: fmt.Sprint(i), DocumentName: "d", Content: long})
	}
	var history []Turn
	for i := range 10 {
		history = append(history, Turn{Role: "user", Content: fmt.Sprintf("old question %d %s", i, long)})
	}
	max := 256
	msgs, kept := Messages(Request{Question: "now?", Sources: sources, History: history, ContextLength: 2048, MaxTokens: &max})
	total := 0
	for _, m := range msgs {
		total += estimateTokens(m.Content)
	}
	if total+max > 2048 {
		t.Fatalf("prompt of ~%d tokens + %d reply exceeds the 2048 context", total, max)
	}
	if len(kept) == 0 || len(kept) == len(sources) || kept[0].ChunkID != "0" || kept[len(kept)-1].N != len(kept) {
		t.Fatalf("kept sources %d (best first, renumbered)", len(kept))
	}
	if last := msgs[len(msgs)-1]; last.Role != "user" || last.Content != "now?" {
		t.Fatalf("the question must come last, got %+v", last)
	}
	if !strings.Contains(msgs[0].Content, "[1] d") {
		t.Fatal("sources are not numbered in the system prompt")
	}
}

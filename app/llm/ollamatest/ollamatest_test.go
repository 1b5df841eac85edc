package ollamatest_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/types/model"

	"quire/app/llm/ollamatest"
	"quire/app/llm/tinymodel"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestShow(t *testing.T) {
	s := ollamatest.StartShared(t)
	for _, tc := range []struct {
		model, arch string
		embd, ctx   float64
		capability  model.Capability
	}{
		{s.ChatModel, "llama", 16, tinymodel.DefaultChatContextLength, model.CapabilityCompletion},
		{s.EmbedModel, "bert", float64(s.EmbedDim), tinymodel.DefaultEmbedContextLength, model.CapabilityEmbedding},
	} {
		t.Run(tc.model, func(t *testing.T) {
			resp, err := s.Client.Show(ctx(t), &api.ShowRequest{Model: tc.model})
			if err != nil {
				t.Fatal(err)
			}
			// JSON numbers arrive as float64.
			if got := resp.ModelInfo[tc.arch+".embedding_length"]; got != tc.embd {
				t.Errorf("embedding_length = %v, want %v", got, tc.embd)
			}
			if got := resp.ModelInfo[tc.arch+".context_length"]; got != tc.ctx {
				t.Errorf("context_length = %v, want %v", got, tc.ctx)
			}
			if !slices.Contains(resp.Capabilities, tc.capability) {
				t.Errorf("capabilities = %v, want %s", resp.Capabilities, tc.capability)
			}
			// QuantizationLevel is "unknown": Ollama reads general.file_type 0
			// (all F32) as unset.
			if resp.Details.Family != tc.arch || resp.Details.Format != "gguf" {
				t.Errorf("details = %+v", resp.Details)
			}
		})
	}
}

func cosine(a, b []float32) float64 {
	var ab float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
	}
	return ab // inputs are L2-normalised
}

func TestEmbed(t *testing.T) {
	s := ollamatest.StartShared(t)
	inputs := []string{
		"the quick brown fox jumps",
		"a brown fox jumps high",
		"quarterly revenue tax invoice",
	}
	began := time.Now()
	resp, err := s.Client.Embed(ctx(t), &api.EmbedRequest{Model: s.EmbedModel, Input: inputs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embed batch of %d: %v (prompt_eval_count %d)", len(inputs), time.Since(began), resp.PromptEvalCount)
	if len(resp.Embeddings) != len(inputs) {
		t.Fatalf("%d embeddings for %d inputs", len(resp.Embeddings), len(inputs))
	}
	for i, e := range resp.Embeddings {
		if len(e) != s.EmbedDim {
			t.Errorf("embedding %d has %d dims, want %d", i, len(e), s.EmbedDim)
		}
		var ss float64
		for _, x := range e {
			ss += float64(x) * float64(x)
		}
		if math.Abs(math.Sqrt(ss)-1) > 1e-3 {
			t.Errorf("embedding %d has norm %v, want 1", i, math.Sqrt(ss))
		}
	}
	related, unrelated := cosine(resp.Embeddings[0], resp.Embeddings[1]), cosine(resp.Embeddings[0], resp.Embeddings[2])
	t.Logf("cosine: related %.3f, unrelated %.3f", related, unrelated)
	if related < 0.5 || unrelated > 0.2 || related-unrelated < 0.4 {
		t.Errorf("cosine: related %.3f, unrelated %.3f; want a clear margin", related, unrelated)
	}

	// Single input, and latency once warm.
	began = time.Now()
	const n = 5
	for range n {
		one, err := s.Client.Embed(ctx(t), &api.EmbedRequest{Model: s.EmbedModel, Input: inputs[0]})
		if err != nil {
			t.Fatal(err)
		}
		if cosine(one.Embeddings[0], resp.Embeddings[0]) < 0.9999 {
			t.Error("same text, different embedding")
		}
	}
	t.Logf("embed latency (single input, warm): %v", time.Since(began)/n)
}

func TestChatStream(t *testing.T) {
	s := ollamatest.StartShared(t)
	for _, opts := range []map[string]any{
		nil,
		{"temperature": 0},
		{"temperature": 1.5, "seed": 42},
		{"temperature": 2, "top_k": 1000, "top_p": 1, "seed": 7},
	} {
		began := time.Now()
		var chunks []string
		var final api.ChatResponse
		err := s.Client.Chat(ctx(t), &api.ChatRequest{
			Model:    s.ChatModel,
			Messages: []api.Message{{Role: "system", Content: "Answer from context."}, {Role: "user", Content: "What does Quire do?"}},
			Options:  opts,
		}, func(r api.ChatResponse) error {
			if r.Done {
				final = r
			}
			if r.Message.Content != "" {
				chunks = append(chunks, r.Message.Content)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(began)
		if got := strings.Join(chunks, ""); got != s.ChatSentence {
			t.Errorf("options %v: answer %q, want %q", opts, got, s.ChatSentence)
		}
		if len(chunks) < 3 {
			t.Errorf("options %v: %d chunks, want a real stream", opts, len(chunks))
		}
		if !final.Done || final.DoneReason != "stop" || final.PromptEvalCount <= 0 || final.EvalCount <= 0 {
			t.Errorf("options %v: final chunk %+v", opts, final)
		}
		t.Logf("options %v: %d chunks in %v (prompt_eval_count %d, eval_count %d)",
			opts, len(chunks), elapsed, final.PromptEvalCount, final.EvalCount)
	}
	if !strings.Contains(s.ChatSentence, "[1]") {
		t.Errorf("sentence %q has no citation marker", s.ChatSentence)
	}
}

// TestErrors pins the error behaviour Quire's client depends on.
func TestErrors(t *testing.T) {
	s := ollamatest.StartShared(t)
	var se api.StatusError

	_, err := s.Client.Embed(ctx(t), &api.EmbedRequest{Model: "no-such-model", Input: "x"})
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		t.Errorf("embed with unknown model: %v, want 404", err)
	}
	err = s.Client.Chat(ctx(t), &api.ChatRequest{Model: "no-such-model", Messages: []api.Message{{Role: "user", Content: "hi"}}},
		func(api.ChatResponse) error { return nil })
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		t.Errorf("chat with unknown model: %v, want 404", err)
	}
	err = s.Client.Chat(ctx(t), &api.ChatRequest{Model: s.EmbedModel, Messages: []api.Message{{Role: "user", Content: "hi"}}},
		func(api.ChatResponse) error { return nil })
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
		t.Errorf("chat with the embedding model: %v, want 400", err)
	}
	// num_predict below the answer's length stops with "length".
	var final api.ChatResponse
	err = s.Client.Chat(ctx(t), &api.ChatRequest{Model: s.ChatModel, Messages: []api.Message{{Role: "user", Content: "hi"}},
		Options: map[string]any{"num_predict": 2}},
		func(r api.ChatResponse) error { final = r; return nil })
	if err != nil || final.DoneReason != "length" || final.EvalCount != 2 {
		t.Errorf("num_predict 2: err %v, final %+v", err, final)
	}
}

// TestStartStop times a private server and checks Stop leaves nothing
// running.
func TestStartStop(t *testing.T) {
	began := time.Now()
	s := ollamatest.Start(t)
	t.Logf("Start (serve, create 2 models, load both): %v", time.Since(began))

	ps, err := s.Client.ListRunning(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.Models) != 2 {
		t.Errorf("%d models loaded after Start, want both", len(ps.Models))
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	err = s.Client.Heartbeat(ctx(t))
	var ue *url.Error
	if !errors.As(err, &ue) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("heartbeat after Stop: %v, want connection refused", err)
	}
}

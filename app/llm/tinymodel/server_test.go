package tinymodel_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"quire/app/llm/ollamatest"
	"quire/app/llm/tinymodel"
)

// These tests load the generated models into a real Ollama server; they are
// skipped when the binary is not built (see scripts/build-ollama.sh).

func TestMain(m *testing.M) { ollamatest.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// TestServedEmbeddingsMatchReference checks that Ollama computes exactly
// what the model was designed to compute (tokenizer, norms, pooling).
func TestServedEmbeddingsMatchReference(t *testing.T) {
	s := ollamatest.StartShared(t)
	opts := tinymodel.EmbedOptions{Dim: 128, Seed: 7}
	began := time.Now()
	if err := s.CreateEmbedModel(ctx(t), "tiny-embed-128", opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("created 128-dim model in %v", time.Since(began))

	texts := []string{
		"The quick brown fox jumps over the lazy dog.",
		"Quarterly revenue grew 12% (see invoice #2024-17).",
		"Ünïcode words fall back to [UNK]",
		"a",
	}
	for _, tc := range []struct {
		model string
		opts  tinymodel.EmbedOptions
	}{{"tiny-embed-128", opts}, {s.EmbedModel, tinymodel.EmbedOptions{}}} {
		resp, err := s.Client.Embed(ctx(t), &api.EmbedRequest{Model: tc.model, Input: texts})
		if err != nil {
			t.Fatal(err)
		}
		for i, text := range texts {
			want, err := tinymodel.ReferenceEmbed(text, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := resp.Embeddings[i]
			if len(got) != len(want) {
				t.Fatalf("%s: %d dims, want %d", tc.model, len(got), len(want))
			}
			var maxDiff float64
			for j := range got {
				maxDiff = math.Max(maxDiff, math.Abs(float64(got[j]-want[j])))
			}
			if maxDiff > 1e-4 {
				t.Errorf("%s: %q differs from the reference by up to %g", tc.model, text, maxDiff)
			}
		}
	}
}

func TestServedCustomChat(t *testing.T) {
	s := ollamatest.StartShared(t)
	const sentence = "See the handbook [2] and the policy [3]."
	err := s.CreateChatModel(ctx(t), "tiny-chat-custom", tinymodel.ChatOptions{Sentence: sentence, ContextLength: 256})
	if err == nil {
		t.Fatal("want an error: the word \"the\" repeats")
	}
	const unique = "See the handbook [2] and policy [3]."
	if err := s.CreateChatModel(ctx(t), "tiny-chat-custom", tinymodel.ChatOptions{Sentence: unique, ContextLength: 256}); err != nil {
		t.Fatal(err)
	}
	show, err := s.Client.Show(ctx(t), &api.ShowRequest{Model: "tiny-chat-custom"})
	if err != nil {
		t.Fatal(err)
	}
	if got := show.ModelInfo["llama.context_length"]; got != float64(256) {
		t.Errorf("context_length = %v, want 256", got)
	}

	// Generate uses the same template; a long prompt is truncated to num_ctx
	// (the server only logs it) and the answer is unchanged.
	var answer strings.Builder
	var final api.GenerateResponse
	err = s.Client.Generate(ctx(t), &api.GenerateRequest{
		Model:  "tiny-chat-custom",
		Prompt: strings.Repeat("many words in a long prompt ", 100),
	}, func(r api.GenerateResponse) error {
		answer.WriteString(r.Response)
		if r.Done {
			final = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if answer.String() != unique || final.DoneReason != "stop" {
		t.Errorf("answer %q (%s), want %q", answer.String(), final.DoneReason, unique)
	}
	if final.PromptEvalCount > 256 {
		t.Errorf("prompt_eval_count %d exceeds num_ctx 256", final.PromptEvalCount)
	}
}

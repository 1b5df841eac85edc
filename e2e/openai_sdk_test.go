package e2e

import (
	"encoding/base64"
	bin "encoding/binary"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The official Go SDK against the real binary and a real Ollama: the calls a
// client library makes first (models, streamed chat with usage, embeddings in
// both encodings, a typo'd model) behave as the SDK expects. The app package
// tests every /v1 call in depth; this proves the shipped binary serves them.
func TestOpenAISDKAgainstTheBinary(t *testing.T) {
	in, o, admin := startWithOllama(t)
	var ws struct{ ID string }
	if code := in.api("POST", "/api/workspaces", admin, map[string]string{"name": "SDK"}, &ws); code != 201 {
		t.Fatalf("workspace %d", code)
	}
	var key struct{ Token string }
	if code := in.api("POST", "/api/me/tokens", admin, map[string]string{"name": "sdk", "workspace_id": ws.ID}, &key); code != 201 {
		t.Fatalf("key %d", code)
	}
	client := openai.NewClient(option.WithBaseURL(in.URL+"/v1/"), option.WithAPIKey(key.Token), option.WithMaxRetries(0))
	ctx := t.Context()

	models, err := client.Models.List(ctx)
	if err != nil || len(models.Data) == 0 {
		t.Fatalf("models: %v %+v", err, models)
	}

	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         o.ChatModel,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What does Quire do?")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var text strings.Builder
	var usage openai.CompletionUsage
	for stream.Next() {
		ch := stream.Current()
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
		if ch.Usage.TotalTokens > 0 {
			usage = ch.Usage
		}
	}
	if err := stream.Err(); err != nil || text.Len() == 0 || usage.CompletionTokens == 0 {
		t.Fatalf("streamed chat: %v, text %q, usage %+v", err, text.String(), usage)
	}

	emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: openai.EmbeddingModel(o.EmbedModel),
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}})
	if err != nil || len(emb.Data) != 1 || len(emb.Data[0].Embedding) == 0 {
		t.Fatalf("float embeddings: %v", err)
	}
	floats := emb.Data[0].Embedding
	// What the Node SDK asks for by default: base64 of little-endian float32.
	var b64 struct {
		Data []struct{ Embedding string } `json:"data"`
	}
	if code := in.api("POST", "/v1/embeddings", key.Token, map[string]any{"model": o.EmbedModel, "input": "hello", "encoding_format": "base64"}, &b64); code != 200 || len(b64.Data) != 1 {
		t.Fatalf("base64 embeddings: %d", code)
	}
	raw, err := base64.StdEncoding.DecodeString(b64.Data[0].Embedding)
	if err != nil || len(raw) != 4*len(floats) {
		t.Fatalf("base64 vector: %v, %d bytes for %d floats", err, len(raw), len(floats))
	}
	for i, f := range floats {
		if got := math.Float32frombits(bin.LittleEndian.Uint32(raw[4*i:])); math.Abs(float64(got)-f) > 1e-5 {
			t.Fatalf("base64 value %d = %v, float %v", i, got, f)
		}
	}

	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "llama-typo",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model: %v", err)
	}
}

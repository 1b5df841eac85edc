package ollamatest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/ollama/ollama/api"

	"quire/app/llm/tinymodel"
)

// blob is a generated GGUF file and its digest.
type blob struct {
	data   []byte
	digest string // "sha256:<hex>"
}

// blobs caches generated GGUF files for the life of the process, so every
// server in a test binary reuses them (generation is deterministic; the
// 384-dim embedding model takes ~35 ms to write).
var blobs sync.Map // options as text → func() (blob, error)

func cachedBlob(opts any, write func(*bytes.Buffer) error) (blob, error) {
	key := fmt.Sprintf("%T%+v", opts, opts)
	f, _ := blobs.LoadOrStore(key, sync.OnceValues(func() (blob, error) {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return blob{}, err
		}
		sum := sha256.Sum256(buf.Bytes())
		return blob{buf.Bytes(), "sha256:" + hex.EncodeToString(sum[:])}, nil
	}))
	return f.(func() (blob, error))()
}

// CreateChatModel registers a tiny chat model generated from opts under name,
// with tinymodel.ChatTemplate, its stop sequences and num_thread 1.
func (s *Server) CreateChatModel(ctx context.Context, name string, opts tinymodel.ChatOptions) error {
	b, err := cachedBlob(opts, func(buf *bytes.Buffer) error { return tinymodel.WriteChat(buf, opts) })
	if err != nil {
		return err
	}
	return s.createModel(ctx, name, b, tinymodel.ChatTemplate, map[string]any{
		"stop": tinymodel.ChatStops,
		// One thread: with two on a busy 2-core machine, generation dropped
		// from thousands of tokens/s to 10–90.
		"num_thread": 1,
	})
}

// ToolModel is the name CreateToolModel gives by default.
const ToolModel = "quire-tiny-tools"

// CreateToolModel registers a tiny chat model that can call tools (see
// tinymodel.ToolTemplate): offered a tool named get_weather, it always calls
// it with {"city": "Paris"}; without tools it answers that JSON as text.
func (s *Server) CreateToolModel(ctx context.Context, name string) error {
	opts := tinymodel.ChatOptions{Sentence: tinymodel.ToolCallSentence}
	b, err := cachedBlob(opts, func(buf *bytes.Buffer) error { return tinymodel.WriteChat(buf, opts) })
	if err != nil {
		return err
	}
	return s.createModel(ctx, name, b, tinymodel.ToolTemplate, map[string]any{"stop": tinymodel.ChatStops, "num_thread": 1})
}

// AgentModel is the name tests give CreateAgentModel's model by default.
const AgentModel = "quire-tiny-agent"

// CreateAgentModel registers the tiny agent model (see tinymodel.WriteAgent):
// offered tools, it calls opts.Call; after a tool result it answers
// opts.Answer.
func (s *Server) CreateAgentModel(ctx context.Context, name string, opts tinymodel.AgentOptions) error {
	return s.createAgent(ctx, name, opts, tinymodel.AgentTemplate)
}

// CreateEndlessAgentModel registers the agent model with a template that
// never ends in the answer marker: it calls opts.Call after every tool
// result too, for testing a loop's step and time limits.
func (s *Server) CreateEndlessAgentModel(ctx context.Context, name string, opts tinymodel.AgentOptions) error {
	return s.createAgent(ctx, name, opts, tinymodel.ToolTemplate)
}

func (s *Server) createAgent(ctx context.Context, name string, opts tinymodel.AgentOptions, template string) error {
	b, err := cachedBlob(opts, func(buf *bytes.Buffer) error { return tinymodel.WriteAgent(buf, opts) })
	if err != nil {
		return err
	}
	return s.createModel(ctx, name, b, template, map[string]any{"stop": tinymodel.ChatStops, "num_thread": 1})
}

// CreateEmbedModel registers a tiny embedding model generated from opts under
// name, with num_thread 1 and num_ctx equal to its context length.
func (s *Server) CreateEmbedModel(ctx context.Context, name string, opts tinymodel.EmbedOptions) error {
	b, err := cachedBlob(opts, func(buf *bytes.Buffer) error { return tinymodel.WriteEmbed(buf, opts) })
	if err != nil {
		return err
	}
	numCtx := cmp.Or(opts.ContextLength, tinymodel.DefaultEmbedContextLength)
	return s.createModel(ctx, name, b, "", map[string]any{
		"num_thread": 1,
		// Ollama's default num_ctx (4096) exceeds the model's and only
		// produces a warning; state the real limit.
		"num_ctx": numCtx,
	})
}

// createModel uploads the GGUF blob and creates the model from it, like
// `ollama create` with a Modelfile "FROM ./model.gguf".
func (s *Server) createModel(ctx context.Context, name string, b blob, template string, params map[string]any) error {
	if err := s.Client.CreateBlob(ctx, b.digest, bytes.NewReader(b.data)); err != nil {
		return fmt.Errorf("upload %s blob: %w", name, err)
	}
	req := &api.CreateRequest{
		Model:      name,
		Files:      map[string]string{"model.gguf": b.digest},
		Template:   template,
		Parameters: params,
	}
	if err := s.Client.Create(ctx, req, func(api.ProgressResponse) error { return nil }); err != nil {
		return fmt.Errorf("create model %s: %w", name, err)
	}
	return nil
}

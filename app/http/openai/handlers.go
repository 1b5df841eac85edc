// Package openai is the OpenAI-compatible API under /v1 (models, chat
// completions, responses, completions, embeddings) for workspace-bound API
// keys. It answers through the same use cases as the chats (package answer),
// so quota, metrics and accounting are the same; errors take OpenAI's shape.
package openai

import "quire/app/http/deps"

// Handlers are the /v1 handlers.
type Handlers struct {
	*deps.Deps
}

package answer

import (
	"context"
	"errors"
	"slices"
	"strings"

	"quire/app/fault"
	"quire/app/llm"
)

// ChatModels lists the installed models that can chat, by name: what a chat
// may be given. A model Ollama cannot describe is left out; embedding models
// are.
func (s *Service) ChatModels(ctx context.Context) ([]string, error) {
	models, err := s.llm.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range models {
		info, err := s.llm.Show(ctx, m.Name) // cached
		if err != nil || !canChat(info) {
			continue
		}
		out = append(out, m.Name)
	}
	slices.Sort(out)
	return out, nil
}

// canChat: Ollama before 0.6 listed no capabilities; those models are
// offered, as the model check lets them through.
func canChat(info *llm.ModelInfo) bool {
	return len(info.Capabilities) == 0 || info.Can("completion")
}

// CheckChatModel refuses, as an invalid "model" field, a model to give a chat
// that the model server does not have or that cannot chat. While the model
// server is unreachable the name cannot be checked and is accepted: asking
// then says the server is down, which is the truth.
func (s *Service) CheckChatModel(ctx context.Context, model string) error {
	info, err := s.llm.Show(ctx, model)
	switch {
	case errors.Is(err, llm.ErrModelNotFound):
		return fault.Field("model", "the model %q is not installed on the model server; pick one of the installed chat models", model)
	case errors.Is(err, llm.ErrUnavailable):
		return nil
	case err != nil:
		return err
	case !canChat(info):
		return fault.Field("model", "the model %q cannot chat (it is an embedding model); pick a chat model", model)
	}
	return nil
}

// SameModel reports whether two names are one model ("x" is "x:latest").
func SameModel(a, b string) bool {
	norm := func(s string) string {
		if !strings.Contains(s, ":") {
			return s + ":latest"
		}
		return s
	}
	return a != "" && b != "" && norm(a) == norm(b)
}

package tinymodel_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"quire/app/llm/ollamatest"
	"quire/app/llm/tinymodel"
)

// agentChat sends msgs to model offering search_knowledge and returns the reply.
func agentChat(t *testing.T, s *ollamatest.Server, model string, msgs []api.Message) api.Message {
	t.Helper()
	var tools api.Tools
	if err := json.Unmarshal([]byte(`[{"type":"function","function":{"name":"search_knowledge","description":"Search","parameters":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}}}]`), &tools); err != nil {
		t.Fatal(err)
	}
	stream := false
	var out api.Message
	var content strings.Builder
	err := s.Client.Chat(ctx(t), &api.ChatRequest{Model: model, Messages: msgs, Tools: tools, Stream: &stream}, func(r api.ChatResponse) error {
		content.WriteString(r.Message.Content)
		out.ToolCalls = append(out.ToolCalls, r.Message.ToolCalls...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out.Content = content.String()
	return out
}

// TestServedAgent checks the agent model through Ollama's own tool parser:
// a question gets a search_knowledge call, its result the cited answer; the
// endless variant calls again after the result.
func TestServedAgent(t *testing.T) {
	s := ollamatest.StartShared(t)
	if err := s.CreateAgentModel(ctx(t), "tiny-agent", tinymodel.AgentOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEndlessAgentModel(ctx(t), "tiny-agent-endless", tinymodel.AgentOptions{}); err != nil {
		t.Fatal(err)
	}
	show, err := s.Client.Show(ctx(t), &api.ShowRequest{Model: "tiny-agent"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(toStrings(show.Capabilities), ","), "tools") {
		t.Errorf("capabilities %v lack tools", show.Capabilities)
	}
	question := []api.Message{{Role: "user", Content: "How many vacation days carry over?"}}
	first := agentChat(t, s, "tiny-agent", question)
	if len(first.ToolCalls) != 1 || first.ToolCalls[0].Function.Name != "search_knowledge" || first.Content != "" {
		t.Fatalf("first reply %+v, want one search_knowledge call", first)
	}
	if q, _ := first.ToolCalls[0].Function.Arguments.Get("query"); q != "vacation carry-over" {
		t.Errorf("query %v", q)
	}
	after := append(question, api.Message{Role: "assistant", ToolCalls: first.ToolCalls},
		api.Message{Role: "tool", ToolName: "search_knowledge", Content: "[1] Handbook: five days carry over."})
	second := agentChat(t, s, "tiny-agent", after)
	if second.Content != tinymodel.DefaultAgentAnswer || len(second.ToolCalls) != 0 {
		t.Errorf("after the result %+v, want %q", second, tinymodel.DefaultAgentAnswer)
	}
	again := agentChat(t, s, "tiny-agent-endless", after)
	if len(again.ToolCalls) != 1 || again.ToolCalls[0].Function.Name != "search_knowledge" {
		t.Errorf("endless model after the result %+v, want another call", again)
	}
}

func toStrings[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

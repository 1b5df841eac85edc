package tinymodel

import (
	"io"
)

// DefaultAgentCall is the agent model's first reply: a search_knowledge tool
// call in the JSON AgentTemplate renders, which Ollama's tool parser turns
// into tool_calls when the request offers a tool of that name.
const DefaultAgentCall = `{"name": "search_knowledge", "arguments": {"query": "vacation carry-over"}}`

// DefaultAgentAnswer is what the agent model answers once a tool result is
// the last message: a fixed sentence citing the first passage.
const DefaultAgentAnswer = "Unused vacation days carry over until March [1]."

// agentAnswerMarker ends AgentTemplate's prompt after a tool message. The
// model's next token depends only on the last prompt token, so this control
// token's state is what starts the answer instead of another call.
const agentAnswerMarker = "<|answer|>"

// AgentTemplate is ToolTemplate that ends with agentAnswerMarker when the
// last message is a tool result: offered tools, the model calls one, and
// given the result it answers.
const AgentTemplate = `{{- if .Tools }}<|im_start|>system
Tools: {{ range .Tools }}{{ .Function.Name }} {{ end }}<|im_end|>
{{ end }}{{- $last := "" }}{{- range .Messages }}<|im_start|>{{ .Role }}
{{ if .ToolCalls }}{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}{{ end }}{{ else }}{{ .Content }}{{ end }}<|im_end|>
{{ $last = .Role }}{{ end }}<|im_start|>assistant
{{ if eq $last "tool" }}` + agentAnswerMarker + `{{ end }}`

// AgentOptions configures WriteAgent. The zero value is ready to use.
type AgentOptions struct {
	// Call is the first reply (default DefaultAgentCall); Answer the reply
	// after a tool result (default DefaultAgentAnswer). Their words must be
	// distinct, within and across the two.
	Call, Answer string
	// ContextLength is llama.context_length (default DefaultChatContextLength).
	ContextLength int
}

// WriteAgent writes the tool-calling agent model as GGUF to w: WriteChat's
// design with two chains, Call after an ordinary token (AgentTemplate ends
// with a newline) and Answer after agentAnswerMarker. Served with
// ToolTemplate instead, which has no marker, it calls the tool forever.
func WriteAgent(w io.Writer, opts AgentOptions) error {
	if opts.Call == "" {
		opts.Call = DefaultAgentCall
	}
	if opts.Answer == "" {
		opts.Answer = DefaultAgentAnswer
	}
	return writeChains(w, "quire-tiny-agent", opts.ContextLength, []string{opts.Call, opts.Answer}, []string{agentAnswerMarker})
}

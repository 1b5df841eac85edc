package ui

import (
	"encoding/json"

	"quire/app/answer"
)

// stepView is one tool call of an agent reply as the transcript shows it:
// its summary, and unfolded the call and what the tool returned (not on a
// public page, whose steps carry no results).
type stepView struct {
	Summary, Call, Result string
	Error                 bool
}

// stepViews pairs each tool result of an agent reply with the call it answers.
func stepViews(raw json.RawMessage) []stepView {
	var steps []answer.Step
	if json.Unmarshal(raw, &steps) != nil {
		return nil
	}
	calls := map[string]string{}
	var out []stepView
	for _, s := range steps {
		for _, c := range s.ToolCalls {
			calls[c.ID] = c.Name + " " + string(c.Arguments)
		}
		if s.Role == "tool" {
			out = append(out, stepView{Summary: s.Summary, Call: calls[s.ToolCallID], Result: s.Content, Error: s.Error})
		}
	}
	return out
}

// agentModeOption is a chat's agent mode as its settings select names it.
func agentModeOption(mode *bool) string {
	switch {
	case mode == nil:
		return "auto"
	case *mode:
		return "on"
	}
	return "off"
}

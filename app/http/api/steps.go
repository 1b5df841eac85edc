package api

import (
	"bytes"
	"encoding/json"

	"quire/app/answer"
	"quire/app/http/request"
)

// agentMode reads a chat's agent_mode: null follows the model, else true or false.
func agentMode(raw json.RawMessage) (*bool, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var on bool
	if err := json.Unmarshal(raw, &on); err != nil {
		return nil, request.Invalid("agent_mode", "agent_mode must be true, false or null (on when the model can call tools)")
	}
	return &on, nil
}

// stepsWithoutResults is what a public page shows of an agent reply's steps:
// each call and its summary, not the passages a tool returned (the page
// shows only what the reply cites, as with its citations).
func stepsWithoutResults(raw json.RawMessage) json.RawMessage {
	var steps []answer.Step
	if json.Unmarshal(raw, &steps) != nil {
		return json.RawMessage("[]")
	}
	for i := range steps {
		steps[i].Content = ""
	}
	out, _ := json.Marshal(steps)
	return out
}

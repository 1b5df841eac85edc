package answer

import (
	"regexp"

	"quire/app/fault"
)

// modelName is what Ollama accepts as a model reference
// (registry/namespace/name:tag, or name@digest); anything else never names a model.
var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$`)

// maxReplyTokens caps max_tokens whatever the model: no local model writes
// more in one reply, and the quota reserves this much per call.
const maxReplyTokens = 32768

// CheckModelName checks a model name where a caller gives one.
func CheckModelName(field, name string) error {
	if len(name) > 200 {
		return fault.Field(field, "%s must be at most 200 characters", field)
	}
	if !modelName.MatchString(name) {
		return fault.Field(field, "%s must be an Ollama model name such as llama3.2:3b (letters, digits and . _ - : / @ +)", field)
	}
	return nil
}

// CheckSampling validates sampling settings on every entry point that takes
// them. contextLength, when known, caps max_tokens further.
func CheckSampling(temperature, topP *float64, maxTokens *int, contextLength int) error {
	if v := temperature; v != nil && (*v < 0 || *v > 2) {
		return fault.Field("temperature", "temperature must be from 0 to 2")
	}
	if v := topP; v != nil && (*v <= 0 || *v > 1) {
		return fault.Field("top_p", "top_p must be above 0 and at most 1")
	}
	limit := maxReplyTokens
	if contextLength > 0 {
		limit = min(limit, contextLength)
	}
	if v := maxTokens; v != nil && (*v < 1 || *v > limit) {
		return fault.Field("max_tokens", "max_tokens must be from 1 to %d", limit)
	}
	return nil
}

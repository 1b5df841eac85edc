package openai

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"quire/app/answer"
	"quire/app/chat"
	"quire/app/fault"
	"quire/app/http/request"
	"quire/app/llm"
	"quire/store"
)

// The OpenAI-compatible surface: any OpenAI client can use Quire with a personal
// API key bound to a workspace. Usage is accounted to that workspace like any chat.
// What cannot be honoured is refused with a 400 naming the field, never ignored
// (README, "OpenAI-compatible API").

// keyWorkspace resolves the workspace of the calling API key (the OpenAIKey access
// level guarantees a workspace-bound key of a current member).
func (s *Handlers) keyWorkspace(c *fiber.Ctx) *store.Workspace { return request.Workspace(c) }

// systemFingerprint names the backend configuration, as OpenAI's field does.
func (s *Handlers) systemFingerprint() string { return "fp_quire_" + s.Version }

// ---- models

// oaModel is a model as /v1/models shows it; type tells chat from embedding models.
func oaModel(name string, created int64, info *llm.ModelInfo) fiber.Map {
	m := fiber.Map{"id": name, "object": "model", "created": created, "owned_by": "ollama"}
	if info != nil {
		typ := "chat"
		if info.Can("embedding") && !info.Can("completion") {
			typ = "embedding"
		}
		m["type"], m["capabilities"] = typ, info.Capabilities
		if info.ContextLength > 0 {
			m["context_length"] = info.ContextLength
		}
		if info.EmbeddingLength > 0 && typ == "embedding" {
			m["dimensions"] = info.EmbeddingLength
		}
	}
	return m
}

func (s *Handlers) OpenAIModels(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	models, err := s.LLM.List(ctx)
	if err != nil {
		return err
	}
	data := make([]fiber.Map, 0, len(models))
	for _, m := range models {
		info, _ := s.LLM.Show(ctx, m.Name) // cached; a model Show cannot describe is listed without a type
		data = append(data, oaModel(m.Name, m.ModifiedAt.Unix(), info))
	}
	return c.JSON(fiber.Map{"object": "list", "data": data})
}

func (s *Handlers) OpenAIModel(c *fiber.Ctx) error {
	name := c.Params("model")
	if err := answer.CheckModelName("model", name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	models, err := s.LLM.List(ctx)
	if err != nil {
		return err
	}
	for _, m := range models {
		if m.Name == name || strings.TrimSuffix(m.Name, ":latest") == name {
			info, _ := s.LLM.Show(ctx, m.Name)
			return c.JSON(oaModel(m.Name, m.ModifiedAt.Unix(), info))
		}
	}
	return modelNotFound(name)
}

func modelNotFound(name string) error {
	return &fault.Error{Kind: fault.NotFound, Code: "model_not_found", Field: "model",
		Message: fmt.Sprintf("the model %q does not exist on this server; GET /v1/models lists the installed ones", name)}
}

// ---- request fields

// oaContent is a message content: a string, null, or a list of parts.
type oaContent struct {
	Text   string
	Images [][]byte
}

func (o *oaContent) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		o.Text = s
		return nil
	}
	var parts []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		ImageURL *struct {
			URL string `json:"url"`
		} `json:"image_url"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return errors.New("content must be a string or a list of parts")
	}
	var texts []string
	for _, p := range parts {
		switch p.Type {
		case "text", "input_text", "output_text":
			texts = append(texts, p.Text)
		case "image_url":
			if p.ImageURL == nil {
				return errors.New("an image_url part needs image_url.url")
			}
			img, err := dataURLImage(p.ImageURL.URL)
			if err != nil {
				return err
			}
			o.Images = append(o.Images, img)
		default:
			return fmt.Errorf("content parts of type %q are not supported (text and image_url are)", p.Type)
		}
	}
	o.Text = strings.Join(texts, "\n")
	return nil
}

// dataURLImage decodes a data: URL; Quire does not fetch image URLs (it may run offline).
func dataURLImage(u string) ([]byte, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	meta, data, found := strings.Cut(rest, ",")
	if !ok || !found || !strings.HasSuffix(meta, ";base64") || !strings.HasPrefix(meta, "image/") {
		return nil, errors.New("images must be sent as data:image/...;base64,... URLs; Quire does not fetch image URLs")
	}
	img, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, errors.New("the image's base64 data is malformed")
	}
	return img, nil
}

type oaToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type oaMessage struct {
	Role       string       `json:"role"`
	Content    oaContent    `json:"content"`
	Name       string       `json:"name"`
	ToolCalls  []oaToolCall `json:"tool_calls"`
	ToolCallID string       `json:"tool_call_id"`
	Refusal    *string      `json:"refusal"`
}

type oaChatRequest struct {
	Model         string      `json:"model"`
	Messages      []oaMessage `json:"messages"`
	Stream        bool        `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	Seed                *int64          `json:"seed"`
	N                   *int            `json:"n"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	Logprobs         *bool    `json:"logprobs"`
	TopLogprobs      *int     `json:"top_logprobs"`
	PresencePenalty  *float64 `json:"presence_penalty"`
	FrequencyPenalty *float64 `json:"frequency_penalty"`
	KnowledgeBaseIDs []string `json:"knowledge_base_ids"` // Quire extension: answer from these KBs
}

// oaIgnored are fields that change nothing about the answer (OpenAI's own
// bookkeeping); every other field Quire does not know is refused.
var oaIgnored = map[string]bool{"user": true, "store": true, "metadata": true, "service_tier": true}

// checkFields refuses fields that are not known or cannot be honoured.
func checkFields(c *fiber.Ctx, known map[string]bool) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(c.Body(), &raw); err != nil {
		return nil // decodeJSONLenient explains it
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(string(raw[k]))
		if known[k] || oaIgnored[k] || v == "null" {
			continue
		}
		switch {
		case k == "logit_bias" && v == "{}", k == "modalities" && v == `["text"]`:
			continue
		}
		return request.Invalid(k, "the field %q is not supported by this server; remove it (README lists what /v1 supports)", k)
	}
	return nil
}

var chatFields = map[string]bool{"model": true, "messages": true, "stream": true, "stream_options": true, "temperature": true, "top_p": true,
	"max_tokens": true, "max_completion_tokens": true, "stop": true, "seed": true, "n": true, "tools": true, "tool_choice": true,
	"parallel_tool_calls": true, "response_format": true, "logprobs": true, "top_logprobs": true, "presence_penalty": true,
	"frequency_penalty": true, "knowledge_base_ids": true}

// completionOptions checks what a chat completion asks for and fills req with it.
func completionOptions(in *oaChatRequest, req *chat.Request) error {
	if in.N != nil && *in.N != 1 {
		return request.Invalid("n", "n must be 1: this server writes one choice per request")
	}
	if in.MaxCompletionTokens != nil {
		in.MaxTokens = in.MaxCompletionTokens
	}
	if err := answer.CheckSampling(in.Temperature, in.TopP, in.MaxTokens, 0); err != nil {
		if ae, ok := err.(*request.APIError); ok && ae.Field == "max_tokens" && in.MaxCompletionTokens != nil {
			ae.Field = "max_completion_tokens"
		}
		return err
	}
	req.Temperature, req.TopP, req.MaxTokens = in.Temperature, in.TopP, in.MaxTokens
	req.Extra = map[string]any{}
	if len(in.Stop) > 0 && string(in.Stop) != "null" {
		var one string
		var many []string
		switch {
		case json.Unmarshal(in.Stop, &one) == nil:
			many = []string{one}
		case json.Unmarshal(in.Stop, &many) == nil && len(many) <= 4:
		default:
			return request.Invalid("stop", "stop must be a string or a list of at most 4 strings")
		}
		req.Extra["stop"] = many
	}
	if in.Seed != nil {
		req.Extra["seed"] = *in.Seed
	}
	for name, p := range map[string]*float64{"presence_penalty": in.PresencePenalty, "frequency_penalty": in.FrequencyPenalty} {
		if p != nil {
			if *p < -2 || *p > 2 {
				return request.Invalid(name, "%s must be from -2 to 2", name)
			}
			req.Extra[name] = *p
		}
	}
	if rf := in.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			req.Format = json.RawMessage(`"json"`)
		case "json_schema":
			if rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
				return request.Invalid("response_format", "response_format json_schema needs json_schema.schema")
			}
			req.Format = rf.JSONSchema.Schema
		default:
			return request.Invalid("response_format", "response_format.type must be text, json_object or json_schema")
		}
	}
	if in.Logprobs != nil && *in.Logprobs {
		req.Logprobs = true
	}
	if in.TopLogprobs != nil {
		if *in.TopLogprobs < 0 || *in.TopLogprobs > 20 || !req.Logprobs && *in.TopLogprobs > 0 {
			return request.Invalid("top_logprobs", "top_logprobs must be from 0 to 20, with logprobs true")
		}
		req.TopLogprobs = *in.TopLogprobs
	}
	if in.ParallelToolCalls != nil && !*in.ParallelToolCalls {
		return request.Invalid("parallel_tool_calls", "parallel_tool_calls false cannot be honoured: the model decides how many tools it calls")
	}
	tools := len(in.Tools) > 0 && string(in.Tools) != "null" && string(in.Tools) != "[]"
	if len(in.ToolChoice) > 0 && string(in.ToolChoice) != "null" {
		var choice string
		if json.Unmarshal(in.ToolChoice, &choice) != nil || (choice != "auto" && choice != "none") {
			return request.Invalid("tool_choice", `tool_choice must be "auto" or "none": the model cannot be forced to call a tool`)
		}
		if choice == "none" {
			tools = false
		}
	}
	if tools {
		req.Tools = in.Tools
	}
	return nil
}

// conversation turns OpenAI messages into the model's: system and developer
// messages are joined (with a blank line) into one system message in front,
// tool results name the tool they answer. It returns the last user text,
// what retrieval searches for.
func conversation(msgs []oaMessage) ([]llm.Message, string, error) {
	if len(msgs) == 0 {
		return nil, "", request.Invalid("messages", "messages must not be empty")
	}
	var system []string
	var out []llm.Message
	question := ""
	toolNames := map[string]string{}
	for i, m := range msgs {
		field := fmt.Sprintf("messages[%d]", i)
		if len(m.Content.Images) > 0 && m.Role != "user" {
			return nil, "", request.Invalid(field, "only user messages may carry images")
		}
		switch m.Role {
		case "system", "developer":
			system = append(system, m.Content.Text)
		case "user":
			out = append(out, llm.Message{Role: "user", Content: m.Content.Text, Images: m.Content.Images})
			question = m.Content.Text
		case "assistant":
			am := llm.Message{Role: "assistant", Content: m.Content.Text}
			for _, tc := range m.ToolCalls {
				args := json.RawMessage(tc.Function.Arguments)
				if strings.TrimSpace(tc.Function.Arguments) == "" {
					args = json.RawMessage("{}")
				}
				var obj map[string]any
				if json.Unmarshal(args, &obj) != nil {
					return nil, "", request.Invalid(field, "tool call %q: arguments must be a JSON object as a string", tc.Function.Name)
				}
				toolNames[tc.ID] = tc.Function.Name
				am.ToolCalls = append(am.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args})
			}
			out = append(out, am)
		case "tool":
			out = append(out, llm.Message{Role: "tool", Content: m.Content.Text, ToolCallID: m.ToolCallID, ToolName: toolNames[m.ToolCallID]})
		default:
			return nil, "", request.Invalid(field, "role %q is not supported (system, developer, user, assistant, tool are)", m.Role)
		}
	}
	if len(system) > 0 {
		out = append([]llm.Message{{Role: "system", Content: strings.Join(system, "\n\n")}}, out...)
	}
	if len(out) == 0 || len(out) == 1 && out[0].Role == "system" {
		return nil, "", request.Invalid("messages", "messages need at least one user, assistant or tool message")
	}
	return out, question, nil
}

// ---- chat completions

func (s *Handlers) OpenAIChat(c *fiber.Ctx) error {
	var in oaChatRequest
	if err := request.DecodeJSONLenient(c, &in); err != nil {
		return err
	}
	if err := checkFields(c, chatFields); err != nil {
		return err
	}
	if in.Model == "" {
		return request.Invalid("model", "model is required")
	}
	if err := answer.CheckModelName("model", in.Model); err != nil {
		return err
	}
	req := chat.Request{Model: in.Model}
	if err := completionOptions(&in, &req); err != nil {
		return err
	}
	var err error
	if req.Conversation, req.Question, err = conversation(in.Messages); err != nil {
		return err
	}
	g, err := s.startCompletion(c, req, in.KnowledgeBaseIDs)
	if err != nil {
		return err
	}
	id, created := "chatcmpl-"+uuid.NewString(), time.Now().Unix()
	if !in.Stream {
		res, warning, err := waitCompletion(c, g)
		if err != nil {
			return err
		}
		msg := fiber.Map{"role": "assistant", "content": res.Content, "refusal": nil}
		if len(res.ToolCalls) > 0 {
			msg["tool_calls"] = oaToolCalls(res.ToolCalls, false)
			if res.Content == "" {
				msg["content"] = nil
			}
		}
		return c.JSON(grounding(fiber.Map{
			"id": id, "object": "chat.completion", "created": created, "model": resolvedModel(res, in.Model),
			"system_fingerprint": s.systemFingerprint(),
			"choices":            []fiber.Map{{"index": 0, "message": msg, "logprobs": oaLogprobs(req, res), "finish_reason": finishReason(res)}},
			"usage":              oaUsage(res),
		}, res, warning))
	}
	includeUsage := in.StreamOptions != nil && in.StreamOptions.IncludeUsage
	sseHeaders(c)
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		model := in.Model
		chunk := func(choice fiber.Map, extra fiber.Map) {
			m := fiber.Map{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
				"system_fingerprint": s.systemFingerprint(), "choices": []fiber.Map{}}
			if choice != nil {
				choice["index"] = 0
				if _, ok := choice["logprobs"]; !ok {
					choice["logprobs"] = nil
				}
				m["choices"] = []fiber.Map{choice}
			}
			if includeUsage {
				m["usage"] = nil
			}
			for k, v := range extra {
				m[k] = v
			}
			b, _ := json.Marshal(m)
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		chunk(fiber.Map{"delta": fiber.Map{"role": "assistant", "content": ""}, "finish_reason": nil}, nil)
		// The completion runs detached from the connection: it is accounted even if the client leaves.
		g.Follow(func(ev answer.Event) {
			switch ev.Name {
			case answer.EventDelta:
				chunk(fiber.Map{"delta": fiber.Map{"content": ev.Delta}, "finish_reason": nil}, nil)
			case answer.EventError:
				b, _ := json.Marshal(fiber.Map{"error": streamError(ev.Err)})
				fmt.Fprintf(w, "data: %s\n\n", b)
				fmt.Fprint(w, "data: [DONE]\n\n")
			case answer.EventDone:
				out, _ := g.Wait(context.Background())
				res := out.Result
				model = resolvedModel(res, in.Model)
				if len(res.ToolCalls) > 0 {
					chunk(fiber.Map{"delta": fiber.Map{"tool_calls": oaToolCalls(res.ToolCalls, true)}, "finish_reason": nil}, nil)
				}
				// The last choice chunk carries the citations (Quire's extension, docs/API.md).
				chunk(fiber.Map{"delta": fiber.Map{}, "finish_reason": finishReason(res), "logprobs": oaLogprobs(req, res)},
					grounding(fiber.Map{}, res, out.Warning))
				if includeUsage {
					chunk(nil, fiber.Map{"usage": oaUsage(res)})
				}
				fmt.Fprint(w, "data: [DONE]\n\n")
			}
		}, w.Flush)
	}))
	return nil
}

func sseHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
}

// startCompletion checks the knowledge bases and starts the completion.
func (s *Handlers) startCompletion(c *fiber.Ctx, req chat.Request, kbIDs []string) (*answer.Generation, error) {
	ws := s.keyWorkspace(c)
	v := store.ViewerFor(ws, request.User(c).ID)
	if err := s.Knowledge.CheckVisible(c.UserContext(), ws.ID, v, kbIDs); err != nil {
		return nil, err
	}
	return s.Answer.Complete(c.UserContext(), answer.Completion{WorkspaceID: ws.ID, Viewer: v, Request: req, KnowledgeBaseIDs: kbIDs})
}

func waitCompletion(c *fiber.Ctx, g *answer.Generation) (chat.Result, string, error) {
	out, err := g.Wait(c.UserContext())
	if err != nil {
		return chat.Result{}, "", err
	}
	if out.Failure != nil {
		return chat.Result{}, "", out.Failure
	}
	return out.Result, out.Warning, nil
}

// grounding is Quire's extension on a completion: the sources given to the
// model (citations) and, when retrieval ran with less than usual, why.
func grounding(m fiber.Map, res chat.Result, warning string) fiber.Map {
	m["citations"] = citations(res.Sources)
	if warning != "" {
		m["retrieval_warning"] = warning
	}
	return m
}

// resolvedModel is the model that answered with its tag, as Ollama resolves
// the name ("llama3.2" is "llama3.2:latest").
func resolvedModel(res chat.Result, asked string) string {
	m := cmp.Or(res.Model, asked)
	if !strings.Contains(m[strings.LastIndex(m, "/")+1:], ":") {
		m += ":latest"
	}
	return m
}

func citations(src []chat.Source) []chat.Source {
	if src == nil {
		return []chat.Source{}
	}
	return src
}

func oaUsage(res chat.Result) fiber.Map {
	return fiber.Map{"prompt_tokens": res.InputTokens, "completion_tokens": res.OutputTokens, "total_tokens": res.InputTokens + res.OutputTokens}
}

func oaLogprobs(req chat.Request, res chat.Result) any {
	if !req.Logprobs {
		return nil
	}
	lp := res.Logprobs
	if lp == nil {
		lp = []llm.Logprob{}
	}
	return fiber.Map{"content": lp, "refusal": nil}
}

func oaToolCalls(calls []llm.ToolCall, indexed bool) []fiber.Map {
	out := make([]fiber.Map, len(calls))
	for i, tc := range calls {
		id := tc.ID
		if id == "" {
			id = "call_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:24]
		}
		out[i] = fiber.Map{"id": id, "type": "function", "function": fiber.Map{"name": tc.Name, "arguments": string(tc.Arguments)}}
		if indexed {
			out[i]["index"] = i
		}
	}
	return out
}

func finishReason(res chat.Result) string {
	switch {
	case len(res.ToolCalls) > 0:
		return "tool_calls"
	case res.DoneReason == "length":
		return "length"
	}
	return "stop"
}

// ---- responses (text in, text out, streaming)

type oaResponsesRequest struct {
	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	Instructions    string          `json:"instructions"`
	Stream          bool            `json:"stream"`
	MaxOutputTokens *int            `json:"max_output_tokens"`
	Temperature     *float64        `json:"temperature"`
	TopP            *float64        `json:"top_p"`
	Text            *struct {
		Format *struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"text"`
	KnowledgeBaseIDs []string `json:"knowledge_base_ids"`
}

var responsesFields = map[string]bool{"model": true, "input": true, "instructions": true, "stream": true, "max_output_tokens": true,
	"temperature": true, "top_p": true, "text": true, "knowledge_base_ids": true}

func (s *Handlers) OpenAIResponses(c *fiber.Ctx) error {
	var in oaResponsesRequest
	if err := request.DecodeJSONLenient(c, &in); err != nil {
		return err
	}
	if err := checkFields(c, responsesFields); err != nil {
		return err
	}
	if in.Model == "" {
		return request.Invalid("model", "model is required")
	}
	if err := answer.CheckModelName("model", in.Model); err != nil {
		return err
	}
	if err := answer.CheckSampling(in.Temperature, in.TopP, in.MaxOutputTokens, 0); err != nil {
		if ae, ok := err.(*request.APIError); ok && ae.Field == "max_tokens" {
			ae.Field = "max_output_tokens"
		}
		return err
	}
	var msgs []oaMessage
	if in.Instructions != "" {
		msgs = append(msgs, oaMessage{Role: "system", Content: oaContent{Text: in.Instructions}})
	}
	var one string
	if json.Unmarshal(in.Input, &one) == nil {
		msgs = append(msgs, oaMessage{Role: "user", Content: oaContent{Text: one}})
	} else {
		var items []struct {
			Type    string    `json:"type"`
			Role    string    `json:"role"`
			Content oaContent `json:"content"`
		}
		if err := json.Unmarshal(in.Input, &items); err != nil || len(items) == 0 {
			return request.Invalid("input", "input must be a string or a non-empty list of messages {role, content}")
		}
		for i, it := range items {
			if it.Type != "" && it.Type != "message" {
				return request.Invalid(fmt.Sprintf("input[%d]", i), "input items of type %q are not supported (messages are)", it.Type)
			}
			msgs = append(msgs, oaMessage{Role: it.Role, Content: it.Content})
		}
	}
	req := chat.Request{Model: in.Model, Temperature: in.Temperature, TopP: in.TopP, MaxTokens: in.MaxOutputTokens}
	if in.Text != nil && in.Text.Format != nil {
		switch in.Text.Format.Type {
		case "", "text":
		case "json_object":
			req.Format = json.RawMessage(`"json"`)
		case "json_schema":
			req.Format = in.Text.Format.Schema
		default:
			return request.Invalid("text", "text.format.type must be text, json_object or json_schema")
		}
	}
	var err error
	if req.Conversation, req.Question, err = conversation(msgs); err != nil {
		return err
	}
	g, err := s.startCompletion(c, req, in.KnowledgeBaseIDs)
	if err != nil {
		return err
	}
	id, msgID, created := "resp_"+strings.ReplaceAll(uuid.NewString(), "-", ""), "msg_"+strings.ReplaceAll(uuid.NewString(), "-", ""), time.Now().Unix()
	response := func(status string, res *chat.Result, warning string) fiber.Map {
		m := fiber.Map{"id": id, "object": "response", "created_at": created, "status": status, "model": in.Model,
			"output": []fiber.Map{}, "error": nil, "incomplete_details": nil, "instructions": nil, "parallel_tool_calls": false,
			"tool_choice": "auto", "tools": []any{}, "temperature": in.Temperature, "top_p": in.TopP, "max_output_tokens": in.MaxOutputTokens,
			"text": fiber.Map{"format": fiber.Map{"type": "text"}}, "usage": nil, "metadata": fiber.Map{}}
		if in.Instructions != "" {
			m["instructions"] = in.Instructions
		}
		if res != nil {
			m["model"] = resolvedModel(*res, in.Model)
			m["output"] = []fiber.Map{responseMessage(msgID, "completed", res.Content)}
			m["usage"] = fiber.Map{"input_tokens": res.InputTokens, "output_tokens": res.OutputTokens, "total_tokens": res.InputTokens + res.OutputTokens,
				"input_tokens_details": fiber.Map{"cached_tokens": 0}, "output_tokens_details": fiber.Map{"reasoning_tokens": 0}}
			grounding(m, *res, warning)
			if res.DoneReason == "length" {
				m["status"], m["incomplete_details"] = "incomplete", fiber.Map{"reason": "max_output_tokens"}
			}
		}
		return m
	}
	if !in.Stream {
		res, warning, err := waitCompletion(c, g)
		if err != nil {
			return err
		}
		return c.JSON(response("completed", &res, warning))
	}
	sseHeaders(c)
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		seq := 0
		event := func(typ string, m fiber.Map) {
			m["type"], m["sequence_number"] = typ, seq
			seq++
			b, _ := json.Marshal(m)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
		}
		part := func(text string) fiber.Map {
			return fiber.Map{"type": "output_text", "text": text, "annotations": []any{}}
		}
		event("response.created", fiber.Map{"response": response("in_progress", nil, "")})
		event("response.in_progress", fiber.Map{"response": response("in_progress", nil, "")})
		event("response.output_item.added", fiber.Map{"output_index": 0, "item": fiber.Map{"type": "message", "id": msgID, "status": "in_progress", "role": "assistant", "content": []any{}}})
		event("response.content_part.added", fiber.Map{"item_id": msgID, "output_index": 0, "content_index": 0, "part": part("")})
		var text strings.Builder
		g.Follow(func(ev answer.Event) {
			switch ev.Name {
			case answer.EventDelta:
				text.WriteString(ev.Delta)
				event("response.output_text.delta", fiber.Map{"item_id": msgID, "output_index": 0, "content_index": 0, "delta": ev.Delta, "logprobs": []any{}})
			case answer.EventError:
				body := streamError(ev.Err)
				event("error", fiber.Map{"code": body["code"], "message": body["message"], "param": body["param"]})
				failed := response("failed", nil, "")
				failed["error"] = fiber.Map{"code": "server_error", "message": ev.Err.Message}
				event("response.failed", fiber.Map{"response": failed})
			case answer.EventDone:
				out, _ := g.Wait(context.Background())
				res := out.Result
				event("response.output_text.done", fiber.Map{"item_id": msgID, "output_index": 0, "content_index": 0, "text": res.Content, "logprobs": []any{}})
				event("response.content_part.done", fiber.Map{"item_id": msgID, "output_index": 0, "content_index": 0, "part": part(res.Content)})
				event("response.output_item.done", fiber.Map{"output_index": 0, "item": responseMessage(msgID, "completed", res.Content)})
				final := response("completed", &res, out.Warning)
				typ := "response.completed"
				if final["status"] == "incomplete" {
					typ = "response.incomplete"
				}
				event(typ, fiber.Map{"response": final})
			}
		}, w.Flush)
	}))
	return nil
}

func responseMessage(id, status, text string) fiber.Map {
	return fiber.Map{"type": "message", "id": id, "status": status, "role": "assistant",
		"content": []fiber.Map{{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}}}}
}

// ---- embeddings

func (s *Handlers) OpenAIEmbeddings(c *fiber.Ctx) error {
	var in struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat string          `json:"encoding_format"`
		Dimensions     *int            `json:"dimensions"`
	}
	if err := request.DecodeJSONLenient(c, &in); err != nil {
		return err
	}
	if err := checkFields(c, map[string]bool{"model": true, "input": true, "encoding_format": true, "dimensions": true}); err != nil {
		return err
	}
	if in.Model == "" {
		return request.Invalid("model", "model is required")
	}
	if err := answer.CheckModelName("model", in.Model); err != nil {
		return err
	}
	switch in.EncodingFormat {
	case "", "float", "base64":
	default:
		return request.Invalid("encoding_format", `encoding_format must be "float" or "base64"`)
	}
	dims := 0
	if in.Dimensions != nil {
		if *in.Dimensions < 1 {
			return request.Invalid("dimensions", "dimensions must be at least 1")
		}
		dims = *in.Dimensions
	}
	var inputs []string
	var one string
	if err := json.Unmarshal(in.Input, &one); err == nil {
		inputs = []string{one}
	} else if err := json.Unmarshal(in.Input, &inputs); err != nil || len(inputs) == 0 {
		return request.Invalid("input", "input must be a string or a non-empty list of strings (token arrays are not supported)")
	}
	if len(inputs) > 2048 {
		return request.Invalid("input", "at most 2048 inputs per request")
	}
	for i, text := range inputs {
		if text == "" {
			return request.Invalid(fmt.Sprintf("input[%d]", i), "inputs must not be empty strings")
		}
	}
	ctx := c.UserContext()
	info, err := s.LLM.Show(ctx, in.Model)
	if err != nil {
		return err
	}
	if len(info.Capabilities) > 0 && !info.Can("embedding") {
		return request.Invalid("model", "the model %q cannot embed (it is a chat model); pick an embedding model", in.Model)
	}
	if dims > 0 && info.EmbeddingLength > 0 && dims > info.EmbeddingLength {
		return request.Invalid("dimensions", "the model %q makes vectors of %d dimensions; dimensions must be from 1 to %d", in.Model, info.EmbeddingLength, info.EmbeddingLength)
	}
	ws, u := s.keyWorkspace(c), request.User(c)
	vecs, tokens, err := s.Answer.Embed(ctx, ws.ID, u.ID, in.Model, inputs, dims)
	if err != nil {
		return err
	}
	data := make([]fiber.Map, len(vecs))
	for i, e := range vecs {
		var emb any = e
		if in.EncodingFormat == "base64" {
			emb = base64Floats(e)
		}
		data[i] = fiber.Map{"object": "embedding", "index": i, "embedding": emb}
	}
	return c.JSON(fiber.Map{"object": "list", "data": data, "model": in.Model,
		"usage": fiber.Map{"prompt_tokens": tokens, "total_tokens": tokens}})
}

// base64Floats is OpenAI's base64 encoding of a vector: little-endian float32s.
func base64Floats(v []float32) string {
	var b bytes.Buffer
	b.Grow(4 * len(v))
	var w [4]byte
	for _, f := range v {
		binary.LittleEndian.PutUint32(w[:], math.Float32bits(f))
		b.Write(w[:])
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// ---- errors in OpenAI's shape

// oaErrorBody is an error as OpenAI writes it: {message, type, param, code}.
func oaErrorBody(ae *request.APIError, err error) fiber.Map {
	typ := "invalid_request_error"
	switch {
	case ae.Status == 401:
		typ = "authentication_error"
	case ae.Status == 403:
		typ = "permission_error"
	case ae.Code == "insufficient_quota":
		typ = "insufficient_quota"
	case ae.Status == 429:
		typ = "rate_limit_error"
	case ae.Status >= 500:
		typ = "server_error"
	}
	var param any
	if ae.Field != "" {
		param = ae.Field
	}
	return fiber.Map{"message": ae.Message, "type": typ, "param": param, "code": ae.Code}
}

// ErrorBody is err on /v1 in OpenAI's shape; ae is err in the API's (nil: an
// internal error). The status is OpenAI's: see openAIError.
func ErrorBody(err error, ae *request.APIError) (int, fiber.Map) {
	if ae == nil {
		ae = request.Errorf(500, "internal", "something went wrong on the server; it has been logged")
	}
	ae = openAIError(err, ae)
	return ae.Status, oaErrorBody(ae, err)
}

// streamError is a failure in the middle of a streamed answer, as its last event.
func streamError(err error) fiber.Map {
	_, body := ErrorBody(err, request.ToAPIError(err))
	return body
}

// openAIError maps an error on /v1 to OpenAI's status and code: an unknown
// model is 404 model_not_found (not a 503 that clients retry), a spent quota
// 429 insufficient_quota, an unknown key 401 invalid_api_key.
func openAIError(err error, ae *request.APIError) *request.APIError {
	out := *ae
	switch {
	case errors.Is(err, llm.ErrModelNotFound):
		out.Status, out.Code, out.Field = 404, "model_not_found", "model"
	case ae.Code == "quota_exceeded":
		out.Status, out.Code = 429, "insufficient_quota"
	case ae.Status == 401:
		out.Code = "invalid_api_key"
	}
	return &out
}

// ---- legacy text completions (the prompt continued as raw text, no chat template)

var textCompletionFields = map[string]bool{"model": true, "prompt": true, "stream": true, "stream_options": true, "temperature": true, "top_p": true,
	"max_tokens": true, "stop": true, "seed": true, "n": true, "presence_penalty": true, "frequency_penalty": true, "echo": true, "best_of": true}

func (s *Handlers) OpenAITextCompletions(c *fiber.Ctx) error {
	var in struct {
		oaChatRequest
		Prompt json.RawMessage `json:"prompt"`
		Echo   *bool           `json:"echo"`
		BestOf *int            `json:"best_of"`
	}
	if err := request.DecodeJSONLenient(c, &in); err != nil {
		return err
	}
	if err := checkFields(c, textCompletionFields); err != nil {
		return err
	}
	if in.Model == "" {
		return request.Invalid("model", "model is required")
	}
	if err := answer.CheckModelName("model", in.Model); err != nil {
		return err
	}
	if in.Echo != nil && *in.Echo {
		return request.Invalid("echo", "echo is not supported")
	}
	if in.BestOf != nil && *in.BestOf != 1 {
		return request.Invalid("best_of", "best_of must be 1")
	}
	var prompt string
	var prompts []string
	switch {
	case json.Unmarshal(in.Prompt, &prompt) == nil:
	case json.Unmarshal(in.Prompt, &prompts) == nil && len(prompts) == 1:
		prompt = prompts[0]
	default:
		return request.Invalid("prompt", "prompt must be a string (or a list of one string; token arrays are not supported)")
	}
	if prompt == "" {
		return request.Invalid("prompt", "prompt must not be empty")
	}
	req := chat.Request{Model: in.Model, Prompt: prompt, Question: prompt, Conversation: []llm.Message{{Role: "user", Content: prompt}}}
	in.Tools, in.ToolChoice, in.ResponseFormat, in.Logprobs, in.TopLogprobs = nil, nil, nil, nil, nil
	if err := completionOptions(&in.oaChatRequest, &req); err != nil {
		return err
	}
	g, err := s.startCompletion(c, req, nil)
	if err != nil {
		return err
	}
	id, created := "cmpl-"+strings.ReplaceAll(uuid.NewString(), "-", ""), time.Now().Unix()
	body := func(model string, text string, finish any) fiber.Map {
		return fiber.Map{"id": id, "object": "text_completion", "created": created, "model": model, "system_fingerprint": s.systemFingerprint(),
			"choices": []fiber.Map{{"text": text, "index": 0, "logprobs": nil, "finish_reason": finish}}}
	}
	if !in.Stream {
		res, _, err := waitCompletion(c, g)
		if err != nil {
			return err
		}
		m := body(resolvedModel(res, in.Model), res.Content, finishReason(res))
		m["usage"] = oaUsage(res)
		return c.JSON(m)
	}
	includeUsage := in.StreamOptions != nil && in.StreamOptions.IncludeUsage
	sseHeaders(c)
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		write := func(m fiber.Map) {
			b, _ := json.Marshal(m)
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		g.Follow(func(ev answer.Event) {
			switch ev.Name {
			case answer.EventDelta:
				write(body(resolvedModel(chat.Result{}, in.Model), ev.Delta, nil))
			case answer.EventError:
				write(fiber.Map{"error": streamError(ev.Err)})
				fmt.Fprint(w, "data: [DONE]\n\n")
			case answer.EventDone:
				out, _ := g.Wait(context.Background())
				write(body(resolvedModel(out.Result, in.Model), "", finishReason(out.Result)))
				if includeUsage {
					m := body(resolvedModel(out.Result, in.Model), "", nil)
					m["choices"], m["usage"] = []fiber.Map{}, oaUsage(out.Result)
					write(m)
				}
				fmt.Fprint(w, "data: [DONE]\n\n")
			}
		}, w.Flush)
	}))
	return nil
}

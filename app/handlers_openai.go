package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"quire/app/chat"
	"quire/app/fault"
	"quire/app/plan"
	"quire/store"
)

// The OpenAI-compatible surface: any OpenAI client can use Quire with a personal
// API key bound to a workspace. Usage is accounted to that workspace like any chat.

// keyWorkspace resolves the workspace of the calling API key (the OpenAIKey access
// level guarantees a workspace-bound key of a current member).
func (s *Server) keyWorkspace(c *fiber.Ctx) *store.Workspace { return workspaceOf(c) }

func (s *Server) openAIModels(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	models, err := s.llm.List(ctx)
	if err != nil {
		return err
	}
	data := make([]fiber.Map, 0, len(models))
	for _, m := range models {
		data = append(data, fiber.Map{"id": m.Name, "object": "model", "created": m.ModifiedAt.Unix(), "owned_by": "ollama"})
	}
	return c.JSON(fiber.Map{"object": "list", "data": data})
}

// oaContent accepts a message content as a string or as a list of text parts.
type oaContent string

func (o *oaContent) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*o = oaContent(s)
		return nil
	}
	var parts []struct{ Type, Text string }
	if err := json.Unmarshal(b, &parts); err != nil {
		return errors.New("content must be a string or a list of text parts")
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			sb.WriteString(p.Text)
		}
	}
	*o = oaContent(sb.String())
	return nil
}

type oaChatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string    `json:"role"`
		Content oaContent `json:"content"`
	} `json:"messages"`
	Stream           bool     `json:"stream"`
	Temperature      *float64 `json:"temperature"`
	TopP             *float64 `json:"top_p"`
	MaxTokens        *int     `json:"max_tokens"`
	KnowledgeBaseIDs []string `json:"knowledge_base_ids"` // Quire extension: answer from these KBs
}

func (s *Server) openAIChat(c *fiber.Ctx) error {
	var in oaChatRequest
	if err := decodeJSONLenient(c, &in); err != nil {
		return err
	}
	if in.Model == "" {
		return invalid("model", "model is required")
	}
	if err := checkModelName("model", in.Model); err != nil {
		return err
	}
	if err := checkSampling(in.Temperature, in.TopP, in.MaxTokens, 0); err != nil {
		return err
	}
	if len(in.Messages) == 0 || in.Messages[len(in.Messages)-1].Role != "user" {
		return invalid("messages", "messages must end with a user message")
	}
	ws, u := s.keyWorkspace(c), userOf(c)
	req := chat.Request{Model: in.Model, Temperature: in.Temperature, TopP: in.TopP, MaxTokens: in.MaxTokens}
	for i, m := range in.Messages {
		switch {
		case m.Role == "system":
			req.System += string(m.Content)
		case i == len(in.Messages)-1:
			req.Question = string(m.Content)
		case m.Role == "user" || m.Role == "assistant":
			req.History = append(req.History, chat.Turn{Role: m.Role, Content: string(m.Content)})
		}
	}
	info, err := s.llm.Show(c.UserContext(), in.Model)
	if err != nil {
		return err
	}
	req.ContextLength = info.ContextLength
	if err := checkSampling(nil, nil, in.MaxTokens, info.ContextLength); err != nil {
		return err
	}
	if len(in.KnowledgeBaseIDs) > 0 {
		if err := s.checkVisibleKBs(c, ws, &in.KnowledgeBaseIDs); err != nil {
			return err
		}
		req.Sources, _ = s.retrieveKnowledge(c.UserContext(), ws, u, in.KnowledgeBaseIDs, req.Question)
	}
	// Same admission as a chat reply: a scheduler place, then the estimate reserved.
	tk, err := s.sched.admit(c, u.ID, ws.ID)
	if err != nil {
		return err
	}
	in1, out1 := chat.Estimate(req)
	hold, err := s.plan.Reserve(c.UserContext(), ws.ID, in.Model, in1, out1)
	if err != nil {
		tk.release()
		return err
	}
	id, created := "chatcmpl-"+uuid.NewString(), time.Now().Unix()
	finish := func(res chat.Result) {
		tk.release()
		s.plan.Settle(context.Background(), hold, plan.Call{WorkspaceID: ws.ID, Kind: store.UsageChat, Model: in.Model, UserID: u.ID,
			Input: res.InputTokens, Output: res.OutputTokens, Duration: res.Duration})
	}
	if !in.Stream {
		res, err := chat.Result{}, tk.wait(c.UserContext())
		if err == nil {
			res, err = chat.Stream(c.UserContext(), s.llm, chat.Build(req), func(string) {})
		}
		finish(res)
		if err != nil {
			if fault.Is(err, fault.Unavailable) {
				return err
			}
			return errorf(502, "model_failed", "%s", err.Error())
		}
		return c.JSON(fiber.Map{
			"id": id, "object": "chat.completion", "created": created, "model": in.Model,
			"choices":   []fiber.Map{{"index": 0, "message": fiber.Map{"role": "assistant", "content": res.Content}, "finish_reason": finishReason(res.DoneReason)}},
			"usage":     fiber.Map{"prompt_tokens": res.InputTokens, "completion_tokens": res.OutputTokens, "total_tokens": res.InputTokens + res.OutputTokens},
			"citations": res.Sources,
		})
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		chunk := func(delta fiber.Map, reason any) {
			b, _ := json.Marshal(fiber.Map{"id": id, "object": "chat.completion.chunk", "created": created, "model": in.Model,
				"choices": []fiber.Map{{"index": 0, "delta": delta, "finish_reason": reason}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
			_ = w.Flush()
		}
		chunk(fiber.Map{"role": "assistant", "content": ""}, nil)
		// Detached from the connection: the call is accounted even if the client leaves.
		res, err := chat.Result{}, tk.wait(context.Background())
		if err == nil {
			res, err = chat.Stream(context.Background(), s.llm, chat.Build(req), func(d string) { chunk(fiber.Map{"content": d}, nil) })
		}
		finish(res)
		if err != nil {
			b, _ := json.Marshal(fiber.Map{"error": fiber.Map{"code": "model_failed", "message": err.Error()}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		} else {
			chunk(fiber.Map{}, finishReason(res.DoneReason))
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		_ = w.Flush()
	}))
	return nil
}

func finishReason(done string) string {
	if done == "length" {
		return "length"
	}
	return "stop"
}

func (s *Server) openAIEmbeddings(c *fiber.Ctx) error {
	var in struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := decodeJSONLenient(c, &in); err != nil {
		return err
	}
	if in.Model == "" {
		return invalid("model", "model is required")
	}
	if err := checkModelName("model", in.Model); err != nil {
		return err
	}
	var inputs []string
	var one string
	if err := json.Unmarshal(in.Input, &one); err == nil {
		inputs = []string{one}
	} else if err := json.Unmarshal(in.Input, &inputs); err != nil || len(inputs) == 0 {
		return invalid("input", "input must be a string or a non-empty list of strings")
	}
	if len(inputs) > 2048 {
		return invalid("input", "at most 2048 inputs per request")
	}
	ws, u := s.keyWorkspace(c), userOf(c)
	tk, err := s.sched.admit(c, u.ID, ws.ID)
	if err != nil {
		return err
	}
	defer tk.release()
	estimate := 0
	for _, text := range inputs {
		estimate += chat.TokenBound(text)
	}
	hold, err := s.plan.Reserve(c.UserContext(), ws.ID, in.Model, estimate, 0)
	if err != nil {
		return err
	}
	if err := tk.wait(c.UserContext()); err != nil {
		s.plan.Release(context.Background(), hold)
		return err
	}
	start := time.Now()
	vecs, tokens, err := s.llm.Embed(c.UserContext(), in.Model, inputs)
	if err != nil {
		s.plan.Release(context.Background(), hold)
		if _, ok := fault.As(err); ok {
			return err
		}
		return invalid("model", "%s", err.Error())
	}
	s.plan.Settle(context.Background(), hold, plan.Call{WorkspaceID: ws.ID, Kind: store.UsageEmbedding, Model: in.Model, UserID: u.ID, Input: tokens,
		Duration: time.Since(start)})
	data := make([]fiber.Map, len(vecs))
	for i, e := range vecs {
		data[i] = fiber.Map{"object": "embedding", "index": i, "embedding": e}
	}
	return c.JSON(fiber.Map{"object": "list", "data": data, "model": in.Model,
		"usage": fiber.Map{"prompt_tokens": tokens, "total_tokens": tokens}})
}

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

	"quire/app/answer"
	"quire/app/chat"
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
	if err := s.knowledge.CheckVisible(c.UserContext(), ws.ID, store.ViewerFor(ws, u.ID), in.KnowledgeBaseIDs); err != nil {
		return err
	}
	g, err := s.answer.Complete(c.UserContext(), answer.Completion{WorkspaceID: ws.ID, Viewer: store.ViewerFor(ws, u.ID), Request: req, KnowledgeBaseIDs: in.KnowledgeBaseIDs})
	if err != nil {
		return err
	}
	id, created := "chatcmpl-"+uuid.NewString(), time.Now().Unix()
	if !in.Stream {
		out, err := g.Wait(c.UserContext())
		if err != nil {
			return err
		}
		if out.Failure != nil {
			return out.Failure
		}
		res := out.Result
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
		}
		chunk(fiber.Map{"role": "assistant", "content": ""}, nil)
		// The completion runs detached from the connection: it is accounted even if the client leaves.
		follow(g, func(ev answer.Event) {
			switch ev.Name {
			case answer.EventDelta:
				chunk(fiber.Map{"content": ev.Delta}, nil)
			case answer.EventError:
				b, _ := json.Marshal(fiber.Map{"error": fiber.Map{"code": "model_failed", "message": ev.Err.Message}})
				fmt.Fprintf(w, "data: %s\n\n", b)
				fmt.Fprint(w, "data: [DONE]\n\n")
			case answer.EventDone:
				out, _ := g.Wait(context.Background())
				chunk(fiber.Map{}, finishReason(out.Result.DoneReason))
				fmt.Fprint(w, "data: [DONE]\n\n")
			}
		}, w.Flush)
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
	vecs, tokens, err := s.answer.Embed(c.UserContext(), ws.ID, u.ID, in.Model, inputs)
	if err != nil {
		return err
	}
	data := make([]fiber.Map, len(vecs))
	for i, e := range vecs {
		data[i] = fiber.Map{"object": "embedding", "index": i, "embedding": e}
	}
	return c.JSON(fiber.Map{"object": "list", "data": data, "model": in.Model,
		"usage": fiber.Map{"prompt_tokens": tokens, "total_tokens": tokens}})
}

package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"quire/app/fault"
	"quire/app/http/request"
	"quire/app/llm"
	"quire/store"
)

type ModelJSON struct {
	Name          string   `json:"name"`
	Size          int64    `json:"size"`
	Family        string   `json:"family"`
	Parameters    string   `json:"parameter_size"`
	Capabilities  []string `json:"capabilities"`
	Chat          bool     `json:"chat"`
	Embedding     bool     `json:"embedding"`
	Dimensions    int      `json:"dimensions,omitempty"`
	ContextLength int      `json:"context_length,omitempty"`
}

// ListModels asks Ollama for its models and what each can do.
func (s *Handlers) ListModels(ctx context.Context) ([]ModelJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	models, err := s.LLM.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ModelJSON, 0, len(models))
	for _, m := range models {
		mj := ModelJSON{Name: m.Name, Size: m.Size, Family: m.Family, Parameters: m.ParameterSize}
		if info, err := s.LLM.Show(ctx, m.Name); err == nil {
			mj.Capabilities, mj.Dimensions, mj.ContextLength = info.Capabilities, info.EmbeddingLength, info.ContextLength
			mj.Chat, mj.Embedding = info.Can("completion"), info.Can("embedding")
		}
		out = append(out, mj)
	}
	return out, nil
}

func (s *Handlers) AdminModels(c *fiber.Ctx) error {
	models, err := s.ListModels(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(List[ModelJSON]{Items: models})
}

// PullModel streams Ollama's download progress as SSE events: on the host
// given by its id, or on every host of the pool one after the other.
func (s *Handlers) PullModel(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
		Host string `json:"host"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 || strings.IndexFunc(in.Name, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return request.Invalid("name", "Type a model name such as llama3.2 or nomic-embed-text (one word, at most 200 characters).")
	}
	pull := s.LLM.Pull
	if in.Host != "" {
		if !slices.ContainsFunc(s.LLM.Hosts(), func(h llm.HostStatus) bool { return h.ID == in.Host }) {
			return request.Invalid("host", "There is no such Ollama host in the pool; pick one of Administration → Models.")
		}
		pull = func(ctx context.Context, model string, progress func(llm.Progress)) error {
			return s.LLM.PullHost(ctx, in.Host, model, progress)
		}
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		send := func(event string, v any) {
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
			_ = w.Flush()
		}
		// Detached: a pull keeps going if the admin closes the page.
		err := pull(context.Background(), in.Name, func(p llm.Progress) {
			send("progress", fiber.Map{"host": p.Host, "status": p.Status, "completed": p.Completed, "total": p.Total})
		})
		if err != nil {
			s.Log.Warn("model pull failed", "model", in.Name, "err", err)
			send("error", fiber.Map{"code": "model_unavailable", "message": pullFailure(in.Name, err)})
			return
		}
		send("done", fiber.Map{"name": in.Name})
	}))
	return nil
}

type TaskJSON struct {
	ID          int64  `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	DocumentID  string `json:"document_id"`
	// The names people read; "" for a task of the whole instance or a deleted document.
	WorkspaceName string     `json:"workspace_name"`
	DocumentName  string     `json:"document_name"`
	Kind          string     `json:"kind"`
	Status        string     `json:"status"`
	Progress      int        `json:"progress"`
	Attempts      int        `json:"attempts"`
	MaxAttempts   int        `json:"max_attempts"`
	LastError     string     `json:"last_error"`
	RunAfter      time.Time  `json:"run_after"`
	CreatedAt     time.Time  `json:"created_at"`
	FinishedAt    *time.Time `json:"finished_at"`
}

func taskView(t *store.Task, n store.TaskNames) TaskJSON {
	return TaskJSON{t.ID, t.WorkspaceID, t.DocumentID, n.Workspace, n.Document, t.Kind, t.Status, t.Progress, t.Attempts, t.MaxAttempts, t.LastError, t.RunAfter, t.CreatedAt, t.FinishedAt}
}

func (s *Handlers) AdminJobs(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	before := int64(0)
	if cursor != "" {
		if before, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return request.Invalid("cursor", "cursor is not one this server issued")
		}
	}
	tasks, err := s.Store.ListTasks(c.UserContext(), store.TaskFilter{Status: c.Query("status"), Kind: c.Query("kind"), BeforeID: before, Limit: limit + 1})
	if err != nil {
		return err
	}
	names, err := s.Store.NamesOfTasks(c.UserContext(), tasks)
	if err != nil {
		return err
	}
	return c.JSON(page(tasks, limit, func(t *store.Task) string { return strconv.FormatInt(t.ID, 10) },
		func(t *store.Task) TaskJSON { return taskView(t, names[t.ID]) }))
}

// pullFailure says in a sentence why Ollama could not pull a model; the error
// itself (a Go error with URLs and dial details) goes to the log.
func pullFailure(name string, err error) string {
	if fault.Is(err, fault.Unavailable) && !errors.Is(err, llm.ErrModelNotFound) {
		if msg := strings.ToLower(err.Error()); strings.Contains(msg, "cannot reach") || strings.Contains(msg, "did not answer") {
			return "Ollama cannot be reached, so " + name + " was not pulled. Start Ollama or correct its URL, then try again."
		}
	}
	switch msg := strings.ToLower(err.Error()); {
	case strings.Contains(msg, "file does not exist") || strings.Contains(msg, "not found") || strings.Contains(msg, "manifest unknown"):
		return "Ollama's library has no model called " + name + ". Check the name (for example llama3.2 or nomic-embed-text) and try again."
	case strings.Contains(msg, "dial") || strings.Contains(msg, "lookup") || strings.Contains(msg, "no such host") ||
		strings.Contains(msg, "timeout") || strings.Contains(msg, "tls") || strings.Contains(msg, "connection"):
		return "Ollama could not download " + name + " because it cannot reach the model library on the internet. On an offline server, copy the model into Ollama's models folder from a connected machine."
	}
	return "Ollama could not pull " + name + "; its log says why. Try again, or pull it with `ollama pull " + name + "` on the server."
}

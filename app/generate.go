package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"quire/app/chat"
	"quire/app/fault"
	"quire/app/llm"
	"quire/app/plan"
	"quire/store"
)

// sseEvent is one Server-Sent Event of a streamed reply.
type sseEvent struct {
	name string
	data any
}

// generation is a reply being written. It runs detached from the request that
// started it, so a browser that goes away does not lose the reply; any number of
// readers follow its events.
type generation struct {
	mu     sync.Mutex
	events []sseEvent
	done   bool
	wake   chan struct{} // closed and replaced on every event
	cancel context.CancelFunc
	result *store.Message // the stored assistant message once done
	err    *apiError      // why the reply failed (model unavailable or failed), if it did
}

func newGeneration(cancel context.CancelFunc) *generation {
	return &generation{wake: make(chan struct{}), cancel: cancel}
}

func (g *generation) emit(name string, data any) {
	g.mu.Lock()
	g.events = append(g.events, sseEvent{name, data})
	close(g.wake)
	g.wake = make(chan struct{})
	g.mu.Unlock()
}

func (g *generation) finish(final *store.Message, err *apiError) {
	g.mu.Lock()
	g.done, g.result, g.err = true, final, err
	close(g.wake)
	g.wake = make(chan struct{})
	g.mu.Unlock()
}

// next returns events after cursor, whether the generation is over, and a
// channel that closes when there is more.
func (g *generation) next(cursor int) ([]sseEvent, bool, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.events[cursor:], g.done, g.wake
}

// wait blocks until the generation is over and returns its stored reply and
// why it failed, if it did.
func (g *generation) wait(ctx context.Context) (*store.Message, *apiError, error) {
	for {
		_, done, wake := g.next(0)
		if done {
			g.mu.Lock()
			defer g.mu.Unlock()
			return g.result, g.err, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// generations tracks the running reply of each chat (one at a time per chat).
type generations struct {
	mu      sync.Mutex
	running map[string]*generation
	wg      sync.WaitGroup // lets shutdown wait for replies to be stored
}

func (gs *generations) start(chatID string, g *generation) bool {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if gs.running == nil {
		gs.running = map[string]*generation{}
	}
	if gs.running[chatID] != nil {
		return false
	}
	gs.running[chatID] = g
	gs.wg.Add(1)
	return true
}

func (gs *generations) end(chatID string) {
	gs.mu.Lock()
	delete(gs.running, chatID)
	gs.mu.Unlock()
	gs.wg.Done()
}

// stopAll cancels every running reply (partial replies are stored as stopped).
func (gs *generations) stopAll() {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	for _, g := range gs.running {
		g.cancel()
	}
}

func (gs *generations) get(chatID string) *generation {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	return gs.running[chatID]
}

// turn is what one reply needs: the question and the conversation before it.
type turn struct {
	ws       *store.Workspace
	user     *store.User
	chat     *store.Chat
	question *store.Message
	history  []store.Message // before the question
}

// prepare checks what can be refused before anything is generated: a reply
// already running, the model unavailable. Errors here are plain HTTP errors.
func (s *Server) prepare(c *fiber.Ctx, ch *store.Chat) (model string, info *llm.ModelInfo, err error) {
	if s.gens.get(ch.ID) != nil {
		return "", info, conflict("a reply is still being written in this chat; stop it or wait for it")
	}
	model = ch.Model
	if model == "" {
		model = s.currentSettings().DefaultChatModel
	}
	if model == "" {
		return "", info, fault.New(fault.Unavailable, "no chat model is chosen: pick one for this chat, or set a default under Administration → Settings")
	}
	info, err = s.llm.Show(c.UserContext(), model)
	if err != nil {
		return "", info, err
	}
	if len(info.Capabilities) > 0 && !info.Can("completion") {
		return "", info, invalid("model", "the model %q cannot chat (it is an embedding model); pick a chat model", model)
	}
	return model, info, nil
}

// chatRequest is the model request of a turn, before sources are retrieved.
func chatRequest(t turn, model string, info *llm.ModelInfo) chat.Request {
	req := chat.Request{Model: model, System: t.chat.SystemPrompt, Question: t.question.Content,
		Temperature: t.chat.Temperature, TopP: t.chat.TopP, MaxTokens: t.chat.MaxTokens, ContextLength: info.ContextLength}
	for _, m := range t.history {
		if m.Role != "system" && m.Content != "" && m.Status != store.MsgFailed {
			req.History = append(req.History, chat.Turn{Role: m.Role, Content: m.Content})
		}
	}
	return req
}

// admission is what a reply holds before it starts: its place in the
// scheduler and its quota reservation.
type admission struct {
	ticket *ticket
	hold   plan.Hold
}

// admit takes a scheduler place for the user and reserves the reply's
// estimated tokens (429 or 402 when refused; nothing is held then). Sources
// are retrieved later, so a chat with knowledge bases reserves the whole
// prompt room they may fill.
func (s *Server) admit(c *fiber.Ctx, t turn, model string, info *llm.ModelInfo) (admission, error) {
	tk, err := s.sched.admit(c, t.user.ID, t.ws.ID)
	if err != nil {
		return admission{}, err
	}
	req := chatRequest(t, model, info)
	in, out := chat.Estimate(req)
	if len(t.chat.KnowledgeBaseIDs) > 0 {
		in = chat.PromptRoom(req)
	}
	hold, err := s.plan.Reserve(c.UserContext(), t.ws.ID, model, in, out)
	if err != nil {
		tk.release()
		return admission{}, err
	}
	return admission{tk, hold}, nil
}

// release gives back what an admission holds when its reply does not start.
func (s *Server) release(ctx context.Context, wsID string, a admission) {
	a.ticket.release()
	s.plan.Release(ctx, a.hold)
}

// startReply takes the chat's one running reply, then a scheduler place and
// the quota reservation (admit), and only then drops the reply being
// regenerated (dropID) and stores the new, empty streaming reply, so a refusal
// loses nothing. The reply is written in the background.
func (s *Server) startReply(c *fiber.Ctx, t turn, model string, info *llm.ModelInfo, dropID string) (*generation, error) {
	ctx, cancel := context.WithCancel(context.Background())
	g := newGeneration(cancel)
	if !s.gens.start(t.chat.ID, g) {
		cancel()
		return nil, conflict("a reply is still being written in this chat; stop it or wait for it")
	}
	adm, err := s.admit(c, t, model, info)
	if err != nil {
		s.gens.end(t.chat.ID)
		cancel()
		return nil, err
	}
	fail := func(err error) (*generation, error) {
		s.gens.end(t.chat.ID)
		s.release(ctx, t.ws.ID, adm)
		cancel()
		return nil, err
	}
	if dropID != "" {
		if err := s.store.DeleteMessage(ctx, t.ws.ID, dropID); err != nil {
			return fail(err)
		}
	}
	reply, err := s.store.AddMessage(ctx, t.ws.ID, t.chat.ID, "assistant", "", t.question.ID, model, store.MsgStreaming)
	if err != nil {
		return fail(err)
	}
	g.emit("user_message", messageView(t.question))
	go func() {
		defer s.gens.end(t.chat.ID)
		defer cancel()
		defer adm.ticket.release()
		s.writeReply(ctx, g, t, reply, model, info, adm)
	}()
	return g, nil
}

// writeReply waits for a slot, retrieves sources, streams the answer and
// stores it, whatever happens to the client that asked.
func (s *Server) writeReply(ctx context.Context, g *generation, t turn, reply *store.Message, model string, info *llm.ModelInfo, adm admission) {
	req := chatRequest(t, model, info)
	var res chat.Result
	err := adm.ticket.wait(ctx)
	if err == nil {
		req.Sources = s.retrieveSources(ctx, t)
		p := chat.Build(req)
		g.emit("citations", p.Sources)
		res, err = chat.Stream(ctx, s.llm, p, func(d string) { g.emit("delta", fiber.Map{"content": d}) })
	}

	out := store.MessageResult{Content: res.Content, Status: store.MsgComplete, InputTokens: res.InputTokens, OutputTokens: res.OutputTokens}
	out.Citations, _ = json.Marshal(res.Sources)
	var errEvent *apiError
	switch {
	case errors.Is(err, context.Canceled):
		out.Status = store.MsgStopped
	case fault.Is(err, fault.Unavailable):
		out.Status, out.Error = store.MsgFailed, err.Error()
		errEvent = toAPIError(err)
	case err != nil:
		out.Status, out.Error = store.MsgFailed, err.Error()
		errEvent = errorf(502, "model_failed", "%s", err.Error())
	}
	// Store with a fresh context: a stop cancels generation, not the bookkeeping.
	bg := context.Background()
	if ferr := s.store.FinishMessage(bg, t.ws.ID, reply.ID, out); ferr != nil {
		s.log.Error("store reply", "message_id", reply.ID, "err", ferr)
	}
	s.plan.Settle(bg, adm.hold, plan.Call{WorkspaceID: t.ws.ID, Kind: store.UsageChat, Model: model, UserID: t.user.ID, ChatID: t.chat.ID, MessageID: reply.ID,
		Input: res.InputTokens, Output: res.OutputTokens, Duration: res.Duration})
	final, ferr := s.store.GetMessage(bg, t.ws.ID, t.chat.ID, reply.ID)
	if ferr != nil {
		final = reply
	}
	if errEvent != nil {
		g.emit("error", fiber.Map{"code": errEvent.Code, "message": errEvent.Message, "message_id": reply.ID})
	} else {
		g.emit("done", messageView(final))
		if t.chat.Name == "" && out.Status == store.MsgComplete {
			s.nameChat(bg, t, model)
		}
	}
	g.finish(final, errEvent)
}

// retrieveSources finds passages for the question in the chat's knowledge bases
// (none until the knowledge layer is attached, or when no KB is attached).
func (s *Server) retrieveSources(ctx context.Context, t turn) []chat.Source {
	if len(t.chat.KnowledgeBaseIDs) == 0 {
		return nil
	}
	src, err := s.retrieveKnowledge(ctx, t.ws, t.user, t.chat.KnowledgeBaseIDs, t.question.Content)
	if err != nil {
		s.log.Warn("retrieval failed; answering without sources", "chat_id", t.chat.ID, "err", err)
	}
	return src
}

var titleJunk = regexp.MustCompile(`\[\d+\]|["“”*#]`)

// nameChat gives a new chat a short title from its first exchange.
func (s *Server) nameChat(ctx context.Context, t turn, model string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	max := 24
	req := chat.Request{Model: model, MaxTokens: &max,
		Question: "Write a title of at most six words for a conversation that starts with this question. Reply with the title only.\n\n" + t.question.Content}
	// The title is a model call like any other: it fits the quota or is not made.
	in, out := chat.Estimate(req)
	hold, err := s.plan.Reserve(ctx, t.ws.ID, model, in, out)
	var res chat.Result
	if err == nil {
		res, err = chat.Stream(ctx, s.llm, chat.Build(req), func(string) {})
	}
	title := strings.TrimSpace(titleJunk.ReplaceAllString(res.Content, ""))
	if err != nil || title == "" {
		title = t.question.Content // fall back to the question itself
	}
	if r := []rune(strings.Join(strings.Fields(title), " ")); len(r) > 80 {
		title = string(r[:80]) + "…"
	} else {
		title = string(r)
	}
	s.plan.Settle(ctx, hold, plan.Call{WorkspaceID: t.ws.ID, Kind: store.UsageTitle, Model: model, UserID: t.user.ID, ChatID: t.chat.ID,
		Input: res.InputTokens, Output: res.OutputTokens, Duration: res.Duration})
	if _, err := s.store.UpdateChat(ctx, t.ws.ID, t.chat.ID, store.ChatFields{Name: &title}); err != nil {
		s.log.Warn("naming chat", "chat_id", t.chat.ID, "err", err)
	}
}

// respond answers a reply request: as SSE when the client asked for
// text/event-stream, else as JSON once the reply is stored.
func (s *Server) respond(c *fiber.Ctx, g *generation, question *store.Message) error {
	if !strings.Contains(c.Get(fiber.HeaderAccept), "text/event-stream") {
		final, failed, err := g.wait(c.UserContext())
		if err != nil {
			return err
		}
		if failed != nil { // API.md: model_unavailable answers 503; the question and the failed reply are kept
			return failed
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"user_message": messageView(question), "assistant_message": messageView(final)})
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		cursor := 0
		for {
			evs, done, wake := g.next(cursor)
			for _, ev := range evs {
				data, _ := json.Marshal(ev.data)
				fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, data)
			}
			cursor += len(evs)
			if err := w.Flush(); err != nil {
				return // the client went away; the reply is still written and stored
			}
			if done {
				return
			}
			<-wake
		}
	}))
	return nil
}

// Package answer is the one "ask" use case: a question in a chat, or a
// completion of the OpenAI-compatible API, becomes a generation that any
// number of readers follow. It owns what both share: the model check, the fair
// scheduler, the quota reservation and its settlement (package plan),
// retrieval from knowledge bases, the prompt built once (the citations shown
// and the model call use the same messages), streaming through package llm
// (which observes the Ollama metrics), storing a chat's reply, and its title,
// written after the reply is stored so a follow-up question is accepted at once.
package answer

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"quire/app/audit"
	"quire/app/chat"
	"quire/app/fault"
	"quire/app/llm"
	"quire/app/plan"
	"quire/app/rag"
	"quire/app/tools"
	"quire/store"
)

// Searcher finds a question's passages in knowledge bases, as a viewer sees
// them (knowledge.Service).
type Searcher interface {
	Retrieve(ctx context.Context, wsID string, v store.Viewer, kbIDs []string, question string, topK int) (*rag.Response, error)
}

// Config is what a Service needs.
type Config struct {
	Store *store.Store
	LLM   *llm.Client
	Plan  *plan.Service
	// Search retrieves a question's sources; nil answers without sources.
	Search Searcher
	// Tools are the knowledge tools an agent reply calls; nil turns agent mode off.
	Tools *tools.Tools
	// DefaultModel is the instance's chat model for chats that name none.
	DefaultModel func() string
	// PerUser and PerWorkspace bound the generations admitted at once
	// (running or waiting); InFlight bounds those talking to Ollama.
	PerUser, PerWorkspace, InFlight int
	// AgentMaxSteps and AgentTimeout bound an agent reply's loop (model
	// calls, and the whole reply); zero takes the defaults.
	AgentMaxSteps int
	AgentTimeout  time.Duration
	Logger        *slog.Logger
}

// Service is the ask use case.
type Service struct {
	cfg   Config
	st    *store.Store
	llm   *llm.Client
	plan  *plan.Service
	log   *slog.Logger
	sched *scheduler
	chats registry

	naming sync.Map       // chat id → a title being written for it
	wg     sync.WaitGroup // replies and titles running in the background
	base   context.Context
	stop   context.CancelFunc
}

// New returns the ask use case.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	base, stop := context.WithCancel(context.Background())
	return &Service{cfg: cfg, st: cfg.Store, llm: cfg.LLM, plan: cfg.Plan, log: cfg.Logger,
		sched: newScheduler(cfg.PerUser, cfg.PerWorkspace, cfg.InFlight), base: base, stop: stop}
}

// historyMessages is how many earlier messages a reply is given at most; the
// prompt is fitted to the model's context from these, newest first.
const historyMessages = 200

// titleTimeout bounds the title call: a title is a nicety, not worth a slot for long.
const titleTimeout = 30 * time.Second

// Running is the reply being written in a chat, or nil.
func (s *Service) Running(chatID string) *Generation { return s.chats.get(chatID) }

// Idle refuses (fault.Conflict) while a reply is being written in the chat:
// one reply at a time per chat. Callers ask before storing a question; Ask
// asks again atomically when it takes the chat.
func (s *Service) Idle(chatID string) error {
	if s.chats.get(chatID) != nil {
		return busy()
	}
	return nil
}

func busy() error {
	return fault.New(fault.Conflict, "a reply is still being written in this chat; stop it or wait for it")
}

// Turn is a question of a chat to answer.
type Turn struct {
	WorkspaceID string
	Viewer      store.Viewer // the asker: retrieval sees what they see
	Chat        *store.Chat
	// Question is stored already; the reply becomes its newest child (a
	// regeneration is a sibling of the earlier replies, which are kept) and
	// the history is the path above it, never another branch.
	Question *store.Message
}

// Completion is a conversation the caller owns (/v1): nothing is stored as
// chat messages, but the model check, scheduler, quota, retrieval, streaming
// and accounting are a chat's.
type Completion struct {
	WorkspaceID      string
	Viewer           store.Viewer
	Request          chat.Request // Model, System, History, Question and sampling
	KnowledgeBaseIDs []string     // checked visible by the caller
}

// run is one generation's inputs, whichever entry point started it.
type run struct {
	wsID     string
	viewer   store.Viewer
	req      chat.Request
	kbIDs    []string
	chatID   string // "" for a completion
	chatName string
	question *store.Message
	reply    *store.Message
	ticket   *ticket
	hold     plan.Hold
	agent    *agentRun // nil: one retrieval before a single model call
}

// Ask starts the reply to a chat's question. It refuses before anything
// changes when a reply is running (fault.Conflict), the model cannot chat
// (fault.Unavailable, fault.Invalid), or the scheduler or the quota refuse
// (fault.RateLimited, fault.Quota); then the new, empty streaming reply is
// stored as the chat's current leaf, and the reply is written
// in the background, whatever happens to the caller.
func (s *Service) Ask(ctx context.Context, t Turn) (*Generation, error) {
	ch := t.Chat
	if err := s.Idle(ch.ID); err != nil {
		return nil, err
	}
	// A refused model answers at once (cached), before the chat is taken:
	// questions posted meanwhile are kept and refused alike, not told "busy".
	model := cmp.Or(ch.Model, s.cfg.DefaultModel())
	info, err := s.model(ctx, model)
	if err != nil {
		return nil, err
	}
	// From here the reply is registered: Stop finds it in every later phase
	// (the history, the queue, the search of the sources, the writing).
	gctx, cancel := context.WithCancel(audit.Carry(s.base, ctx)) // the asker reads the sources (passages.read)
	g := newGeneration(cancel)
	if !s.chats.start(ch.ID, g) {
		cancel()
		return nil, busy()
	}
	refuse := func(err error) (*Generation, error) {
		s.chats.end(ch.ID)
		g.finish(Event{Name: EventError, Err: failureOf(err)}, nil, chat.Result{}, nil)
		cancel()
		return nil, err
	}
	hist, err := s.st.Thread(ctx, t.WorkspaceID, ch.ID, t.Question.ParentID, historyMessages)
	if err != nil {
		return refuse(err)
	}
	r := &run{wsID: t.WorkspaceID, viewer: t.Viewer, kbIDs: ch.KnowledgeBaseIDs, chatID: ch.ID, chatName: ch.Name, question: t.Question,
		req: chat.Request{Model: model, System: ch.SystemPrompt, Question: t.Question.Content,
			Temperature: ch.Temperature, TopP: ch.TopP, MaxTokens: ch.MaxTokens, ContextLength: info.ContextLength}}
	if s.agentMode(ch, info) {
		r.agent = &agentRun{tools: &chatTools{tools: s.cfg.Tools, scope: tools.Scope{WorkspaceID: t.WorkspaceID, Viewer: t.Viewer, KBs: ch.KnowledgeBaseIDs}}}
	}
	for _, m := range hist {
		if m.Role != "system" && m.Content != "" && m.Status != store.MsgFailed {
			r.req.History = append(r.req.History, chat.Turn{Role: m.Role, Content: m.Content})
		}
	}
	if err := s.admit(ctx, r); err != nil {
		return refuse(err)
	}
	fail := func(err error) (*Generation, error) {
		r.ticket.release()
		s.plan.Release(ctx, r.hold)
		return refuse(err)
	}
	if r.reply, err = s.st.AddMessage(ctx, t.WorkspaceID, ch.ID, "assistant", "", t.Question.ID, model, store.MsgStreaming); err != nil {
		return fail(err)
	}
	g.emit(Event{Name: EventUserMessage, Message: t.Question})
	s.wg.Add(1)
	go s.write(gctx, g, r)
	return g, nil
}

// Complete starts a completion (see Completion), refusing as Ask does.
func (s *Service) Complete(ctx context.Context, c Completion) (*Generation, error) {
	info, err := s.model(ctx, c.Request.Model)
	if err != nil {
		return nil, err
	}
	if m := c.Request.MaxTokens; m != nil && info.ContextLength > 0 && *m > info.ContextLength {
		return nil, fault.Field("max_tokens", "max_tokens must be from 1 to %d", info.ContextLength)
	}
	r := &run{wsID: c.WorkspaceID, viewer: c.Viewer, kbIDs: c.KnowledgeBaseIDs, req: c.Request}
	r.req.ContextLength = info.ContextLength
	if r.req.Conversation != nil {
		// The caller owns the conversation: it is answered whole or refused, never cut.
		if need, room, ok := chat.Fits(r.req); !ok {
			return nil, &fault.Error{Kind: fault.Invalid, Field: "messages", Code: "context_length_exceeded",
				Message: fmt.Sprintf("this model's context is %d tokens; the messages and the reply budget need about %d; shorten the conversation or lower max_tokens", room, need)}
		}
		for _, m := range r.req.Conversation {
			if len(m.Images) > 0 && len(info.Capabilities) > 0 && !info.Can("vision") {
				return nil, fault.Field("messages", "the model %q cannot read images; send text only or pick a vision model", c.Request.Model)
			}
		}
		if len(r.req.Tools) > 0 && len(info.Capabilities) > 0 && !info.Can("tools") {
			return nil, fault.Field("tools", "the model %q does not support tools; send no tools or pick a model that does", c.Request.Model)
		}
	}
	if err := s.admit(ctx, r); err != nil {
		return nil, err
	}
	gctx, cancel := context.WithCancel(audit.Carry(s.base, ctx)) // the asker reads the sources (passages.read)
	g := newGeneration(cancel)
	s.wg.Add(1)
	go s.write(gctx, g, r)
	return g, nil
}

// model checks that a model is chosen, installed and able to chat.
func (s *Service) model(ctx context.Context, model string) (*llm.ModelInfo, error) {
	if model == "" {
		return nil, fault.New(fault.Unavailable, "no chat model is chosen: pick one for this chat, or set a default under Administration → Settings")
	}
	info, err := s.llm.Show(ctx, model)
	if err != nil {
		return nil, err
	}
	if len(info.Capabilities) > 0 && !info.Can("completion") {
		return nil, fault.Field("model", "the model %q cannot chat (it is an embedding model); pick a chat model", model)
	}
	return info, nil
}

// admit takes a scheduler place for the user and reserves the reply's
// estimated tokens; nothing is held when it refuses. Sources are retrieved
// later, so a reply with knowledge bases reserves the whole prompt room they
// may fill.
func (s *Service) admit(ctx context.Context, r *run) error {
	tk, err := s.sched.admit(r.viewer.UserID, r.wsID)
	if err != nil {
		return err
	}
	in, out := chat.Estimate(r.req)
	if len(r.kbIDs) > 0 {
		in = chat.PromptRoom(r.req)
	}
	hold, err := s.plan.Reserve(ctx, r.wsID, r.req.Model, in, out)
	if err != nil {
		tk.release()
		return err
	}
	r.ticket, r.hold = tk, hold
	return nil
}

// write waits for a slot, retrieves sources, streams the answer, stores it
// and accounts for it. A chat's slot is given back before the last event, so
// a question sent on seeing it is accepted; the title comes after.
func (s *Service) write(ctx context.Context, g *Generation, r *run) {
	defer s.wg.Done()
	defer g.cancel()
	var res chat.Result
	err := r.ticket.wait(ctx)
	if err == nil && r.agent != nil {
		res, err = s.loop(ctx, g, r)
	} else if err == nil {
		var rerr error
		var warning string
		r.req.Sources, warning, rerr = s.retrieve(ctx, r)
		g.warn(warning)
		if ctx.Err() != nil {
			// Stopped while searching: the model is not asked, nothing is cited.
			err = ctx.Err()
		} else if rerr != nil && r.chatID == "" {
			// A completion's caller asked for grounding: an ungrounded answer would pass for a grounded one.
			err = &fault.Error{Kind: fault.Unavailable, Code: "retrieval_failed", Err: rerr,
				Message: "searching the knowledge bases failed, so no answer was written: " + rerr.Error()}
		}
	}
	if err == nil && r.agent == nil {
		p := chat.Build(r.req)
		g.emit(Event{Name: EventCitations, Sources: p.Sources})
		res, err = chat.Stream(ctx, s.llm, p, func(d string) { g.emit(Event{Name: EventDelta, Delta: d}) })
	}
	r.ticket.release()
	failure := failureOf(err)

	// Bookkeeping outlives a stop: the generation's context is cancelled, not this one.
	bg := context.WithoutCancel(ctx)
	call := plan.Call{WorkspaceID: r.wsID, Kind: store.UsageChat, Model: r.req.Model, UserID: r.viewer.UserID,
		Input: res.InputTokens, Output: res.OutputTokens, Duration: res.Duration}
	if r.chatID == "" {
		s.plan.Settle(bg, r.hold, call)
		last := Event{Name: EventDone}
		if failure != nil {
			last = Event{Name: EventError, Err: failure}
		}
		g.finish(last, nil, res, failure)
		return
	}

	out := store.MessageResult{Content: res.Content, Status: store.MsgComplete, InputTokens: res.InputTokens, OutputTokens: res.OutputTokens}
	out.Citations, _ = json.Marshal(res.Sources)
	out.Steps = r.agent.stepsJSON()
	switch {
	case errors.Is(err, context.Canceled):
		out.Status = store.MsgStopped
	case failure != nil:
		out.Status, out.Error = store.MsgFailed, err.Error()
	}
	if ferr := s.st.FinishMessage(bg, r.wsID, r.reply.ID, out); ferr != nil {
		s.log.Error("store reply", "message_id", r.reply.ID, "err", ferr)
	}
	call.ChatID, call.MessageID = r.chatID, r.reply.ID
	if r.agent == nil || !r.agent.looped { // the loop settles each of its calls
		s.plan.Settle(bg, r.hold, call)
	}
	final, ferr := s.st.GetMessage(bg, r.wsID, r.chatID, r.reply.ID)
	if ferr != nil {
		final = r.reply
	}
	s.chats.end(r.chatID)
	last := Event{Name: EventDone, Message: final}
	if failure != nil {
		last = Event{Name: EventError, Err: failure, MessageID: r.reply.ID}
	}
	g.finish(last, final, res, failure)
	if r.chatName == "" && out.Status == store.MsgComplete {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.title(r)
		}()
	}
}

// failureOf is why a reply failed as the reader is told: the model server
// unavailable (503 model_unavailable) or failing (502 model_failed). A stop
// is no failure.
func failureOf(err error) *fault.Error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	if f, ok := fault.As(err); ok && f.Kind != fault.Failed {
		return f // unavailable, or refused (an Ollama 400: context length, tools)
	}
	return &fault.Error{Kind: fault.Failed, Message: err.Error(), Err: err}
}

// Shutdown waits for running replies and titles to be stored, stopping them
// (partial replies are kept as stopped) when the deadline comes first.
func (s *Service) Shutdown(deadline time.Time) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		s.stop()
		<-done
	}
}

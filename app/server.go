// Package app is Quire's application: the HTTP routes and handlers, the
// authorisation layer, and the services behind them. It knows nothing of SQL;
// everything persistent goes through package store.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/account"
	"quire/app/answer"
	"quire/app/billing"
	"quire/app/config"
	"quire/app/fault"
	"quire/app/feedback"
	"quire/app/jobs"
	"quire/app/knowledge"
	"quire/app/limit"
	"quire/app/llm"
	"quire/app/mail"
	"quire/app/ops"
	"quire/app/plan"
	"quire/store"
)

// Version is set at build time with -ldflags "-X quire/app.Version=...".
var Version = "dev"

// Server is one running Quire instance.
type Server struct {
	cfg    config.Config
	store  *store.Store
	log    *slog.Logger
	mailer *mail.Mailer
	fiber  *fiber.App
	pages  *pages
	secret []byte // instance secret for CSRF tokens

	chatPosts *limit.Limiter // chat messages posted per user per minute (package answer bounds replies)
	v1Calls   *limit.Limiter // /v1 requests per API key per minute (nil: unlimited)

	touched sync.Map // token id → time of the last last_used_at write

	account *account.Service  // signup, login, passwords, API keys and their limiters
	answer  *answer.Service   // asking: chat replies and /v1 completions
	rating  *feedback.Service // thumbs up/down on answers (handlers_branches.go)

	llm       *llm.Client        // the one Ollama client
	runner    *jobs.Runner       // background document processing
	knowledge *knowledge.Service // ingestion, search and retrieval (knowledge_wire.go)

	billing *billing.Service // Stripe billing; nil when billing is off (handlers_billing.go)
	plan    *plan.Service    // plans, quota and the gates on them

	backups *ops.Backups // the backups folder and its schedule (handlers_ops.go)

	stopHousekeeping context.CancelFunc // ends the hourly sweep Start began
	housekeeping     sync.WaitGroup

	mu       sync.RWMutex
	settings Settings
}

// New builds the server over an open store; web is the embedded UI (templates, static).
func New(ctx context.Context, cfg config.Config, st *store.Store, web fs.FS, log *slog.Logger) (*Server, error) {
	s := &Server{
		cfg:       cfg,
		store:     st,
		log:       log,
		mailer:    &mail.Mailer{Store: st, SMTP: cfg.SMTP, Log: log},
		chatPosts: limit.New(cfg.Generation.PostsPerMinute, time.Minute),
	}
	if cfg.V1RequestsPerMinute > 0 {
		s.v1Calls = limit.New(cfg.V1RequestsPerMinute, time.Minute)
	}
	if err := s.loadSettings(ctx); err != nil {
		return nil, err
	}
	if err := s.loadSecret(ctx); err != nil {
		return nil, err
	}
	// Replies that were streaming when a previous process died will never finish.
	if n, err := st.FailStreamingMessages(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("marked interrupted replies as failed", "count", n)
	}
	if n, err := st.ClearReservations(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("released the quota reservations of interrupted model calls", "count", n)
	}
	p, err := loadPages(web)
	if err != nil {
		return nil, err
	}
	s.pages = p
	s.fiber = fiber.New(fiber.Config{
		AppName:               "quire",
		DisableStartupMessage: true,
		// Bodies are streamed, so that none is read before its route and caller
		// are known (bodies.go); without the multipart pre-parse, fasthttp would
		// read a whole upload to memory or disk before any handler. BodyLimit is
		// then only where fasthttp stops buffering and starts streaming.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    cfg.MaxBodyKB << 10,
		ReadTimeout:                  cfg.ReadTimeout.Duration, // slowloris (read_timeout, default 30s); uploads must fit in it
		WriteTimeout:                 0,                        // streamed replies may last minutes
		IdleTimeout:                  120 * time.Second,
		ErrorHandler:                 s.handleError,
		ProxyHeader:                  "",
	})
	s.initBilling()
	s.plan = s.newPlan()
	if err := s.initKnowledge(); err != nil {
		return nil, err
	}
	s.account = account.New(account.Config{Store: st, Mailer: s.mailer, PublicURL: cfg.PublicURL(),
		SessionTTL: cfg.SessionTTL.Duration, RequireVerification: cfg.RequireVerification,
		SignupPolicy:     func() string { return s.currentSettings().SignupPolicy },
		APIAccess:        func(ctx context.Context, ws string) error { return s.plan.APIAccess(ctx, ws) },
		Seats:            func(ctx context.Context, ws string) (int64, error) { return s.plan.Seats(ctx, ws) },
		InvitationTTL:    cfg.InvitationTTL.Duration,
		MaxLoginFailures: cfg.Login.MaxFailures, LoginWindow: cfg.Login.Window.Duration, Logger: log})
	s.answer = answer.New(answer.Config{Store: st, LLM: s.llm, Plan: s.plan, Search: s.knowledge,
		DefaultModel: func() string { return s.currentSettings().DefaultChatModel },
		PerUser:      cfg.Generation.PerUser, PerWorkspace: cfg.Generation.PerWorkspace, InFlight: cfg.Generation.InFlight, Logger: log})
	s.rating = &feedback.Service{Store: st}
	s.startOps(ctx)
	s.register(web)
	return s, nil
}

// Start begins background document processing (serve calls it; most tests
// do not, so their documents stay pending).
func (s *Server) Start(ctx context.Context) error {
	s.knowledge.SweepOrphans(true) // what a crash between a delete and its cleanup left
	s.startHousekeeping(ctx)
	return s.startKnowledge(ctx)
}

// housekeepingEvery is how often expired sessions and keys are deleted. They
// already fail authentication; the sweep only keeps the table from growing
// with every sign-in.
const housekeepingEvery = time.Hour

// startHousekeeping sweeps at once and then every housekeepingEvery until
// Shutdown (or ctx ends).
func (s *Server) startHousekeeping(ctx context.Context) {
	ctx, s.stopHousekeeping = context.WithCancel(ctx)
	s.housekeeping.Add(1)
	go func() {
		defer s.housekeeping.Done()
		tick := time.NewTicker(housekeepingEvery)
		defer tick.Stop()
		for {
			if n, err := s.store.DeleteExpiredTokens(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("deleting expired sessions", "err", err)
			} else if n > 0 {
				s.log.Info("deleted expired sessions", "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// App exposes the Fiber app (tests call its Test method).
func (s *Server) App() *fiber.App { return s.fiber }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.fiber.Listener(ln) }

// Shutdown stops accepting connections, waits for in-flight requests, then for
// replies still being written to be stored (stopping them at the deadline).
func (s *Server) Shutdown(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	err := s.fiber.ShutdownWithTimeout(timeout)
	s.backups.Stop()
	if s.stopHousekeeping != nil {
		s.stopHousekeeping()
		s.housekeeping.Wait()
	}
	s.answer.Shutdown(deadline)
	// Running document tasks stop and go back to the queue; they resume on the next start.
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(5*time.Second))
	defer cancel()
	if rerr := s.runner.Stop(ctx); rerr != nil {
		s.log.Warn("stopping document processing", "err", rerr)
	}
	return err
}

func (s *Server) loadSecret(ctx context.Context) error {
	var secret []byte // raw random bytes (stored base64-encoded as JSON)
	err := s.store.GetSetting(ctx, "instance_secret", &secret)
	if errors.Is(err, store.ErrNotFound) {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		err = s.store.PutSetting(ctx, "instance_secret", secret)
	}
	s.secret = secret
	return err
}

// Settings are what the instance admin changes at run time.
type Settings struct {
	SignupPolicy          string `json:"signup_policy"`
	DefaultChatModel      string `json:"default_chat_model"`
	DefaultEmbeddingModel string `json:"default_embedding_model"`
	OllamaURL             string `json:"ollama_url"`
	AllowPublicChats      bool   `json:"allow_public_chats"`
	AllowPrivateURLs      bool   `json:"allow_private_urls"`
	MaxUploadMB           int    `json:"max_upload_mb"`
	// Limits of the self-hosted plan per month (0 = unlimited).
	TokenLimit        int64  `json:"token_limit"`
	CreditLimitMicros int64  `json:"-"`
	CreditLimit       string `json:"credit_limit"` // decimal, e.g. "25.00"; "" = unlimited
}

// Signup policies.
const (
	SignupOpen       = account.SignupOpen
	SignupInviteOnly = account.SignupInviteOnly
	SignupClosed     = account.SignupClosed
)

func (s *Server) loadSettings(ctx context.Context) error {
	st := Settings{
		SignupPolicy:     SignupOpen,
		OllamaURL:        s.cfg.OllamaURL,
		AllowPublicChats: true,
		MaxUploadMB:      s.cfg.MaxUploadMB,
	}
	if err := s.store.GetSetting(ctx, "instance", &st); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// The config file's Ollama URL wins when it was changed there after the admin set one.
	if st.OllamaURL == "" {
		st.OllamaURL = s.cfg.OllamaURL
	}
	st.MaxUploadMB = min(st.MaxUploadMB, s.cfg.MaxUploadMB)
	st.CreditLimitMicros, _ = config.Micros(st.CreditLimit) // stored as its decimal string
	s.settings = st
	return nil
}

func (s *Server) currentSettings() Settings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.settings
}

// updateSettings applies change to the current settings and stores the result,
// holding the lock from the read to the write so that two concurrent updates of
// different fields both survive. An error from change leaves everything as it was.
func (s *Server) updateSettings(ctx context.Context, change func(*Settings) error) (old, updated Settings, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, updated = s.settings, s.settings
	if err := change(&updated); err != nil {
		return old, old, err
	}
	// The Ollama client follows the stored URL; a URL it refuses is refused
	// before anything is stored.
	if updated.OllamaURL != old.OllamaURL {
		if err := s.llm.SetBaseURL(updated.OllamaURL); err != nil {
			return old, old, fault.Field("ollama_url", "%s", err.Error())
		}
	}
	if err := s.store.PutSetting(ctx, "instance", updated); err != nil {
		return old, old, err
	}
	s.settings = updated
	return old, updated, nil
}

// handleError renders every error in the contract's shape: JSON for the API,
// an HTML page for the UI. Unexpected errors are logged and reported as internal.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	ae := toAPIError(err)
	if ae == nil && store.IsDiskFull(err) {
		s.log.Error("disk full", "method", c.Method(), "path", c.Path(), "err", err)
		ae = errorf(fiber.StatusInsufficientStorage, "insufficient_storage", "the server's disk is full, so nothing was saved; an administrator needs to free space (quire doctor shows how much is left)")
	}
	if ae == nil {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
		ae = errorf(fiber.StatusInternalServerError, "internal", "something went wrong on the server; it has been logged")
	}
	if f, ok := fault.As(err); ok && f.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(f.RetryAfter.Seconds()+0.999)))
	}
	if ae.Status == fiber.StatusTooManyRequests && c.GetRespHeader(fiber.HeaderRetryAfter) == "" {
		c.Set(fiber.HeaderRetryAfter, "60")
	}
	if isV1Path(c.Path()) {
		ae = openAIError(err, ae)
		return c.Status(ae.Status).JSON(fiber.Map{"error": oaErrorBody(ae, err)})
	}
	if isPagePath(c.Path()) {
		forgetBoundKey(c) // also on paths that match no route: the layout would list the key owner's workspaces
		return s.renderError(c, ae)
	}
	return c.Status(ae.Status).JSON(fiber.Map{"error": ae})
}

// isV1Path is the OpenAI-compatible API, whose errors take OpenAI's shape.
func isV1Path(p string) bool { return p == "/v1" || strings.HasPrefix(p, "/v1/") }

// isPagePath tells UI pages from API calls for error rendering: everything a
// program calls (the API, /v1, /mcp, /metrics for Prometheus, static files)
// answers errors in the JSON shape, whatever went wrong.
func isPagePath(p string) bool {
	for _, api := range []string{"/api", "/v1", "/mcp", "/metrics", "/static"} {
		if rest, ok := strings.CutPrefix(p, api); ok && (rest == "" || rest[0] == '/') {
			return false
		}
	}
	return true
}

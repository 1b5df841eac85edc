// Package app assembles Quire: it opens the use cases over the store (accounts,
// answering, knowledge, plans, billing, backups), hands them to the HTTP
// server (package http) and runs what works in the background (document
// processing, backups, housekeeping). Nothing here handles a request.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/account"
	"quire/app/answer"
	"quire/app/audit"
	"quire/app/billing"
	"quire/app/config"
	"quire/app/feedback"
	qhttp "quire/app/http"
	"quire/app/http/deps"
	"quire/app/http/request"
	"quire/app/identity"
	"quire/app/jobs"
	"quire/app/knowledge"
	"quire/app/limit"
	"quire/app/llm"
	"quire/app/mail"
	"quire/app/ops"
	"quire/app/plan"
	"quire/app/replica"
	"quire/app/settings"
	"quire/app/tools"
	"quire/store"
)

// Version is set at build time with -ldflags "-X quire/app.Version=...".
var Version = "dev"

// Server is one running Quire instance.
type Server struct {
	cfg    config.Config
	store  *store.Store
	log    *slog.Logger
	secret []byte // instance secret for CSRF tokens

	settings  *settings.Service
	mailer    *mail.Mailer
	chatPosts *limit.Limiter // chat messages posted per user per minute (package answer bounds replies)

	account   *account.Service   // signup, login, passwords, API keys and their limiters
	answer    *answer.Service    // asking: chat replies and /v1 completions
	rating    *feedback.Service  // thumbs up/down on answers
	llm       *llm.Client        // the one Ollama client
	runner    *jobs.Runner       // background document processing
	knowledge *knowledge.Service // ingestion, search and retrieval (wire_knowledge.go)
	billing   *billing.Service   // Stripe billing; nil when billing is off (wire.go)
	plan      *plan.Service      // plans, quota and the gates on them
	backups   *ops.Backups       // the backups folder and its schedule
	audit     *audit.Log         // the audit log's writer (app/audit)
	identity  *identity.Service  // single sign-on, the directory, group rules (wire_identity.go)

	replica *replica.Replicator // continuous replication; nil when off (wire_replica.go)

	http *qhttp.Server

	stopHousekeeping context.CancelFunc // ends the hourly sweep Start began
	stopHealthChecks func()             // ends the Ollama hosts' health checks Start began
	housekeeping     sync.WaitGroup
}

// New builds the instance over an open store; web is the embedded UI (templates, static).
func New(ctx context.Context, cfg config.Config, st *store.Store, web fs.FS, log *slog.Logger) (*Server, error) {
	s := &Server{
		cfg:       cfg,
		store:     st,
		log:       log,
		mailer:    &mail.Mailer{Store: st, SMTP: cfg.SMTP, Log: log},
		chatPosts: limit.New(cfg.Generation.PostsPerMinute, time.Minute),
		audit:     audit.New(st, log, 0),
	}
	st.SetVectorIndex(store.VectorIndexOptions{MaxBytes: int64(cfg.VectorIndexMB) << 20, Idle: cfg.VectorIndexIdle.Duration})
	var err error
	sc := settings.FromConfig(st, &cfg)
	// The model client follows the URL in effect; it exists once initKnowledge ran.
	sc.SetOllamaURL = func(u string) error { return s.llm.SetBaseURL(u) }
	sc.SetOllamaHosts = s.setExtraHosts
	if s.settings, err = settings.Load(ctx, sc); err != nil {
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
	s.initBilling()
	s.plan = s.newPlan()
	if err := s.initKnowledge(); err != nil {
		return nil, err
	}
	if err := s.initOllamaHosts(ctx); err != nil {
		return nil, err
	}
	s.account = account.New(account.Config{Store: st, Mailer: s.mailer, PublicURL: cfg.PublicURL(),
		SessionTTL: cfg.SessionTTL.Duration, RequireVerification: cfg.RequireVerification,
		SignupPolicy:     func() string { return s.currentSettings().SignupPolicy },
		APIAccess:        func(ctx context.Context, ws string) error { return s.plan.APIAccess(ctx, ws) },
		Seats:            func(ctx context.Context, ws string) (int64, error) { return s.plan.Seats(ctx, ws) },
		InvitationTTL:    cfg.InvitationTTL.Duration,
		MaxLoginFailures: cfg.Login.MaxFailures, LoginWindow: cfg.Login.Window.Duration, Logger: log, Audit: s.audit,
		PasswordLoginOff: func() bool { return s.currentSettings().PasswordLoginDisabled }})
	if err := s.initIdentity(); err != nil {
		return nil, err
	}
	s.answer = answer.New(answer.Config{Store: st, LLM: s.llm, Plan: s.plan, Search: s.knowledge, Tools: tools.New(s.knowledge, st),
		DefaultModel: func() string { return s.currentSettings().DefaultChatModel },
		PerUser:      cfg.Generation.PerUser, PerWorkspace: cfg.Generation.PerWorkspace, InFlight: cfg.Generation.InFlight, Logger: log,
		AgentMaxSteps: cfg.Generation.AgentMaxSteps, AgentTimeout: cfg.Generation.AgentTimeout.Duration})
	s.rating = &feedback.Service{Store: st}
	s.startOps(ctx)
	if s.replica, err = s.newReplica(); err != nil {
		return nil, err
	}
	if s.http, err = qhttp.New(s.deps(), web); err != nil {
		return nil, err
	}
	return s, nil
}

// deps are the use cases as the HTTP handlers see them.
func (s *Server) deps() *deps.Deps {
	return &deps.Deps{
		Version: Version, Config: s.cfg, Store: s.store, Log: s.log, Secret: s.secret, Settings: s.settings,
		Bodies: &request.Bodies{MaxBodyKB: s.cfg.MaxBodyKB, MaxUploadMB: func() int { return s.currentSettings().MaxUploadMB }},
		Mailer: s.mailer, Account: s.account, Answer: s.answer, Rating: s.rating, Knowledge: s.knowledge, Plan: s.plan, Billing: s.billing,
		LLM: s.llm, Runner: s.runner, Backups: s.backups, ChatPosts: s.chatPosts, Audit: s.audit,
		Identity: s.identity,
		Replica:  s.replica,
	}
}

// SetupToken issues this start's one-time setup token while the instance has
// no administrator ("" once it has one); serve prints the link with it.
func (s *Server) SetupToken(ctx context.Context) (string, error) {
	return s.account.NewSetupToken(ctx)
}

func (s *Server) currentSettings() settings.Settings { return s.settings.Get() }

// Start begins background document processing (serve calls it; most tests
// do not, so their documents stay pending).
func (s *Server) Start(ctx context.Context) error {
	s.knowledge.SweepOrphans(true) // what a crash between a delete and its cleanup left
	s.startHousekeeping(ctx)
	s.stopHealthChecks = s.llm.StartHealthChecks(ctx)
	s.startIdentity(ctx)
	if s.replica != nil {
		s.replica.Start(ctx)
	}
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
			s.pruneAudit(ctx) // wire_audit.go
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// App exposes the Fiber app (tests call its Test method).
func (s *Server) App() *fiber.App { return s.http.App() }

// Routes is the route table (the tenancy test walks it).
func (s *Server) Routes() []qhttp.Route { return s.http.Routes() }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// Shutdown stops accepting connections, waits for in-flight requests, then for
// replies still being written to be stored (stopping them at the deadline).
func (s *Server) Shutdown(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	err := s.http.Shutdown(timeout)
	s.backups.Stop()
	if s.stopHealthChecks != nil {
		s.stopHealthChecks()
	}
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
	// Last, with its own time: everything above may still record.
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	if aerr := s.audit.Close(actx); aerr != nil {
		s.log.Error("audit events still queued at shutdown were lost", "err", aerr)
	}
	s.closeReplica(deadline.Add(5 * time.Second))
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

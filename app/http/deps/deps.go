// Package deps is what the HTTP handlers work with: the use cases and the
// store, built once by package app and shared by the JSON API, the pages and
// the OpenAI-compatible API.
package deps

import (
	"log/slog"

	"quire/app/account"
	"quire/app/answer"
	"quire/app/audit"
	"quire/app/billing"
	"quire/app/config"
	"quire/app/feedback"
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
	"quire/store"
)

// Deps are the handlers' dependencies.
type Deps struct {
	Version   string // the build (set by package app)
	Config    config.Config
	Store     *store.Store // reads for views; every write goes through a use case or a store rule
	Log       *slog.Logger
	Secret    []byte // the instance secret (CSRF tokens)
	Settings  *settings.Service
	Bodies    *request.Bodies
	Mailer    *mail.Mailer
	Account   *account.Service    // signup, login, passwords, API keys, invitations, members
	Answer    *answer.Service     // asking: chat replies and /v1 completions
	Rating    *feedback.Service   // thumbs up/down on answers
	Knowledge *knowledge.Service  // documents, knowledge bases, search
	Plan      *plan.Service       // plans, quota and the gates on them
	Billing   *billing.Service    // Stripe; nil when billing is off
	LLM       *llm.Client         // the one Ollama client (models, pulls, health)
	Runner    *jobs.Runner        // background document processing (admin jobs, reindex)
	Backups   *ops.Backups        // the backups folder and its schedule
	ChatPosts *limit.Limiter      // chat messages posted per user per minute
	Audit     *audit.Log          // the audit log (app/audit); the route table's Audit entries record through it
	Identity  *identity.Service   // single sign-on, the directory and group rules
	Replica   *replica.Replicator // continuous replication (its /metrics gauges); nil when off
}

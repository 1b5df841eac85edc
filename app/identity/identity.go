// Package identity signs people in through their organisation's identity
// providers — OpenID Connect single sign-on (oidc.go) and an LDAP directory —
// and applies each workspace's group rules (groups.go) at every such sign-in.
// Accounts and sessions stay package account's: this package establishes who
// the provider vouches for and hands that to account.ExternalLogin.
package identity

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"quire/app/account"
	"quire/app/config"
	"quire/store"
)

// Config is what a Service needs.
type Config struct {
	Store   *store.Store
	Account *account.Service
	OIDC    []config.OIDC
	LDAP    config.LDAP
	// PublicURL is the instance's base URL: redirect URLs are built on it and
	// must be registered at the provider exactly so.
	PublicURL string
	// HTTPClient talks to the providers; nil is a client with a 15 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Service is sign-in through identity providers.
type Service struct {
	st        *store.Store
	account   *account.Service
	log       *slog.Logger
	client    *http.Client
	publicURL string

	oidc    map[string]*oidcProvider
	order   []string // the providers in configuration order, for the login page
	pending *pendingLogins
	dir     *directory // nil without [ldap]
}

// New returns the service for the configured providers.
func New(cfg Config) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	s := &Service{st: cfg.Store, account: cfg.Account, log: cfg.Logger, client: cfg.HTTPClient,
		publicURL: cfg.PublicURL, oidc: map[string]*oidcProvider{}, pending: newPendingLogins(maxPending, pendingTTL)}
	for _, o := range cfg.OIDC {
		o = o.WithDefaults()
		s.oidc[o.Name] = &oidcProvider{cfg: o}
		s.order = append(s.order, o.Name)
	}
	if cfg.LDAP.Enabled() {
		d, err := newDirectory(cfg.LDAP)
		if err != nil {
			return nil, err
		}
		s.dir = d
	}
	return s, nil
}

// Provider is a sign-in button: the provider's name (in its URL) and label.
type Provider struct {
	Name, Label string
}

// Providers lists the OIDC providers in configuration order.
func (s *Service) Providers() []Provider {
	out := make([]Provider, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, Provider{Name: n, Label: s.oidc[n].cfg.Label})
	}
	return out
}

// signIn hands a person the provider vouched for to package account, then
// brings their managed memberships in line with their groups.
func (s *Service) signIn(ctx context.Context, ext account.External, groups []string) (*Result, error) {
	u, sess, pending, err := s.account.ExternalLogin(ctx, ext)
	if err != nil {
		return nil, err
	}
	if !pending {
		if err := s.ApplyGroups(ctx, u.ID, groups); err != nil {
			return nil, err
		}
	}
	return &Result{User: u, Session: sess, Pending: pending}, nil
}

// Result is a finished sign-in: a session, or an account waiting for approval.
type Result struct {
	User    *store.User
	Session account.Session
	Pending bool
	Next    string // where the person was going (not yet checked: the HTTP layer's SafeNext decides)
}

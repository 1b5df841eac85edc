// Package settings holds what the instance administrator changes at run time
// (signup policy, default models, the Ollama URL, upload and plan limits): the
// defaults, loading them from the database, which source wins when the
// configuration sets the same thing, and changing them under one lock.
//
// Explicit configuration (a flag, an environment variable or the config file)
// wins over a stored setting: whoever starts Quire with --ollama-url means
// that server, whatever an admin saved earlier. Such a setting is locked: it
// is shown with its source and refused when changed.
package settings

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode"

	"quire/app/account"
	"quire/app/config"
	"quire/app/fault"
	"quire/store"
)

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
	// PasswordLoginDisabled leaves password sign-in to instance admins, so
	// that everyone else comes through single sign-on or the directory.
	PasswordLoginDisabled bool `json:"password_login_disabled"`
}

// key is the row of the settings table that holds them.
const key = "instance"

// Config is what the settings are loaded with.
type Config struct {
	Store *store.Store
	// OllamaURL is the configured URL; OllamaURLSource is where it was set
	// (config.Config.Source), "" for the default, which a stored URL replaces.
	OllamaURL       string
	OllamaURLSource string
	MaxUploadMB     int // the configured cap; the admin may only lower it
	// SetOllamaURL points the model client at a new URL before that URL is
	// stored; its error refuses the change. Nil for readers such as doctor.
	SetOllamaURL func(string) error
	// PoolSource is where the configuration sets a pool of Ollama hosts ("":
	// nowhere); SetOllamaHosts applies the hosts the admin adds beside the
	// Ollama URL (hosts.go).
	PoolSource     string
	SetOllamaHosts func([]config.OllamaHost) error
}

// FromConfig takes the parts of the configuration that settings depend on.
func FromConfig(st *store.Store, cfg *config.Config) Config {
	c := Config{Store: st, OllamaURL: cfg.OllamaURL, OllamaURLSource: cfg.Source("ollama_url"), MaxUploadMB: cfg.MaxUploadMB}
	if len(cfg.OllamaHosts()) > 0 {
		c.PoolSource = cfg.Source("ollama_url") // usePool set it from where the pool is
		if c.PoolSource == "" {
			c.PoolSource = "config file"
		}
	}
	return c
}

// Service is the current settings of one instance.
type Service struct {
	cfg Config
	// mu is held from reading the settings to storing the change, so two
	// concurrent updates of different fields both survive.
	mu     sync.RWMutex
	stored Settings // as in the database
	cur    Settings // stored, with explicit configuration applied
}

// Load reads the stored settings (defaults when there are none yet).
func Load(ctx context.Context, cfg Config) (*Service, error) {
	stored := Settings{
		SignupPolicy:     account.SignupOpen,
		OllamaURL:        cfg.OllamaURL,
		AllowPublicChats: true,
		MaxUploadMB:      cfg.MaxUploadMB,
	}
	if err := cfg.Store.GetSetting(ctx, key, &stored); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	s := &Service{cfg: cfg, stored: stored}
	s.cur = s.effective(stored)
	return s, nil
}

// effective is what the instance runs with for these stored settings.
func (s *Service) effective(st Settings) Settings {
	if s.cfg.OllamaURLSource != "" || st.OllamaURL == "" {
		st.OllamaURL = s.cfg.OllamaURL
	}
	st.MaxUploadMB = min(st.MaxUploadMB, s.cfg.MaxUploadMB)
	st.CreditLimitMicros, _ = config.Micros(st.CreditLimit) // stored as its decimal string
	return st
}

// Get returns the settings in effect.
func (s *Service) Get() Settings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur
}

// Locked names the settings that the configuration fixes (by their JSON
// name) with where each is set, e.g. {"ollama_url": "--ollama-url"}.
func (s *Service) Locked() map[string]string {
	out := map[string]string{}
	if src := s.cfg.OllamaURLSource; src != "" {
		out["ollama_url"] = src
	}
	return out
}

// SourceText is a source as a person reads it: "set by --ollama-url",
// "set by QUIRE_OLLAMA_URL", "set in the config file".
func SourceText(source string) string {
	if source == "config file" {
		return "set in the config file"
	}
	return "set by " + source
}

// Update applies change to the settings in effect and stores the result. An
// error from change, or a change to a locked setting, leaves everything as it was.
func (s *Service) Update(ctx context.Context, change func(*Settings) error) (old, updated Settings, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, updated = s.cur, s.cur
	if err := change(&updated); err != nil {
		return old, old, err
	}
	toStore := updated
	if src := s.cfg.OllamaURLSource; src != "" {
		if updated.OllamaURL != old.OllamaURL {
			return old, old, fault.Field("ollama_url", "The Ollama URL is %s, which wins over this setting: change it there and restart Quire.", SourceText(src))
		}
		// The admin's own URL stays stored for when the configuration stops setting one.
		toStore.OllamaURL = s.stored.OllamaURL
	}
	if updated.OllamaURL != old.OllamaURL && s.cfg.SetOllamaURL != nil {
		if err := s.cfg.SetOllamaURL(updated.OllamaURL); err != nil {
			return old, old, fault.Field("ollama_url", "%s", err.Error())
		}
	}
	if err := s.cfg.Store.PutSetting(ctx, key, toStore); err != nil {
		return old, old, err
	}
	s.stored, s.cur = toStore, s.effective(toStore)
	return old, s.cur, nil
}

// Patch is a change from the admin: nil fields stay as they are.
type Patch struct {
	SignupPolicy          *string `json:"signup_policy"`
	DefaultChatModel      *string `json:"default_chat_model"`
	DefaultEmbeddingModel *string `json:"default_embedding_model"`
	OllamaURL             *string `json:"ollama_url"`
	AllowPublicChats      *bool   `json:"allow_public_chats"`
	AllowPrivateURLs      *bool   `json:"allow_private_urls"`
	MaxUploadMB           *int    `json:"max_upload_mb"`
	TokenLimit            *int64  `json:"token_limit"`
	CreditLimit           *string `json:"credit_limit"`
	PasswordLoginDisabled *bool   `json:"password_login_disabled"`
}

// Limits on what an admin types, so that a setting stays something the pages
// can show and the model server can be asked about.
const (
	maxURLLen   = 2000
	maxModelLen = 200
)

// Apply validates p and applies it in one update.
func (s *Service) Apply(ctx context.Context, p Patch) (old, updated Settings, err error) {
	return s.Update(ctx, func(st *Settings) error {
		if v := p.SignupPolicy; v != nil {
			if !slices.Contains(account.SignupPolicies, *v) {
				return fault.Field("signup_policy", "Choose who can sign up: \"open\", \"approval\", \"invite_only\" or \"closed\".")
			}
			st.SignupPolicy = *v
		}
		if v := p.OllamaURL; v != nil {
			u := strings.TrimSpace(*v)
			if p, err := url.Parse(u); len(u) > maxURLLen || err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				return fault.Field("ollama_url", "The Ollama URL must be an http(s) address such as http://127.0.0.1:11434.")
			}
			st.OllamaURL = u
		}
		if v := p.MaxUploadMB; v != nil {
			if *v < 1 || *v > s.cfg.MaxUploadMB {
				return fault.Field("max_upload_mb", "The largest upload must be from 1 to %d MB (the cap in the server's configuration).", s.cfg.MaxUploadMB)
			}
			st.MaxUploadMB = *v
		}
		if v := p.TokenLimit; v != nil {
			if *v < 0 {
				return fault.Field("token_limit", "The token limit must be 0 (unlimited) or more.")
			}
			st.TokenLimit = *v
		}
		if v := p.CreditLimit; v != nil {
			m, err := config.Micros(*v)
			if err != nil {
				return fault.Field("credit_limit", "The credit limit must be an amount like 25.00, or empty for unlimited.")
			}
			st.CreditLimit = ""
			if m > 0 {
				st.CreditLimit = config.FormatMicros(m)
			}
		}
		for _, m := range []struct {
			dst   *string
			v     *string
			field string
		}{{&st.DefaultChatModel, p.DefaultChatModel, "default_chat_model"}, {&st.DefaultEmbeddingModel, p.DefaultEmbeddingModel, "default_embedding_model"}} {
			if m.v == nil {
				continue
			}
			name := strings.TrimSpace(*m.v)
			if len(name) > maxModelLen || strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
				return fault.Field(m.field, "A model name is one word of at most %d characters, such as llama3.2 or nomic-embed-text.", maxModelLen)
			}
			*m.dst = name
		}
		for dst, v := range map[*bool]*bool{&st.AllowPublicChats: p.AllowPublicChats, &st.AllowPrivateURLs: p.AllowPrivateURLs, &st.PasswordLoginDisabled: p.PasswordLoginDisabled} {
			if v != nil {
				*dst = *v
			}
		}
		return nil
	})
}

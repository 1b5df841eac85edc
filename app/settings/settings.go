// Package settings holds what the instance administrator changes at run time
// (signup policy, default models, the Ollama URL, limits), stored in the
// database and read on every request from memory.
package settings

import (
	"context"
	"errors"
	"sync"

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
}

// Signup policies.
const (
	SignupOpen       = account.SignupOpen
	SignupInviteOnly = account.SignupInviteOnly
	SignupClosed     = account.SignupClosed
)

// key is the settings row in the store.
const key = "instance"

// Store is the current settings, kept in memory and written through to the
// database.
type Store struct {
	st *store.Store
	// setOllamaURL points the Ollama client at a new URL; a URL it refuses is
	// refused before anything is stored.
	setOllamaURL func(string) error

	mu  sync.RWMutex
	cur Settings
}

// Load reads the stored settings over the defaults the configuration gives.
func Load(ctx context.Context, st *store.Store, cfg config.Config, setOllamaURL func(string) error) (*Store, error) {
	cur := Settings{
		SignupPolicy:     SignupOpen,
		OllamaURL:        cfg.OllamaURL,
		AllowPublicChats: true,
		MaxUploadMB:      cfg.MaxUploadMB,
	}
	if err := st.GetSetting(ctx, key, &cur); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	// The config file's Ollama URL wins when it was changed there after the admin set one.
	if cur.OllamaURL == "" {
		cur.OllamaURL = cfg.OllamaURL
	}
	cur.MaxUploadMB = min(cur.MaxUploadMB, cfg.MaxUploadMB)
	cur.CreditLimitMicros, _ = config.Micros(cur.CreditLimit) // stored as its decimal string
	return &Store{st: st, setOllamaURL: setOllamaURL, cur: cur}, nil
}

// Current is a copy of the settings in force.
func (s *Store) Current() Settings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur
}

// Update applies change to the current settings and stores the result,
// holding the lock from the read to the write so that two concurrent updates of
// different fields both survive. An error from change leaves everything as it was.
func (s *Store) Update(ctx context.Context, change func(*Settings) error) (old, updated Settings, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, updated = s.cur, s.cur
	if err := change(&updated); err != nil {
		return old, old, err
	}
	if updated.OllamaURL != old.OllamaURL && s.setOllamaURL != nil {
		if err := s.setOllamaURL(updated.OllamaURL); err != nil {
			return old, old, fault.Field("ollama_url", "%s", err.Error())
		}
	}
	if err := s.st.PutSetting(ctx, key, updated); err != nil {
		return old, old, err
	}
	s.cur = updated
	return old, updated, nil
}

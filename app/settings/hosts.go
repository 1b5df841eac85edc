package settings

import (
	"context"
	"errors"
	"strings"

	"quire/app/config"
	"quire/app/fault"
	"quire/store"
)

// hostsKey is the settings row of the Ollama hosts the admin added to the
// pool beside the primary one (the Ollama URL setting).
const hostsKey = "ollama_hosts"

// StoredOllamaHosts are the hosts the admin added (none when never set).
func StoredOllamaHosts(ctx context.Context, st *store.Store) ([]config.OllamaHost, error) {
	var hosts []config.OllamaHost
	if err := st.GetSetting(ctx, hostsKey, &hosts); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return hosts, nil
}

// PoolLocked is where the configuration sets the whole pool of Ollama hosts
// ("" when it does not, and the admin edits it).
func (s *Service) PoolLocked() string { return s.cfg.PoolSource }

// EditOllamaHosts changes the hosts the admin added: change gets the stored
// list and returns the new one, which is applied (SetOllamaHosts, whose error
// refuses it) and then stored, under the settings lock, so that concurrent
// edits and a change of the Ollama URL never interleave.
func (s *Service) EditOllamaHosts(ctx context.Context, change func([]config.OllamaHost) ([]config.OllamaHost, error)) error {
	if src := s.cfg.PoolSource; src != "" {
		return &fault.Error{Kind: fault.Conflict, Field: "url", Code: "pool_locked",
			Message: "The Ollama hosts are " + SourceText(src) + ", which wins over this page: change them there and restart Quire."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hosts, err := StoredOllamaHosts(ctx, s.cfg.Store)
	if err != nil {
		return err
	}
	next, err := change(hosts)
	if err != nil {
		return err
	}
	for i := range next {
		next[i].URL = strings.TrimRight(strings.TrimSpace(next[i].URL), "/")
	}
	if s.cfg.SetOllamaHosts != nil {
		if err := s.cfg.SetOllamaHosts(next); err != nil {
			return err
		}
	}
	return s.cfg.Store.PutSetting(ctx, hostsKey, next)
}

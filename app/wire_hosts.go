package app

import (
	"context"

	"quire/app/config"
	"quire/app/llm"
	"quire/app/settings"
)

// initOllamaHosts gives the model client its pool: the configured one, or
// the Ollama URL in effect plus the hosts the admin added. Hosts that are
// unreachable do not stop the start: the health checks mark them down.
func (s *Server) initOllamaHosts(ctx context.Context) error {
	if hosts := s.cfg.OllamaHosts(); len(hosts) > 0 {
		return s.llm.SetHosts(hostConfigs(hosts))
	}
	extra, err := settings.StoredOllamaHosts(ctx, s.store)
	if err != nil {
		return err
	}
	if err := s.setExtraHosts(extra); err != nil {
		// Stored hosts were valid when added; one can clash with an Ollama
		// URL configured since. The instance starts with its URL alone.
		s.log.Warn("the Ollama hosts added in Administration → Models are not used", "err", err)
	}
	return nil
}

// setExtraHosts makes the pool the primary host and extra.
func (s *Server) setExtraHosts(extra []config.OllamaHost) error {
	return s.llm.SetHosts(append([]llm.HostConfig{{URL: s.llm.BaseURL()}}, hostConfigs(extra)...))
}

func hostConfigs(hosts []config.OllamaHost) []llm.HostConfig {
	out := make([]llm.HostConfig, len(hosts))
	for i, h := range hosts {
		out[i] = llm.HostConfig{URL: h.URL, Weight: h.Weight, Label: h.Label}
	}
	return out
}

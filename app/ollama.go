package app

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"quire/app/chat"
)

// ollamaHTTP has no overall timeout (replies stream for minutes) but gives up
// quickly on a server that does not answer at all.
var ollamaHTTP = &http.Client{Transport: &http.Transport{
	DialContext:           (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
	ResponseHeaderTimeout: 5 * time.Minute, // a cold model load can take a while
	MaxIdleConnsPerHost:   16,
}}

// ollama is a client for the Ollama URL currently set by the admin.
func (s *Server) ollama() *api.Client {
	u, err := url.Parse(strings.TrimRight(s.currentSettings().OllamaURL, "/"))
	if err != nil {
		u, _ = url.Parse(s.cfg.OllamaURL)
	}
	return api.NewClient(u, ollamaHTTP)
}

// modelInfo is what Quire needs to know of a model.
type modelInfo struct {
	ContextLength int
	EmbeddingDim  int
	Capabilities  []string
	fetched       time.Time
}

type modelCache struct {
	mu sync.Mutex
	m  map[string]modelInfo
}

// showModel asks Ollama about a model (cached for a minute): it proves the model
// is installed and gives its context length, so prompts are fitted, not truncated.
func (s *Server) showModel(ctx context.Context, model string) (modelInfo, error) {
	key := s.currentSettings().OllamaURL + "|" + model
	s.models.mu.Lock()
	if mi, ok := s.models.m[key]; ok && time.Since(mi.fetched) < time.Minute {
		s.models.mu.Unlock()
		return mi, nil
	}
	s.models.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := s.ollama().Show(ctx, &api.ShowRequest{Model: model})
	if err != nil {
		return modelInfo{}, chat.Classify(err, model)
	}
	mi := modelInfo{fetched: time.Now()}
	for _, c := range resp.Capabilities {
		mi.Capabilities = append(mi.Capabilities, string(c))
	}
	for k, v := range resp.ModelInfo {
		f, ok := v.(float64)
		if !ok {
			continue
		}
		switch {
		case strings.HasSuffix(k, ".context_length"):
			mi.ContextLength = int(f)
		case strings.HasSuffix(k, ".embedding_length"):
			mi.EmbeddingDim = int(f)
		}
	}
	s.models.mu.Lock()
	if s.models.m == nil {
		s.models.m = map[string]modelInfo{}
	}
	s.models.m[key] = mi
	s.models.mu.Unlock()
	return mi, nil
}

func (mi modelInfo) can(capability string) bool {
	for _, c := range mi.Capabilities {
		if c == capability {
			return true
		}
	}
	return false
}

func modelUnavailable(err error) *apiError {
	return errorf(http.StatusServiceUnavailable, "model_unavailable", "%s", strings.TrimPrefix(err.Error(), chat.ErrUnavailable.Error()+": "))
}

func noModel() *apiError {
	return errorf(http.StatusServiceUnavailable, "model_unavailable", "%s", "no chat model is chosen: pick one for this chat, or set a default under Administration → Settings")
}

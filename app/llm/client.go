// Package llm is Quire's client of the Ollama server: a thin layer over
// github.com/ollama/ollama/api that adds batching, per-call timeouts and
// errors a person can act on. Every failure that means "the model server
// cannot serve this model right now" (connection refused, no answer in time,
// model not installed, server error) matches ErrUnavailable, which the HTTP
// layer answers with 503 model_unavailable and the job runner treats as a
// reason to wait rather than fail.
package llm

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"
)

// Defaults of Options.
const (
	DefaultEmbedBatch   = 32
	DefaultEmbedTimeout = 2 * time.Minute
	DefaultShowTimeout  = 10 * time.Second
)

// Options tune a Client; zero fields take the defaults.
type Options struct {
	// EmbedBatch is the most inputs sent in one /api/embed call. Ollama
	// embeds a batch's inputs one after the other, so bigger batches only
	// save round trips, and smaller ones keep each call well inside its timeout.
	EmbedBatch int
	// EmbedTimeout bounds one /api/embed call (a cold model load included).
	EmbedTimeout time.Duration
	// ShowTimeout bounds /api/show and heartbeats.
	ShowTimeout time.Duration
	// HTTPClient overrides the transport (tests).
	HTTPClient *http.Client
}

// Client talks to one Ollama server; its URL can change at run time (the
// admin edits it) and the client is safe for concurrent use.
type Client struct {
	opts Options
	http *http.Client

	mu   sync.RWMutex
	base *url.URL
	api  *api.Client
}

// defaultHTTP has no overall timeout (chat replies stream for minutes; calls
// carry their own deadlines) but gives up fast on a server that is not there.
func defaultHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
		ResponseHeaderTimeout: 5 * time.Minute, // a cold model load can take a while
		MaxIdleConnsPerHost:   16,
	}}
}

// New returns a client of the Ollama server at baseURL (e.g. http://127.0.0.1:11434).
func New(baseURL string, opts Options) (*Client, error) {
	opts.EmbedBatch = cmp.Or(opts.EmbedBatch, DefaultEmbedBatch)
	opts.EmbedTimeout = cmp.Or(opts.EmbedTimeout, DefaultEmbedTimeout)
	opts.ShowTimeout = cmp.Or(opts.ShowTimeout, DefaultShowTimeout)
	c := &Client{opts: opts, http: opts.HTTPClient}
	if c.http == nil {
		c.http = defaultHTTP()
	}
	if err := c.SetBaseURL(baseURL); err != nil {
		return nil, err
	}
	return c, nil
}

// SetBaseURL points the client at another server.
func (c *Client) SetBaseURL(baseURL string) error {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(baseURL), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the Ollama URL %q is not an http(s) URL like http://127.0.0.1:11434", baseURL)
	}
	c.mu.Lock()
	c.base, c.api = u, api.NewClient(u, c.http)
	c.mu.Unlock()
	return nil
}

// BaseURL is the server the client talks to.
func (c *Client) BaseURL() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.base.String()
}

// API returns the official client for the current URL, for calls this
// package does not wrap yet (chat streaming). Classify its errors with Classify.
func (c *Client) API() *api.Client {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.api
}

// Heartbeat checks that the server answers.
func (c *Client) Heartbeat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShowTimeout)
	defer cancel()
	return c.classify(ctx, c.API().Heartbeat(ctx), "")
}

// ModelInfo is what Quire needs to know about a model.
type ModelInfo struct {
	Name   string
	Family string
	// EmbeddingLength is the model's vector dimension (<arch>.embedding_length).
	EmbeddingLength int
	// ContextLength is how many tokens one input may have: the model's
	// <arch>.context_length, lowered to its num_ctx parameter when one is set
	// (the runner truncates to num_ctx, not to what the model was trained on).
	ContextLength int
	Capabilities  []string // "completion", "embedding", "vision", ...
}

// Can reports a capability ("embedding", "completion").
func (m ModelInfo) Can(capability string) bool {
	for _, c := range m.Capabilities {
		if c == capability {
			return true
		}
	}
	return false
}

// Show asks the server about a model.
func (c *Client) Show(ctx context.Context, model string) (*ModelInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShowTimeout)
	defer cancel()
	resp, err := c.API().Show(ctx, &api.ShowRequest{Model: model})
	if err != nil {
		return nil, c.classify(ctx, err, model)
	}
	mi := &ModelInfo{Name: model, Family: resp.Details.Family}
	for _, cp := range resp.Capabilities {
		mi.Capabilities = append(mi.Capabilities, string(cp))
	}
	for k, v := range resp.ModelInfo {
		f, ok := v.(float64) // JSON numbers
		if !ok {
			continue
		}
		switch {
		case strings.HasSuffix(k, ".embedding_length"):
			mi.EmbeddingLength = int(f)
		case strings.HasSuffix(k, ".context_length"):
			mi.ContextLength = int(f)
		}
	}
	if n := numCtx(resp.Parameters); n > 0 && (mi.ContextLength == 0 || n < mi.ContextLength) {
		mi.ContextLength = n
	}
	return mi, nil
}

// numCtx reads num_ctx from Show's parameters text ("num_ctx    512\n...").
func numCtx(params string) int {
	for line := range strings.SplitSeq(params, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "num_ctx" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// Embed returns one L2-normalised vector per input, in order, and the number
// of tokens the server processed. Inputs go in batches of Options.EmbedBatch,
// each call under its own timeout; inputs longer than the model's context
// are truncated by the server rather than refused.
func (c *Client) Embed(ctx context.Context, model string, inputs []string) ([][]float32, int, error) {
	out := make([][]float32, 0, len(inputs))
	tokens := 0
	for start := 0; start < len(inputs); start += c.opts.EmbedBatch {
		batch := inputs[start:min(start+c.opts.EmbedBatch, len(inputs))]
		vecs, n, err := c.embedBatch(ctx, model, batch)
		if err != nil {
			return nil, tokens, err
		}
		out = append(out, vecs...)
		tokens += n
	}
	return out, tokens, nil
}

func (c *Client) embedBatch(ctx context.Context, model string, batch []string) ([][]float32, int, error) {
	callCtx, cancel := context.WithTimeout(ctx, c.opts.EmbedTimeout)
	defer cancel()
	resp, err := c.API().Embed(callCtx, &api.EmbedRequest{Model: model, Input: batch})
	if err != nil {
		return nil, 0, c.classify(ctx, err, model)
	}
	if len(resp.Embeddings) != len(batch) {
		return nil, 0, &UnavailableError{URL: c.BaseURL(), Model: model,
			Reason: fmt.Sprintf("the model server returned %d embeddings for %d inputs", len(resp.Embeddings), len(batch))}
	}
	return resp.Embeddings, resp.PromptEvalCount, nil
}

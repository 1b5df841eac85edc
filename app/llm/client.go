// Package llm is Quire's one client of its Ollama servers: a thin layer over
// github.com/ollama/ollama/api that adds a pool of hosts (pool.go), batching,
// per-call timeouts, a cache of what each model is, the Ollama call metrics,
// and errors a person can act on. Every failure that means "the model server cannot serve this model right
// now" (connection refused, no answer in time, model not installed, server
// error) is a fault.Unavailable matching ErrUnavailable, which the HTTP layer
// answers with 503 model_unavailable and the job runner treats as a reason to
// wait rather than fail.
package llm

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ollama/ollama/api"

	"quire/app/ops"
)

// Defaults of Options.
const (
	DefaultEmbedBatch   = 32
	DefaultEmbedTimeout = 2 * time.Minute
	DefaultShowTimeout  = 10 * time.Second
	// showTTL is how long what Show learnt is reused: long enough that every
	// chat question does not ask again, short enough that a model replaced
	// behind Quire's back is seen within a minute.
	showTTL = time.Minute
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
	// HealthInterval is how often each host is checked while up (down hosts
	// sooner, backing off up to it); HealthTimeout bounds one check.
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	// HTTPClient overrides the transport (tests).
	HTTPClient *http.Client
}

// Client talks to a pool of Ollama servers (one, unless more are configured);
// the pool can change at run time (the admin edits it) and the client is safe
// for concurrent use.
type Client struct {
	opts Options
	http *http.Client

	mu    sync.RWMutex
	hosts []*host       // hosts[0] is the primary; never empty
	turn  atomic.Uint64 // rotates the hosts that tie in pick
}

type shown struct {
	info    ModelInfo
	fetched time.Time
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
	opts.HealthInterval = cmp.Or(opts.HealthInterval, DefaultHealthInterval)
	opts.HealthTimeout = cmp.Or(opts.HealthTimeout, DefaultHealthTimeout)
	c := &Client{opts: opts, http: opts.HTTPClient}
	if c.http == nil {
		c.http = defaultHTTP()
	}
	if err := c.SetBaseURL(baseURL); err != nil {
		return nil, err
	}
	return c, nil
}

// SetBaseURL points the primary host at another server (the single-server
// setup's URL); what the old one said about its models is forgotten. The
// other hosts of the pool stay.
func (c *Client) SetBaseURL(baseURL string) error {
	hc := HostConfig{URL: baseURL}
	if err := CheckHost(hc); err != nil {
		return fmt.Errorf("the Ollama URL %q is not an http(s) URL like http://127.0.0.1:11434", baseURL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.hosts[min(1, len(c.hosts)):] {
		if h.url == NormalizeURL(baseURL) {
			return fmt.Errorf("the Ollama URL %s is already another host of the pool", h.url)
		}
	}
	h := c.newHost(hc)
	if len(c.hosts) == 0 {
		c.hosts = []*host{h}
	} else {
		c.hosts = append([]*host{h}, c.hosts[1:]...)
	}
	return nil
}

// BaseURL is the primary host's URL.
func (c *Client) BaseURL() string { return c.primary().url }

// Heartbeat checks that a host of the pool answers.
func (c *Client) Heartbeat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShowTimeout)
	defer cancel()
	began := time.Now()
	_, err := c.call(ctx, "", func(h *host) (bool, error) { return false, classify(ctx, h.url, h.api.Heartbeat(ctx), "") })
	ops.ObserveOllama("heartbeat", time.Since(began), err)
	return err
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

// Show asks a host that has the model about it: it proves the model is
// installed and gives its context length, so prompts are fitted, not
// truncated. Answers are reused per host for a minute, until its URL changes
// or the model is pulled again; failures are not kept.
func (c *Client) Show(ctx context.Context, model string) (*ModelInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShowTimeout)
	defer cancel()
	var mi *ModelInfo
	_, err := c.call(ctx, model, func(h *host) (bool, error) {
		var err error
		mi, err = c.showOn(ctx, h, model)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return mi, nil
}

func (c *Client) showOn(ctx context.Context, h *host, model string) (*ModelInfo, error) {
	h.mu.Lock()
	hit, ok := h.models[model]
	h.mu.Unlock()
	if ok && time.Since(hit.fetched) < showTTL {
		mi := hit.info
		return &mi, nil
	}
	began := time.Now()
	resp, err := h.api.Show(ctx, &api.ShowRequest{Model: model})
	err = classify(ctx, h.url, err, model)
	ops.ObserveOllama("show", time.Since(began), err)
	if err != nil {
		return nil, err
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
	h.mu.Lock()
	if h.models == nil {
		h.models = map[string]shown{}
	}
	h.models[model] = shown{*mi, time.Now()}
	h.mu.Unlock()
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
	return c.EmbedDimensions(ctx, model, inputs, 0)
}

// EmbedDimensions is Embed with the vectors cut to dims dimensions (and
// normalised again) by the server; 0 keeps the model's own. With several
// healthy hosts the batches are embedded at once, spread over them.
func (c *Client) EmbedDimensions(ctx context.Context, model string, inputs []string, dims int) (_ [][]float32, tokens int, err error) {
	began := time.Now()
	defer func() { ops.ObserveOllama("embedding", time.Since(began), err) }()
	var batches [][]string
	for start := 0; start < len(inputs); start += c.opts.EmbedBatch {
		batches = append(batches, inputs[start:min(start+c.opts.EmbedBatch, len(inputs))])
	}
	vecs := make([][][]float32, len(batches))
	counts := make([]int, len(batches))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, max(1, min(c.healthyWith(model), len(batches))))
	var wg sync.WaitGroup
	for i, batch := range batches {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			v, n, err := c.embedBatch(ctx, model, batch, dims)
			if err != nil {
				cancel(err)
				return
			}
			vecs[i], counts[i] = v, n
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	out := make([][]float32, 0, len(inputs))
	for i := range batches {
		out = append(out, vecs[i]...)
		tokens += counts[i]
	}
	return out, tokens, nil
}

// healthyWith counts the hosts not down that may have the model: how many
// batches are worth sending at once.
func (c *Client) healthyWith(model string) int {
	n := 0
	for _, h := range c.snapshot() {
		if !h.down() && h.has(model) {
			n++
		}
	}
	return n
}

func (c *Client) embedBatch(ctx context.Context, model string, batch []string, dims int) ([][]float32, int, error) {
	var resp *api.EmbedResponse
	_, err := c.call(ctx, model, func(h *host) (bool, error) {
		callCtx, cancel := context.WithTimeout(ctx, c.opts.EmbedTimeout)
		defer cancel()
		var err error
		resp, err = h.api.Embed(callCtx, &api.EmbedRequest{Model: model, Input: batch, Dimensions: dims})
		if err != nil {
			return false, classify(ctx, h.url, err, model)
		}
		if len(resp.Embeddings) != len(batch) {
			ue := &UnavailableError{URL: h.url, Model: model,
				Reason: fmt.Sprintf("the model server returned %d embeddings for %d inputs", len(resp.Embeddings), len(batch))}
			return false, ue.fault()
		}
		return false, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return resp.Embeddings, resp.PromptEvalCount, nil
}

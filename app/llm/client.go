// Package llm is Quire's one client of the Ollama server: a thin layer over
// github.com/ollama/ollama/api that adds batching, per-call timeouts, a cache
// of what each model is, the Ollama call metrics, and errors a person can act
// on. Every failure that means "the model server cannot serve this model right
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
	"net/url"
	"strconv"
	"strings"
	"sync"
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
	// HTTPClient overrides the transport (tests).
	HTTPClient *http.Client
}

// Client talks to one Ollama server; its URL can change at run time (the
// admin edits it) and the client is safe for concurrent use.
type Client struct {
	opts Options
	http *http.Client

	mu     sync.RWMutex
	base   *url.URL
	api    *api.Client
	models map[string]shown // Show's answers for base, by model
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
	c := &Client{opts: opts, http: opts.HTTPClient}
	if c.http == nil {
		c.http = defaultHTTP()
	}
	if err := c.SetBaseURL(baseURL); err != nil {
		return nil, err
	}
	return c, nil
}

// SetBaseURL points the client at another server; what the old one said
// about its models is forgotten.
func (c *Client) SetBaseURL(baseURL string) error {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(baseURL), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the Ollama URL %q is not an http(s) URL like http://127.0.0.1:11434", baseURL)
	}
	c.mu.Lock()
	c.base, c.api, c.models = u, api.NewClient(u, c.http), nil
	c.mu.Unlock()
	return nil
}

// BaseURL is the server the client talks to.
func (c *Client) BaseURL() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.base.String()
}

func (c *Client) client() *api.Client {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.api
}

// Heartbeat checks that the server answers.
func (c *Client) Heartbeat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShowTimeout)
	defer cancel()
	began := time.Now()
	err := c.classify(ctx, c.client().Heartbeat(ctx), "")
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

// Show asks the server about a model: it proves the model is installed and
// gives its context length, so prompts are fitted, not truncated. Answers are
// reused for a minute, until the URL changes or the model is pulled again;
// failures are not kept.
func (c *Client) Show(ctx context.Context, model string) (*ModelInfo, error) {
	c.mu.RLock()
	hit, ok := c.models[model]
	c.mu.RUnlock()
	if ok && time.Since(hit.fetched) < showTTL {
		mi := hit.info
		return &mi, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.ShowTimeout)
	defer cancel()
	began := time.Now()
	cl := c.client()
	resp, err := cl.Show(ctx, &api.ShowRequest{Model: model})
	err = c.classify(ctx, err, model)
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
	c.mu.Lock()
	if c.api == cl { // not an answer of a server the admin has since replaced
		if c.models == nil {
			c.models = map[string]shown{}
		}
		c.models[model] = shown{*mi, time.Now()}
	}
	c.mu.Unlock()
	return mi, nil
}

// forget drops what Show learnt of a model (it was pulled again).
func (c *Client) forget(model string) {
	c.mu.Lock()
	delete(c.models, model)
	c.mu.Unlock()
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
// normalised again) by the server; 0 keeps the model's own.
func (c *Client) EmbedDimensions(ctx context.Context, model string, inputs []string, dims int) (_ [][]float32, tokens int, err error) {
	began := time.Now()
	defer func() { ops.ObserveOllama("embedding", time.Since(began), err) }()
	out := make([][]float32, 0, len(inputs))
	for start := 0; start < len(inputs); start += c.opts.EmbedBatch {
		batch := inputs[start:min(start+c.opts.EmbedBatch, len(inputs))]
		vecs, n, err := c.embedBatch(ctx, model, batch, dims)
		if err != nil {
			return nil, tokens, err
		}
		out = append(out, vecs...)
		tokens += n
	}
	return out, tokens, nil
}

func (c *Client) embedBatch(ctx context.Context, model string, batch []string, dims int) ([][]float32, int, error) {
	callCtx, cancel := context.WithTimeout(ctx, c.opts.EmbedTimeout)
	defer cancel()
	resp, err := c.client().Embed(callCtx, &api.EmbedRequest{Model: model, Input: batch, Dimensions: dims})
	if err != nil {
		return nil, 0, c.classify(ctx, err, model)
	}
	if len(resp.Embeddings) != len(batch) {
		ue := &UnavailableError{URL: c.BaseURL(), Model: model,
			Reason: fmt.Sprintf("the model server returned %d embeddings for %d inputs", len(resp.Embeddings), len(batch))}
		return nil, 0, ue.fault()
	}
	return resp.Embeddings, resp.PromptEvalCount, nil
}

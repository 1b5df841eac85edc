package llm

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/ollama/ollama/api"

	"quire/app/fault"
	"quire/app/ops"
)

// A Client is a pool of Ollama hosts. hosts[0] is the primary: the one URL of a
// single-server setup, which SetBaseURL changes. Every call is routed to a
// healthy host that has the model, the one with the fewest calls in flight
// first (weights break ties, then the hosts take turns); a host that fails
// before answering is marked down and the call is tried once on another one.

// MaxHosts bounds the pool: each host costs a health check per interval.
const MaxHosts = 100

// Defaults of the health options.
const (
	DefaultHealthInterval = 15 * time.Second
	DefaultHealthTimeout  = 5 * time.Second
	// firstRetry is the first wait before a down host is checked again; it
	// doubles with each failed check up to the health interval.
	firstRetry = time.Second
	// healthParallel bounds the checks running at once, so a pool of many
	// unreachable hosts does not open a connection to each at every tick.
	healthParallel = 8
)

// HostConfig is one host of the pool as configured.
type HostConfig struct {
	URL    string
	Weight int // 1 when 0; a higher weight wins a tie of calls in flight
	Label  string
}

// Host states.
const (
	StateUnknown = "unknown" // not checked yet: calls may go there
	StateUp      = "up"
	StateDown    = "down"
)

type host struct {
	url string // normalised: no trailing slash
	id  string
	api *api.Client

	weight              atomic.Int64 // read by pick without the lock
	inFlight            atomic.Int64
	ok, failed, retried atomic.Uint64
	checking            atomic.Bool // a health check is running

	mu        sync.Mutex
	label     string
	state     string
	lastErr   string
	checkedAt time.Time
	failures  int       // consecutive failed checks or calls
	nextCheck time.Time // when the health loop looks again
	tags      map[string]bool
	models    map[string]shown // Show's answers, by model
}

// HostID is the stable identifier of a host URL in the admin API: short, and
// free of the characters a URL would bring into a path.
func HostID(u string) string {
	sum := sha256.Sum256([]byte(NormalizeURL(u)))
	return hex.EncodeToString(sum[:5])
}

// NormalizeURL is the form hosts are compared in (spaces and trailing slashes dropped).
func NormalizeURL(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// CheckHost validates one configured host; its errors name the field.
func CheckHost(h HostConfig) error {
	raw := NormalizeURL(h.URL)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fault.Field("url", "The Ollama URL %q is not an http(s) address like http://127.0.0.1:11434.", clip(h.URL))
	}
	if h.Weight < 0 || h.Weight > 100 {
		return fault.Field("weight", "The weight of %s must be 1 to 100 (0 means 1).", raw)
	}
	if len(h.Label) > 64 || strings.IndexFunc(h.Label, unicode.IsControl) >= 0 {
		return fault.Field("label", "The label of %s must be at most 64 characters, without control characters.", raw)
	}
	return nil
}

// CheckHosts validates a whole pool: every host, no URL twice, at most MaxHosts.
func CheckHosts(hosts []HostConfig) error {
	if len(hosts) > MaxHosts {
		return fault.Field("url", "At most %d Ollama hosts can be configured (%d given).", MaxHosts, len(hosts))
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if err := CheckHost(h); err != nil {
			return err
		}
		u := NormalizeURL(h.URL)
		if seen[u] {
			return &fault.Error{Kind: fault.Conflict, Field: "url", Message: fmt.Sprintf("The Ollama host %s is listed twice.", u)}
		}
		seen[u] = true
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (c *Client) newHost(hc HostConfig) *host {
	u := NormalizeURL(hc.URL)
	parsed, _ := url.Parse(u) // checked by CheckHost
	h := &host{url: u, id: HostID(u), label: hc.Label, api: api.NewClient(parsed, c.http), state: StateUnknown}
	h.weight.Store(int64(max(hc.Weight, 1)))
	return h
}

// SetHosts replaces the pool; hosts[0] becomes the primary. A host whose URL
// stays keeps its health, models and calls in flight.
func (c *Client) SetHosts(hosts []HostConfig) error {
	if len(hosts) == 0 {
		return fault.Field("url", "The pool needs at least one Ollama host.")
	}
	if err := CheckHosts(hosts); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := map[string]*host{}
	for _, h := range c.hosts {
		old[h.url] = h
	}
	next := make([]*host, len(hosts))
	for i, hc := range hosts {
		if h, ok := old[NormalizeURL(hc.URL)]; ok {
			h.mu.Lock()
			h.label = hc.Label
			h.mu.Unlock()
			h.weight.Store(int64(max(hc.Weight, 1)))
			next[i] = h
			continue
		}
		next[i] = c.newHost(hc)
	}
	c.hosts = next
	return nil
}

func (c *Client) snapshot() []*host {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.hosts
}

func (c *Client) primary() *host { return c.snapshot()[0] }

// modelKey is how Ollama lists a model name: "llama3.2" is "llama3.2:latest".
func modelKey(model string) string {
	if model != "" && !strings.Contains(model, ":") {
		return model + ":latest"
	}
	return model
}

// has says whether the host is known to have the model; true when its models
// were never listed (a host not checked yet may well have it).
func (h *host) has(model string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tags == nil || h.tags[modelKey(model)]
}

// listed says whether the host's last list of models has the model.
func (h *host) listed(model string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tags[modelKey(model)]
}

func (h *host) down() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state == StateDown
}

// pick chooses the host for a call of model (any host when model is ""),
// skipping tried ones; nil when none is left.
func (c *Client) pick(model string, tried []*host) *host {
	var up, down, withModel []*host
	for _, h := range c.snapshot() {
		switch {
		case slices.Contains(tried, h):
		case h.down():
			down = append(down, h)
		default:
			up = append(up, h)
			if model == "" || h.has(model) {
				withModel = append(withModel, h)
			}
		}
	}
	cands := withModel
	if len(cands) == 0 {
		// No healthy host claims the model: ask a healthy one anyway, so the
		// answer is Ollama's own (not installed, or installed since the last
		// check); with every host down, try a down one, so the error is the
		// real one and a host that came back is noticed at once.
		cands = up
		if len(cands) == 0 {
			cands = down
		}
		if len(cands) == 0 {
			return nil
		}
	}
	// Hosts take turns among equals: rotate, then sort stably.
	n := int(c.turn.Add(1) % uint64(len(cands)))
	cands = append(slices.Clone(cands[n:]), cands[:n]...)
	slices.SortStableFunc(cands, func(a, b *host) int {
		return cmp.Or(cmp.Compare(a.inFlight.Load(), b.inFlight.Load()), cmp.Compare(b.weight.Load(), a.weight.Load()))
	})
	return cands[0]
}

// call runs fn on a host chosen for model. fn reports whether the host had
// begun answering: a failure after that is the call's, never retried (a
// stream is not silently restarted). A failure of the host itself before
// that (refused, unreachable, timed out, 5xx) marks it down and the call is
// tried once on another host; so is a model the host turned out not to
// have, when another host listed it.
func (c *Client) call(ctx context.Context, model string, fn func(h *host) (started bool, err error)) (*host, error) {
	var tried []*host
	var next *host // the host a retry goes to
	for {
		h := next
		if h == nil {
			h = c.pick(model, tried)
		}
		if h == nil {
			return nil, (&UnavailableError{Model: model, Reason: "no Ollama host is configured"}).fault()
		}
		h.inFlight.Add(1)
		started, err := fn(h)
		h.inFlight.Add(-1)
		if err == nil {
			h.ok.Add(1)
			ops.ObserveOllamaHost(h.url, "ok")
			h.markUp()
			return h, nil
		}
		if ctx.Err() != nil {
			return h, err // the caller gave up: nothing is known of the host
		}
		retry := false
		switch {
		case started:
			if hostFailure(err) || errors.Is(err, ErrIncomplete) {
				h.markDown(err) // the health checks tell whether it is back
			}
		case hostFailure(err):
			h.markDown(err)
			retry = true
		case missing(err):
			h.forgetModel(model)
			retry = true
		}
		tried = append(tried, h)
		if retry && len(tried) == 1 {
			if next = c.pick(model, tried); next != nil && (!missing(err) || next.listed(model)) {
				h.retried.Add(1)
				ops.ObserveOllamaHost(h.url, "retried")
				continue
			}
		}
		h.failed.Add(1)
		ops.ObserveOllamaHost(h.url, "error")
		return h, err
	}
}

// hostFailure says whether err means the host itself could not serve: it
// did not answer, answered too late, or failed on its side.
func hostFailure(err error) bool {
	var se api.StatusError
	if errors.As(err, &se) {
		return se.StatusCode >= 500
	}
	var ne net.Error
	var ue *url.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.As(err, &ne) || errors.As(err, &ue)
}

func missing(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusNotFound
}

func (h *host) markUp() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state, h.failures, h.lastErr = StateUp, 0, ""
}

// markDown takes the host out of rotation until a health check finds it
// back; the checks back off while it stays down.
func (c *Client) backoff(failures int) time.Duration {
	d := min(firstRetry, c.opts.HealthInterval)
	for range min(failures-1, 16) {
		d *= 2
	}
	return min(d, c.opts.HealthInterval)
}

func (h *host) markDown(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state = StateDown
	h.failures++
	h.lastErr = err.Error()
	// The health loop sets nextCheck from failures; a call's failure only
	// makes sure the next check is not an interval away.
	h.nextCheck = time.Now().Add(min(time.Until(h.nextCheck), firstRetry))
}

func (h *host) forgetModel(model string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tags != nil {
		delete(h.tags, modelKey(model))
	}
	delete(h.models, model)
}

// check asks the host for its models: the health check, which also learns
// what the host has installed.
func (c *Client) check(ctx context.Context, h *host) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.HealthTimeout)
	defer cancel()
	resp, err := h.api.List(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checkedAt = time.Now()
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return // Quire is stopping; nothing was learnt of the host
		}
		h.state, h.lastErr = StateDown, classify(ctx, h.url, err, "").Error()
		h.failures++
		h.nextCheck = h.checkedAt.Add(c.backoff(h.failures))
		return
	}
	h.state, h.lastErr, h.failures = StateUp, "", 0
	h.nextCheck = h.checkedAt.Add(c.opts.HealthInterval)
	h.tags = make(map[string]bool, len(resp.Models))
	for _, m := range resp.Models {
		h.tags[modelKey(m.Name)] = true
	}
}

// CheckNow checks every host at once and waits for the answers (the admin
// page and doctor want the state now, not at the next tick).
func (c *Client) CheckNow(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, healthParallel)
	for _, h := range c.snapshot() {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.check(ctx, h)
		}()
	}
	wg.Wait()
}

// StartHealthChecks checks every host now and then periodically (down hosts
// sooner, backing off) until stop is called or ctx ends; stop waits for the
// checks under way.
func (c *Client) StartHealthChecks(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	tick := max(min(c.opts.HealthInterval/10, time.Second), 20*time.Millisecond)
	sem := make(chan struct{}, healthParallel)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			now := time.Now()
			for _, h := range c.snapshot() {
				h.mu.Lock()
				due := !now.Before(h.nextCheck)
				h.mu.Unlock()
				if !due || !h.checking.CompareAndSwap(false, true) {
					continue
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					h.checking.Store(false)
					return
				}
				wg.Add(1)
				go func() {
					defer func() { h.checking.Store(false); <-sem; wg.Done() }()
					c.check(ctx, h)
				}()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// HostStatus is one host as the admin sees it.
type HostStatus struct {
	ID        string
	URL       string
	Label     string
	Weight    int
	Primary   bool
	State     string
	LastError string
	CheckedAt time.Time // zero: never checked
	InFlight  int64
	Models    []string // as last listed; nil when never listed
	OK        uint64   // calls answered
	Failed    uint64   // calls that failed here
	Retried   uint64   // calls that failed here and were tried on another host
}

// Hosts describes the pool, primary first.
func (c *Client) Hosts() []HostStatus {
	hosts := c.snapshot()
	out := make([]HostStatus, len(hosts))
	for i, h := range hosts {
		h.mu.Lock()
		st := HostStatus{ID: h.id, URL: h.url, Label: h.label, Weight: int(h.weight.Load()), Primary: i == 0, State: h.state,
			LastError: h.lastErr, CheckedAt: h.checkedAt, InFlight: h.inFlight.Load(),
			OK: h.ok.Load(), Failed: h.failed.Load(), Retried: h.retried.Load()}
		if h.tags != nil {
			st.Models = make([]string, 0, len(h.tags))
			for m := range h.tags {
				st.Models = append(st.Models, m)
			}
			slices.Sort(st.Models)
		}
		h.mu.Unlock()
		out[i] = st
	}
	return out
}

// hostByID finds a host of the pool.
func (c *Client) hostByID(id string) *host {
	for _, h := range c.snapshot() {
		if h.id == id {
			return h
		}
	}
	return nil
}

// ErrNoSuchHost is PullHost's error for an id not in the pool.
var ErrNoSuchHost = fault.New(fault.NotFound, "There is no such Ollama host in the pool.")

// PullHost pulls a model on one host of the pool (by HostID).
func (c *Client) PullHost(ctx context.Context, id, model string, progress func(Progress)) error {
	h := c.hostByID(id)
	if h == nil {
		return ErrNoSuchHost
	}
	return c.pullOn(ctx, h, model, progress)
}

func (c *Client) pullOn(ctx context.Context, h *host, model string, progress func(Progress)) error {
	began := time.Now()
	err := h.api.Pull(ctx, &api.PullRequest{Model: model}, func(p api.ProgressResponse) error {
		progress(Progress{Host: h.url, Status: p.Status, Completed: p.Completed, Total: p.Total})
		return nil
	})
	h.forgetModel(model)
	if err == nil {
		h.mu.Lock()
		if h.tags != nil {
			h.tags[modelKey(model)] = true
		}
		h.mu.Unlock()
	}
	err = classify(ctx, h.url, err, model)
	ops.ObserveOllama("pull", time.Since(began), err)
	return err
}

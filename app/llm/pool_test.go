package llm_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"quire/app/fault"
	"quire/app/llm"
	"quire/app/llm/ollamatest"
	"quire/app/llm/tinymodel"
)

// startHosts launches n real Ollama servers at once (each with the tiny
// models), stopped at the end of the test.
func startHosts(t testing.TB, n int) []*ollamatest.Server {
	t.Helper()
	bin, err := ollamatest.FindBinary()
	if err != nil {
		if errors.Is(err, ollamatest.ErrNotBuilt) && !ci() {
			t.Skip(err.Error())
		}
		t.Fatal(err)
	}
	servers := make([]*ollamatest.Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		dir := t.TempDir()
		wg.Go(func() {
			c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			servers[i], errs[i] = ollamatest.Launch(c, ollamatest.Config{Bin: bin, Dir: dir})
		})
	}
	wg.Wait()
	for i, s := range servers {
		if s != nil {
			t.Cleanup(func() { _ = s.Stop() })
		}
		if errs[i] != nil {
			t.Fatalf("host %d: %v", i, errs[i])
		}
	}
	return servers
}

func ci() bool { return os.Getenv("CI") == "true" }

// pool is a client of the servers' URLs (the first is the primary).
func pool(t testing.TB, opts llm.Options, urls ...string) *llm.Client {
	t.Helper()
	c, err := llm.New(urls[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	hosts := make([]llm.HostConfig, len(urls))
	for i, u := range urls {
		hosts[i] = llm.HostConfig{URL: u}
	}
	if err := c.SetHosts(hosts); err != nil {
		t.Fatal(err)
	}
	return c
}

func urls(servers []*ollamatest.Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.URL
	}
	return out
}

// byURL is the pool's status of each host, by URL.
func byURL(c *llm.Client) map[string]llm.HostStatus {
	out := map[string]llm.HostStatus{}
	for _, h := range c.Hosts() {
		out[h.URL] = h
	}
	return out
}

// waitFor polls cond until it holds or fails the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func chat(c *llm.Client, ctx context.Context, model string, onDelta func(string)) (llm.ChatResult, error) {
	return c.ChatStream(ctx, llm.ChatRequest{Model: model, Messages: []llm.Message{{Role: "user", Content: "What does Quire do?"}}}, onDelta)
}

// TestPoolSpreadsLoad: concurrent chats and embeddings reach every host, and
// every call succeeds.
func TestPoolSpreadsLoad(t *testing.T) {
	srv := startHosts(t, 3)
	c := pool(t, llm.Options{EmbedBatch: 2}, urls(srv)...)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 9 {
		wg.Go(func() {
			for range 4 {
				var err error
				if w%2 == 0 {
					var res llm.ChatResult
					res, err = chat(c, ctx(t), srv[0].ChatModel, func(string) {})
					if err == nil && res.Content != srv[0].ChatSentence {
						err = fmt.Errorf("answer %q", res.Content)
					}
				} else {
					_, _, err = c.Embed(ctx(t), srv[0].EmbedModel, []string{"a brown fox", "tax invoice", "lonely"})
				}
				if err != nil {
					failed.Add(1)
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for _, h := range c.Hosts() {
		t.Logf("%s: %d ok, %d failed, %d retried", h.URL, h.OK, h.Failed, h.Retried)
		if h.OK == 0 {
			t.Errorf("host %s got no call", h.URL)
		}
		if h.InFlight != 0 {
			t.Errorf("host %s still has %d calls in flight", h.URL, h.InFlight)
		}
	}
}

// TestPoolTies: with nothing in flight, the heavier host wins every call;
// between equal weights the hosts take turns.
func TestPoolTies(t *testing.T) {
	srv := startHosts(t, 3)
	c := pool(t, llm.Options{}, urls(srv)...)
	for range 9 {
		if _, _, err := c.Embed(ctx(t), srv[0].EmbedModel, []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range c.Hosts() {
		if h.OK != 3 {
			t.Errorf("equal weights: %s answered %d of 9 sequential calls, want 3", h.URL, h.OK)
		}
	}
	heavy := llm.HostConfig{URL: srv[1].URL, Weight: 5}
	if err := c.SetHosts([]llm.HostConfig{{URL: srv[0].URL}, heavy, {URL: srv[2].URL}}); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if _, _, err := c.Embed(ctx(t), srv[0].EmbedModel, []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := byURL(c)[srv[1].URL].OK; got != 3+6 {
		t.Errorf("weight 5 host answered %d calls, want all 6 more than its 3", got-3)
	}
}

// TestPoolFailoverUnderLoad kills one of three hosts in the middle of a load
// run: no call fails that could have been retried (one that had not begun
// answering); only streams cut off mid-answer may fail, and they are counted.
func TestPoolFailoverUnderLoad(t *testing.T) {
	srv := startHosts(t, 3)
	c := pool(t, llm.Options{HealthInterval: 200 * time.Millisecond, HealthTimeout: time.Second}, urls(srv)...)
	stop := c.StartHealthChecks(context.Background())
	defer stop()

	var calls, retriable, midStream atomic.Int64
	run, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for run.Err() == nil {
				calls.Add(1)
				if w%2 == 0 {
					got := false
					res, err := chat(c, ctx(t), srv[0].ChatModel, func(string) { got = true })
					switch {
					case err != nil && got:
						midStream.Add(1)
					case err != nil:
						retriable.Add(1)
						t.Errorf("chat failed before its first token: %v", err)
					case res.Content != srv[0].ChatSentence:
						t.Errorf("answer %q", res.Content)
					}
					continue
				}
				if _, _, err := c.Embed(ctx(t), srv[0].EmbedModel, []string{"a brown fox", "tax invoice"}); err != nil {
					retriable.Add(1)
					t.Errorf("embedding failed: %v", err)
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	before := calls.Load()
	srv[1].Kill()
	killed := time.Now()
	time.Sleep(2500 * time.Millisecond)
	cancel()
	wg.Wait()
	t.Logf("%d calls (%d after the kill in %v); %d failed before answering, %d cut off mid-answer",
		calls.Load(), calls.Load()-before, time.Since(killed).Round(time.Millisecond), retriable.Load(), midStream.Load())
	h := byURL(c)
	for _, s := range h {
		t.Logf("%s: %s, %d ok, %d failed, %d retried", s.URL, s.State, s.OK, s.Failed, s.Retried)
	}
	if got := h[srv[1].URL].Failed; got != uint64(midStream.Load()) {
		t.Errorf("the killed host failed %d calls, %d streams were cut off", got, midStream.Load())
	}
	if h[srv[1].URL].State != llm.StateDown {
		t.Errorf("the killed host is %s, want down", h[srv[1].URL].State)
	}
	if h[srv[0].URL].OK == 0 || h[srv[2].URL].OK == 0 {
		t.Error("the surviving hosts did not share the load")
	}
	if calls.Load()-before < 10 {
		t.Errorf("only %d calls after the kill", calls.Load()-before)
	}
}

// TestPoolModelOnOneHost: a model only one host has is routed there.
func TestPoolModelOnOneHost(t *testing.T) {
	srv := startHosts(t, 3)
	const only = "quire-only-here"
	sentence := "only the third host knows this [1]"
	if err := srv[2].CreateChatModel(ctx(t), only, tinymodel.ChatOptions{Sentence: sentence}); err != nil {
		t.Fatal(err)
	}
	c := pool(t, llm.Options{}, urls(srv)...)
	c.CheckNow(ctx(t))
	for range 6 {
		res, err := chat(c, ctx(t), only, func(string) {})
		if err != nil || res.Content != sentence {
			t.Fatalf("chat with %s: %q, %v", only, res.Content, err)
		}
	}
	if mi, err := c.Show(ctx(t), only); err != nil || !mi.Can("completion") {
		t.Fatalf("show %s: %+v, %v", only, mi, err)
	}
	h := byURL(c)
	if h[srv[2].URL].OK != 7 || h[srv[0].URL].OK+h[srv[1].URL].OK+h[srv[0].URL].Failed+h[srv[1].URL].Failed != 0 {
		t.Errorf("calls per host: %+v", h)
	}
	// A model no host has: today's clear error, once per host at most.
	_, err := chat(c, ctx(t), "no-such-model", func(string) {})
	if !errors.Is(err, llm.ErrModelNotFound) || !strings.Contains(err.Error(), "ollama pull no-such-model") {
		t.Errorf("a model on no host: %v", err)
	}
}

// TestPoolRecovery: a killed host is marked down by the health checks and
// up again once it is back, and then gets calls again.
func TestPoolRecovery(t *testing.T) {
	srv := startHosts(t, 2)
	c := pool(t, llm.Options{HealthInterval: 200 * time.Millisecond, HealthTimeout: time.Second}, urls(srv)...)
	stop := c.StartHealthChecks(context.Background())
	defer stop()
	b := srv[1]
	waitFor(t, 5*time.Second, "both hosts up", func() bool { return byURL(c)[b.URL].State == llm.StateUp })
	b.Kill()
	waitFor(t, 5*time.Second, "the killed host marked down", func() bool { return byURL(c)[b.URL].State == llm.StateDown })
	for range 4 {
		if _, _, err := c.Embed(ctx(t), srv[0].EmbedModel, []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	okDown := byURL(c)[b.URL].OK

	u, _ := url.Parse(b.URL)
	var port int
	fmt.Sscan(u.Port(), &port)
	back, err := ollamatest.Launch(ctx(t), ollamatest.Config{Dir: b.Dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Stop()
	waitFor(t, 5*time.Second, "the host back up", func() bool { return byURL(c)[b.URL].State == llm.StateUp })
	for range 4 {
		if _, _, err := c.Embed(ctx(t), srv[0].EmbedModel, []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := byURL(c)[b.URL].OK - okDown; got != 2 {
		t.Errorf("the host back up answered %d of 4 calls, want its turn (2)", got)
	}
}

// TestPoolStreamBrokenMidAnswer: a host dying while it streams an answer is
// the call's failure, with the partial answer, never restarted elsewhere.
func TestPoolStreamBrokenMidAnswer(t *testing.T) {
	srv := startHosts(t, 2)
	words := make([]string, 500)
	for i := range words {
		words[i] = fmt.Sprintf("w%d", i)
	}
	const long = "quire-long"
	for _, s := range srv {
		if err := s.CreateChatModel(ctx(t), long, tinymodel.ChatOptions{Sentence: strings.Join(words, " ")}); err != nil {
			t.Fatal(err)
		}
	}
	c := pool(t, llm.Options{}, srv[0].URL, srv[1].URL)
	// The first host is heavier, so it answers.
	if err := c.SetHosts([]llm.HostConfig{{URL: srv[0].URL, Weight: 2}, {URL: srv[1].URL}}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	res, err := chat(c, ctx(t), long, func(string) { once.Do(func() { go srv[0].Kill() }) })
	if err == nil {
		t.Fatalf("the stream finished (%d words) although its host was killed", len(strings.Fields(res.Content)))
	}
	if !errors.Is(err, llm.ErrIncomplete) && !errors.Is(err, llm.ErrUnavailable) {
		t.Errorf("error %v, want an incomplete or unavailable reply", err)
	}
	n := len(strings.Fields(res.Content))
	if n == 0 || n >= len(words) || !strings.HasPrefix(strings.Join(words, " "), res.Content) {
		t.Errorf("partial answer of %d words, want the beginning of the %d", n, len(words))
	}
	h := byURL(c)
	if h[srv[1].URL].OK != 0 || h[srv[0].URL].Retried != 0 || h[srv[0].URL].Failed != 1 || h[srv[0].URL].State != llm.StateDown {
		t.Errorf("the broken stream was retried: %+v", h)
	}
	t.Logf("cut off after %d of %d words: %v", n, len(words), err)
}

// TestPoolHangingHost: a host that accepts connections and never answers is
// timed out, the call goes elsewhere, and nothing is left running.
func TestPoolHangingHost(t *testing.T) {
	srv := startHosts(t, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var held []net.Conn
	var mu sync.Mutex
	conns.Go(func() {
		for {
			cn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, cn) // read nothing, answer nothing
			mu.Unlock()
		}
	})
	baseline := runtime.NumGoroutine()
	hang := "http://" + l.Addr().String()
	c := pool(t, llm.Options{EmbedTimeout: 500 * time.Millisecond, HealthTimeout: 300 * time.Millisecond, HealthInterval: 200 * time.Millisecond}, hang, srv[0].URL)
	began := time.Now()
	for range 4 {
		if _, _, err := c.Embed(ctx(t), srv[0].EmbedModel, []string{"x"}); err != nil {
			t.Fatalf("embedding with a hanging host in the pool: %v", err)
		}
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("4 embeddings took %v with a hanging host", d)
	}
	if h := byURL(c)[hang]; h.State != llm.StateDown || h.Retried != 1 || !strings.Contains(h.LastError, "did not answer in time") {
		t.Errorf("hanging host: %+v, want down after one timed-out call", h)
	}
	stop := c.StartHealthChecks(context.Background())
	time.Sleep(time.Second) // several checks of the hanging host time out
	stop()
	if h := byURL(c)[hang]; h.State != llm.StateDown {
		t.Errorf("hanging host after health checks: %s", h.State)
	}
	l.Close()
	mu.Lock()
	for _, cn := range held {
		cn.Close()
	}
	mu.Unlock()
	conns.Wait()
	waitFor(t, 5*time.Second, "goroutines back to where they were", func() bool {
		return runtime.NumGoroutine() <= baseline+4 // idle keep-alive connections to the real host
	})
}

// closedPorts are n distinct loopback URLs where nothing listens.
func closedPorts(t *testing.T, n int) []string {
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, "http://"+l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// TestPoolHundredHosts: 99 unreachable hosts and one real one: calls still
// succeed, the health checks mark the 99 down quickly, and a 101st host is
// refused.
func TestPoolHundredHosts(t *testing.T) {
	srv := startHosts(t, 1)
	closed := closedPorts(t, llm.MaxHosts)
	all := append([]string{srv[0].URL}, closed[:llm.MaxHosts-1]...)
	c := pool(t, llm.Options{HealthInterval: 500 * time.Millisecond}, all...)
	stop := c.StartHealthChecks(context.Background())
	defer stop()
	waitFor(t, 10*time.Second, "99 unreachable hosts down", func() bool {
		down := 0
		for _, h := range c.Hosts() {
			if h.State == llm.StateDown {
				down++
			}
		}
		return down == llm.MaxHosts-1
	})
	for range 5 {
		if _, _, err := c.Embed(ctx(t), srv[0].EmbedModel, []string{"x"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := byURL(c)[srv[0].URL].OK; got != 5 {
		t.Errorf("the only live host answered %d of 5", got)
	}
	var more []llm.HostConfig
	for _, u := range append(all, closed[llm.MaxHosts-1]) {
		more = append(more, llm.HostConfig{URL: u})
	}
	if err := c.SetHosts(more); !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), "At most 100") {
		t.Errorf("101 hosts: %v", err)
	}
}

// TestPoolBadHosts: what the pool refuses, with the field to fix.
func TestPoolBadHosts(t *testing.T) {
	c, err := llm.New("http://127.0.0.1:1", llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []llm.HostConfig{
		{URL: "ftp://127.0.0.1:11434"}, {URL: "javascript:alert(1)"}, {URL: "127.0.0.1:11434"}, {URL: "http://"},
		{URL: "http://user:secret@127.0.0.1:11434"}, {URL: "http://127.0.0.1:11434/?x=1"}, {URL: "http://127.0.0.1:\x00"},
		{URL: "http://127.0.0.1:2", Weight: -1}, {URL: "http://127.0.0.1:2", Weight: 101},
		{URL: "http://127.0.0.1:2", Label: "a\nb"}, {URL: "http://127.0.0.1:2", Label: strings.Repeat("x", 65)},
	} {
		err := c.SetHosts([]llm.HostConfig{{URL: "http://127.0.0.1:1"}, bad})
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Kind != fault.Invalid || fe.Field == "" {
			t.Errorf("%+v: %v, want an invalid field", bad, err)
		}
	}
	err = c.SetHosts([]llm.HostConfig{{URL: "http://127.0.0.1:2/"}, {URL: " http://127.0.0.1:2"}})
	if !fault.Is(err, fault.Conflict) {
		t.Errorf("duplicate hosts: %v", err)
	}
	if err := c.SetHosts(nil); err == nil {
		t.Error("an empty pool was accepted")
	}
	if got := len(c.Hosts()); got != 1 || c.BaseURL() != "http://127.0.0.1:1" {
		t.Errorf("a refused change altered the pool: %d hosts, primary %s", got, c.BaseURL())
	}
	if err := c.SetHosts([]llm.HostConfig{{URL: "http://127.0.0.1:1"}, {URL: "http://127.0.0.1:2"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBaseURL("http://127.0.0.1:2"); err == nil {
		t.Error("SetBaseURL made the primary a duplicate of another host")
	}
	if err := c.SetBaseURL("http://127.0.0.1:3"); err != nil || len(c.Hosts()) != 2 || c.BaseURL() != "http://127.0.0.1:3" {
		t.Errorf("SetBaseURL: %v, %+v", err, c.Hosts())
	}
	// Every host down: the error is the real one, not a made-up "no host".
	_, _, err = c.Embed(ctx(t), "m", []string{"x"})
	if !errors.Is(err, llm.ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("every host down: %v", err)
	}
}

// BenchmarkPoolThroughput compares one host with three under the same
// concurrent load of chat replies (8 callers): calls per second, reported as
// "calls/s". On a machine with fewer cores than hosts the hosts compete for
// the CPU, which caps the gain.
func BenchmarkPoolThroughput(b *testing.B) {
	srv := startHosts(b, 3)
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			c := pool(b, llm.Options{}, urls(srv[:n])...)
			ctx := context.Background()
			b.SetParallelism(8 / max(1, runtime.GOMAXPROCS(0)))
			began := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := chat(c, ctx, srv[0].ChatModel, func(string) {}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "calls/s")
		})
	}
}

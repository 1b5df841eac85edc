package ops

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The metrics are written by hand in Prometheus's text exposition format
// (version 0.0.4) rather than with client_golang: Quire needs a dozen series, the
// format is small and stable, and the binary stays free of client_golang's
// dependency tree (protobuf, procfs, x/sys...). Label values are bounded: routes
// are route-table patterns, never raw paths.

var (
	requestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	ollamaBuckets  = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
)

// Metrics holds the counters and histograms Quire updates as it runs.
type Metrics struct {
	mu       sync.Mutex
	requests map[[3]string]uint64 // route, method, status
	latency  map[[2]string]*histo // route, method
	ollama   map[[2]string]*histo // kind, outcome
	hosts    map[[2]string]uint64 // Ollama host URL, outcome
	started  time.Time
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[[3]string]uint64{}, latency: map[[2]string]*histo{}, ollama: map[[2]string]*histo{}, hosts: map[[2]string]uint64{}, started: time.Now()}
}

// Default is the process's metrics, shared by the HTTP layer and the Ollama callers.
var Default = NewMetrics()

// ObserveOllama records one call to Ollama: kind is what it was for ("chat",
// "embed", "title", "show"), d how long it took, err its outcome. Code that calls
// Ollama reports here so that /metrics shows model latency and failures.
func ObserveOllama(kind string, d time.Duration, err error) { Default.ObserveOllama(kind, d, err) }

// ObserveOllama is the method form of the package function.
func (m *Metrics) ObserveOllama(kind string, d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	observe(m.ollama, [2]string{strings.Clone(kind), outcome}, ollamaBuckets, d.Seconds())
}

// ObserveOllamaHost counts one call routed to an Ollama host of the pool by
// its outcome: "ok", "error", or "retried" (failed there, tried on another).
// Host URLs are bounded by the configured pool.
func ObserveOllamaHost(host, outcome string) { Default.ObserveOllamaHost(host, outcome) }

// ObserveOllamaHost is the method form of the package function.
func (m *Metrics) ObserveOllamaHost(host, outcome string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hosts[[2]string{host, outcome}]++
}

// ObserveRequest records one HTTP request by route pattern, method and status.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	k := [3]string{route, method, strconv.Itoa(status)}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.requests[k]; !ok {
		// Fiber's strings point into buffers reused by the next request: a map
		// key must own its bytes, or the key changes under the map.
		k = [3]string{strings.Clone(route), strings.Clone(method), k[2]}
	}
	m.requests[k]++
	observe(m.latency, [2]string{k[0], k[1]}, requestBuckets, d.Seconds())
}

type histo struct {
	buckets []float64
	counts  []uint64 // per bucket, not cumulative
	sum     float64
	n       uint64
}

func observe[K comparable](hs map[K]*histo, k K, buckets []float64, v float64) {
	h := hs[k]
	if h == nil {
		h = &histo{buckets: buckets, counts: make([]uint64, len(buckets))}
		hs[k] = h
	}
	for i, ub := range buckets {
		if v <= ub {
			h.counts[i]++
			break
		}
	}
	h.sum += v
	h.n++
}

// Sample is one value of a gauge family collected at scrape time.
type Sample struct {
	Labels []string // name, value, name, value...
	Value  float64
}

// Gauge is a family of gauges read when /metrics is scraped (queue depth, DB size).
type Gauge struct {
	Name, Help string
	Samples    []Sample
}

// Write renders every metric, plus the scrape-time gauges, in the text format.
func (m *Metrics) Write(w io.Writer, version string, gauges ...Gauge) error {
	bw := bufio.NewWriter(w)
	m.mu.Lock()
	family(bw, "quire_http_requests_total", "counter", "HTTP requests by route pattern, method and status.")
	for _, k := range sortedKeys(m.requests) {
		fmt.Fprintf(bw, "quire_http_requests_total%s %d\n", labels("route", k[0], "method", k[1], "status", k[2]), m.requests[k])
	}
	family(bw, "quire_http_request_duration_seconds", "histogram", "HTTP request latency by route pattern and method.")
	for _, k := range sortedKeys(m.latency) {
		writeHisto(bw, "quire_http_request_duration_seconds", m.latency[k], "route", k[0], "method", k[1])
	}
	family(bw, "quire_ollama_call_duration_seconds", "histogram", "Calls to Ollama by kind and outcome.")
	for _, k := range sortedKeys(m.ollama) {
		writeHisto(bw, "quire_ollama_call_duration_seconds", m.ollama[k], "kind", k[0], "outcome", k[1])
	}
	family(bw, "quire_ollama_host_requests_total", "counter", "Calls routed to each Ollama host, by outcome (retried: failed there, tried on another host).")
	for _, k := range sortedKeys(m.hosts) {
		fmt.Fprintf(bw, "quire_ollama_host_requests_total%s %d\n", labels("host", k[0], "outcome", k[1]), m.hosts[k])
	}
	started := m.started
	m.mu.Unlock()

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauges = append(gauges,
		Gauge{"quire_build_info", "The running Quire's version.", []Sample{{Labels: []string{"version", version, "go_version", runtime.Version()}, Value: 1}}},
		Gauge{"quire_start_time_seconds", "When this process started (unix time).", []Sample{{Value: float64(started.Unix())}}},
		Gauge{"go_goroutines", "Goroutines that currently exist.", []Sample{{Value: float64(runtime.NumGoroutine())}}},
		Gauge{"go_memstats_heap_alloc_bytes", "Heap bytes allocated and in use.", []Sample{{Value: float64(ms.HeapAlloc)}}},
	)
	for _, g := range gauges {
		family(bw, g.Name, "gauge", g.Help)
		for _, s := range g.Samples {
			fmt.Fprintf(bw, "%s%s %s\n", g.Name, labels(s.Labels...), num(s.Value))
		}
	}
	return bw.Flush()
}

func family(w io.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func writeHisto(w io.Writer, name string, h *histo, kv ...string) {
	var cum uint64
	for i, ub := range h.buckets {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket%s %d\n", name, labels(slices.Concat(kv, []string{"le", num(ub)})...), cum)
	}
	fmt.Fprintf(w, "%s_bucket%s %d\n", name, labels(slices.Concat(kv, []string{"le", "+Inf"})...), h.n)
	fmt.Fprintf(w, "%s_sum%s %s\n", name, labels(kv...), num(h.sum))
	fmt.Fprintf(w, "%s_count%s %d\n", name, labels(kv...), h.n)
}

// labels renders {a="x",b="y"} with the format's escapes; "" for none.
func labels(kv ...string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%s="%s"`, kv[i], esc.Replace(kv[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

func num(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func sortedKeys[K [2]string | [3]string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	return keys
}

package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type opStats struct {
	lat                        []time.Duration
	ok, client4xx, server5xx   int
	transport                  int
	firstServerErr, firstTrans string
}

type results struct {
	mu      sync.Mutex
	ops     map[string]*opStats
	start   time.Time
	elapsed time.Duration
}

func newResults() *results { return &results{ops: map[string]*opStats{}} }

func (r *results) add(name string, code int, err error, d time.Duration) {
	s := r.ops[name]
	if s == nil {
		s = &opStats{}
		r.ops[name] = s
	}
	s.lat = append(s.lat, d)
	switch {
	case code == 0: // no response at all
		s.transport++
		if s.firstTrans == "" && err != nil {
			s.firstTrans = err.Error()
		}
	case code >= 500:
		s.server5xx++
		if s.firstServerErr == "" {
			s.firstServerErr = fmt.Sprintf("HTTP %d", code)
		}
	case code >= 400:
		s.client4xx++
	default:
		s.ok++
	}
	progressCount.Add(1)
}

// progressCount is shared by all users' local results for soak progress lines.
var progressCount atomic.Int64

func (r *results) merge(o *results) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, s := range o.ops {
		t := r.ops[name]
		if t == nil {
			r.ops[name] = s
			continue
		}
		t.lat = append(t.lat, s.lat...)
		t.ok, t.client4xx, t.server5xx, t.transport = t.ok+s.ok, t.client4xx+s.client4xx, t.server5xx+s.server5xx, t.transport+s.transport
		if t.firstServerErr == "" {
			t.firstServerErr = s.firstServerErr
		}
		if t.firstTrans == "" {
			t.firstTrans = s.firstTrans
		}
	}
}

func (r *results) progress(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := int64(0)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			n := progressCount.Load()
			fmt.Printf("%s  %d requests (%.0f/s over the last minute)\n", time.Since(r.start).Round(time.Second), n, float64(n-last)/every.Seconds())
			last = n
		}
	}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// report prints the summary and returns an error when the run must fail.
func (r *results) report(w io.Writer, locked int) error {
	var all []time.Duration
	var ok, c4, s5, tr int
	names := make([]string, 0, len(r.ops))
	for n := range r.ops {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\n%-16s %8s %8s %8s %8s %6s %6s\n", "operation", "count", "p50", "p95", "p99", "4xx", "5xx")
	var problems []string
	for _, n := range names {
		s := r.ops[n]
		slices.Sort(s.lat)
		all = append(all, s.lat...)
		ok, c4, s5, tr = ok+s.ok, c4+s.client4xx, s5+s.server5xx, tr+s.transport
		fmt.Fprintf(w, "%-16s %8d %8s %8s %8s %6d %6d\n", n, len(s.lat), ms(pct(s.lat, .5)), ms(pct(s.lat, .95)), ms(pct(s.lat, .99)), s.client4xx, s.server5xx+s.transport)
		if s.firstServerErr != "" {
			problems = append(problems, fmt.Sprintf("%s: first server error %s", n, s.firstServerErr))
		}
		if s.firstTrans != "" {
			problems = append(problems, fmt.Sprintf("%s: first transport error %s", n, s.firstTrans))
		}
	}
	slices.Sort(all)
	secs := r.elapsed.Seconds()
	fmt.Fprintf(w, "\ntotal %d requests in %s: %.0f req/s; latency p50 %s, p95 %s, p99 %s, max %s\n",
		len(all), r.elapsed.Round(time.Millisecond), float64(len(all))/secs, ms(pct(all, .5)), ms(pct(all, .95)), ms(pct(all, .99)), ms(pct(all, 1)))
	fmt.Fprintf(w, "2xx %d, 4xx %d, 5xx %d, transport errors %d, \"database is locked\" in the log %d\n", ok, c4, s5, tr, locked)
	for _, p := range problems {
		fmt.Fprintln(w, "  ", p)
	}
	var errs []error
	if s5 > 0 {
		errs = append(errs, fmt.Errorf("%d responses were 5xx", s5))
	}
	if tr > 0 {
		errs = append(errs, fmt.Errorf("%d requests failed in transport", tr))
	}
	if locked > 0 {
		errs = append(errs, fmt.Errorf("the server logged \"database is locked\" %d times", locked))
	}
	if ok == 0 {
		errs = append(errs, errors.New("no request succeeded"))
	}
	if len(errs) == 0 {
		fmt.Fprintln(w, "PASS")
	}
	return errors.Join(errs...)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

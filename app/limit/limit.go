// Package limit throttles repeated failures (logins, reset requests, token
// guesses) per key with a fixed window, in memory: one process serves the instance.
package limit

import (
	"sync"
	"time"
)

// Limiter allows Max failures per key within Window.
type Limiter struct {
	Max    int
	Window time.Duration

	mu   sync.Mutex
	hits map[string]*window
	now  func() time.Time
}

type window struct {
	start time.Time
	n     int
}

// New makes a limiter.
func New(max int, w time.Duration) *Limiter {
	return &Limiter{Max: max, Window: w, hits: map[string]*window{}, now: time.Now}
}

// Blocked reports whether key is over its budget and, if so, how long until it may retry.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.live(key)
	if w == nil || w.n < l.Max {
		return false, 0
	}
	return true, w.start.Add(l.Window).Sub(l.now())
}

// Fail records one failure for key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.live(key)
	if w == nil {
		w = &window{start: l.now()}
		l.hits[key] = w
		if len(l.hits) > 100_000 { // bound memory under a spray of keys
			l.sweep()
		}
	}
	w.n++
}

// Reset forgets key (after a success).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.hits, key)
	l.mu.Unlock()
}

func (l *Limiter) live(key string) *window {
	w := l.hits[key]
	if w != nil && l.now().Sub(w.start) >= l.Window {
		delete(l.hits, key)
		return nil
	}
	return w
}

func (l *Limiter) sweep() {
	for k, w := range l.hits {
		if l.now().Sub(w.start) >= l.Window {
			delete(l.hits, k)
		}
	}
}

// Take counts one use of key's budget if any is left, in one step so that
// parallel callers cannot all pass a check before any of them is counted. When
// the budget is spent it reports how long until key may try again.
func (l *Limiter) Take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.live(key)
	if w == nil {
		w = &window{start: l.now()}
		l.hits[key] = w
		if len(l.hits) > 100_000 {
			l.sweep()
		}
	}
	if w.n >= l.Max {
		return false, w.start.Add(l.Window).Sub(l.now())
	}
	w.n++
	return true, 0
}

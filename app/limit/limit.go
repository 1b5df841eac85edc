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

// Take counts one failure for key before the attempt is even checked, and
// refuses (false, with the time until key may retry) when its budget is spent.
// Checking and counting are one step so that parallel attempts cannot all pass
// a "not blocked yet" check before any of them is counted. An attempt that
// turns out to succeed gives its slot back with Return.
func (l *Limiter) Take(key string) (bool, time.Duration) {
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
	if w.n >= l.Max {
		return false, w.start.Add(l.Window).Sub(l.now())
	}
	w.n++
	return true, 0
}

// Return gives back a slot taken by Take for an attempt that did not fail.
func (l *Limiter) Return(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.live(key); w != nil && w.n > 0 {
		w.n--
	}
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

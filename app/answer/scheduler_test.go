package answer

import (
	"strings"
	"sync"
	"testing"
	"time"

	"quire/app/fault"
)

// The scheduler hands slots to workspaces in turn: a workspace with ten
// waiting generations gets one slot before another workspace's first one.
func TestSchedulerIsFairAcrossWorkspaces(t *testing.T) {
	s := newScheduler(20, 20, 1)
	running, _ := s.admit(1, "busy")
	if err := running.wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	var order []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	enqueue := func(user int64, ws string) {
		tk, err := s.admit(user, ws)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk.wait(t.Context())
			mu.Lock()
			order = append(order, ws)
			mu.Unlock()
			tk.release()
		}()
		for { // queued before the next one is added
			s.mu.Lock()
			queued := tk.queued
			s.mu.Unlock()
			if queued {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	for range 10 {
		enqueue(1, "busy")
	}
	enqueue(2, "quiet")
	running.release()
	wg.Wait()
	if i := indexOf(order, "quiet"); i > 1 {
		t.Fatalf("the quiet workspace got slot %d after the busy one's queue: %v", i, order)
	}
	// Per-user and per-workspace admission limits.
	s = newScheduler(2, 3, 1)
	for range 2 {
		if _, err := s.admit(1, "w"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.admit(1, "w"); !fault.Is(err, fault.RateLimited) || err.(*fault.Error).RetryAfter == 0 {
		t.Fatalf("third generation of one user: %v", err)
	}
	if _, err := s.admit(2, "w"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.admit(3, "w"); err == nil || !strings.Contains(err.Error(), "workspace") {
		t.Fatalf("fourth generation of one workspace: %v", err)
	}
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

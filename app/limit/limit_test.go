package limit

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimiterWindow(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := New(3, time.Minute)
	l.now = func() time.Time { return clock }
	for range 3 {
		if ok, _ := l.Take("k"); !ok {
			t.Fatal("refused before the budget was spent")
		}
	}
	ok, wait := l.Take("k")
	if ok || wait != time.Minute {
		t.Fatalf("ok=%v wait=%v after 3 failures", ok, wait)
	}
	if ok, _ := l.Take("other"); !ok {
		t.Fatal("another key is blocked")
	}
	clock = clock.Add(61 * time.Second)
	if ok, _ := l.Take("k"); !ok {
		t.Fatal("still blocked after the window")
	}
	l.Take("k")
	l.Reset("k")
	for range 3 {
		if ok, _ := l.Take("k"); !ok {
			t.Fatal("blocked after reset")
		}
	}
}

// A returned slot is free again: successes do not use up the budget.
func TestLimiterReturn(t *testing.T) {
	l := New(2, time.Minute)
	for range 10 {
		if ok, _ := l.Take("k"); !ok {
			t.Fatal("a returned slot was not given back")
		}
		l.Return("k")
	}
	l.Take("k")
	l.Take("k")
	if ok, _ := l.Take("k"); ok {
		t.Fatal("third failure allowed")
	}
}

// Parallel attempts get exactly Max slots, never more.
func TestLimiterTakeIsAtomic(t *testing.T) {
	l := New(5, time.Minute)
	var got atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if ok, _ := l.Take("k"); ok {
				got.Add(1)
			}
		})
	}
	wg.Wait()
	if got.Load() != 5 {
		t.Fatalf("%d of 200 parallel attempts passed a limit of 5", got.Load())
	}
}

package limit

import (
	"testing"
	"time"
)

func TestLimiterWindow(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := New(3, time.Minute)
	l.now = func() time.Time { return clock }
	for range 3 {
		if b, _ := l.Blocked("k"); b {
			t.Fatal("blocked before budget spent")
		}
		l.Fail("k")
	}
	b, wait := l.Blocked("k")
	if !b || wait != time.Minute {
		t.Fatalf("blocked=%v wait=%v after 3 failures", b, wait)
	}
	if b, _ := l.Blocked("other"); b {
		t.Fatal("another key is blocked")
	}
	clock = clock.Add(61 * time.Second)
	if b, _ := l.Blocked("k"); b {
		t.Fatal("still blocked after the window")
	}
	l.Fail("k")
	l.Reset("k")
	if b, _ := l.Blocked("k"); b {
		t.Fatal("blocked after reset")
	}
}

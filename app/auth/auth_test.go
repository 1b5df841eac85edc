package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=2$") {
		t.Fatalf("unexpected hash format %q", h)
	}
	if ok, err := CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("right password rejected: %v %v", ok, err)
	}
	if ok, _ := CheckPassword(h, "correct horsE"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	if _, err := CheckPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Fatal("foreign hash format accepted")
	}
}

func TestTokensAndCSRF(t *testing.T) {
	a, ha := NewToken("qk_")
	b, _ := NewToken("qk_")
	if a == b || !strings.HasPrefix(a, "qk_") || len(a) < 40 {
		t.Fatalf("weak tokens %q %q", a, b)
	}
	if string(HashToken(a)) != string(ha) {
		t.Fatal("hash of presented token does not match stored hash")
	}
	key := []byte("instance-secret")
	tok := CSRFToken(key, ha)
	if !CheckCSRF(key, ha, tok) {
		t.Fatal("own CSRF token rejected")
	}
	if CheckCSRF(key, HashToken(b), tok) || CheckCSRF(key, ha, "") || CheckCSRF([]byte("other"), ha, tok) {
		t.Fatal("CSRF token accepted for another session, empty, or another key")
	}
}

func TestSlotsBoundConcurrentHashing(t *testing.T) {
	s := NewSlots(2, 20*time.Millisecond)
	release := make(chan struct{})
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			errs <- s.Do(context.Background(), func() {
				if n := running.Add(1); n > peak.Load() {
					peak.Store(n)
				}
				<-release
				running.Add(-1)
			})
		})
	}
	time.Sleep(100 * time.Millisecond) // the four without a slot give up after 20 ms
	close(release)
	wg.Wait()
	close(errs)
	busy := 0
	for err := range errs {
		if errors.Is(err, ErrBusy) {
			busy++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if peak.Load() != 2 || busy != 4 {
		t.Fatalf("peak %d hashes at once, %d busy; want 2 and 4", peak.Load(), busy)
	}
	// Free slots again: a waiting request gets one.
	if _, err := s.Hash(context.Background(), "correct horse"); err != nil {
		t.Fatal(err)
	}
}

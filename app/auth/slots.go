package auth

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// ErrBusy means every hashing slot stayed taken for longer than Slots.Wait:
// the caller should answer 429 and let the client retry.
var ErrBusy = errors.New("auth: password hashing is busy")

// Slots bounds how many password hashes are computed at once. Each argon2id
// run holds Params.Memory (64 MiB) for its duration, so unbounded parallel
// requests (logins, signups, reset confirmations) turn into gigabytes.
type Slots struct {
	Wait time.Duration // how long a request queues for a slot before ErrBusy
	ch   chan struct{}
}

// NewSlots allows n hashes at once.
func NewSlots(n int, wait time.Duration) *Slots {
	return &Slots{Wait: wait, ch: make(chan struct{}, n)}
}

// Hashing is the process-wide bound: as many hashes as cores, between 2 and 4
// (more cores than that gain a small appliance nothing but memory pressure).
var Hashing = NewSlots(min(max(runtime.GOMAXPROCS(0), 2), 4), 2*time.Second)

// Do runs f in a slot, or returns ErrBusy (or the context's error) without running it.
func (s *Slots) Do(ctx context.Context, f func()) error {
	t := time.NewTimer(s.Wait)
	defer t.Stop()
	select {
	case s.ch <- struct{}{}:
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.ch }()
	f()
	return nil
}

// Hash is HashPassword in a slot.
func (s *Slots) Hash(ctx context.Context, password string) (hash string, err error) {
	if err := s.Do(ctx, func() { hash, err = HashPassword(password) }); err != nil {
		return "", err
	}
	return hash, err
}

// Check is CheckPassword in a slot; a malformed hash counts as a mismatch.
func (s *Slots) Check(ctx context.Context, hash, password string) (ok bool, err error) {
	err = s.Do(ctx, func() { ok, _ = CheckPassword(hash, password) })
	return ok, err
}

// Burn is BurnPasswordCheck in a slot.
func (s *Slots) Burn(ctx context.Context, password string) error {
	return s.Do(ctx, func() { BurnPasswordCheck(password) })
}

package app

import (
	"context"
	"testing"
	"time"

	"quire/store"
)

// Start sweeps expired sessions (and then hourly): only the live token stays.
func TestHousekeepingDeletesExpiredTokens(t *testing.T) {
	ts := newTestServer(t)
	u := ts.quickUser("sweep")
	ctx := context.Background()
	past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	expired, err := ts.store.CreateToken(ctx, u.ID, store.TokenSession, "old", []byte("expired-token-hash"), "", &past)
	if err != nil {
		t.Fatal(err)
	}
	live, err := ts.store.CreateToken(ctx, u.ID, store.TokenSession, "new", []byte("live-token-hash"), "", &future)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv.startHousekeeping(ctx)
	t.Cleanup(func() { ts.srv.stopHousekeeping(); ts.srv.housekeeping.Wait() })
	count := func(id int64) (n int) {
		if err := ts.rawDB().QueryRow(`SELECT count(*) FROM auth_tokens WHERE id = ?`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(5 * time.Second); count(expired.ID) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the expired token was not deleted")
		}
	}
	if count(live.ID) != 1 {
		t.Fatal("the live token was deleted")
	}
}

package audit

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"quire/store"
)

func open(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "quire.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Many goroutines record at once (requests in parallel): every event is
// written once, in one valid chain, and Close writes what is still queued.
func TestParallelRecordsFormOneChain(t *testing.T) {
	st, _ := open(t)
	l := New(st, quiet, 0)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			ctx := WithActor(context.Background(), Actor{UserID: int64(g + 1), Kind: KindSession, Address: "10.0.0.1"})
			for range 50 {
				l.Record(ctx, Event{Action: "document.downloaded", Workspace: "ws", Target: Target{Type: "document", ID: "d"}})
			}
		})
	}
	wg.Wait()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	v, err := st.VerifyAudit(context.Background())
	if err != nil || v.Rows != 800 {
		t.Fatalf("verify: %+v %v", v, err)
	}
	if w, d, q := l.Stats(); w != 800 || d != 0 || q != 0 {
		t.Fatalf("stats written %d dropped %d queued %d", w, d, q)
	}
	l.Record(context.Background(), Event{Action: "auth.login"})
	if l.Dropped() != 1 {
		t.Fatal("a record after Close was not counted as dropped")
	}
}

// While the database is locked by someone else (a long backup, a stuck
// disk), requests go on: Record never waits, a full queue drops and counts,
// and once the writer gets through, an audit.dropped row says how many.
func TestAFullQueueDropsCountsAndSaysSoInTheLog(t *testing.T) {
	st, path := open(t)
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Begin() // holds SQLite's write lock
	if err != nil {
		t.Fatal(err)
	}
	l := New(st, quiet, 4)
	start := time.Now()
	for range 50 {
		l.Record(context.Background(), Event{Action: "document.deleted"})
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("50 records took %s while the database was locked", d)
	}
	if l.Dropped() < 40 {
		t.Fatalf("dropped %d of 50 with a queue of 4", l.Dropped())
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(context.Background()); err != nil { // the batch blocked on the lock
		t.Fatal(err)
	}
	l.Record(context.Background(), Event{Action: "auth.login"}) // the next batch reports the loss
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := st.ListAudit(context.Background(), store.AuditFilter{AllWorkspaces: true, Action: "audit.dropped"})
	if err != nil || len(rows) != 1 || rows[0].Outcome != store.AuditFailed {
		t.Fatalf("audit.dropped rows %+v %v", rows, err)
	}
	if rows[0].Details != `{"dropped":`+strconv.FormatInt(l.Dropped(), 10)+`}` {
		t.Fatalf("details %s, want %d dropped", rows[0].Details, l.Dropped())
	}
	kept, _ := st.ListAudit(context.Background(), store.AuditFilter{AllWorkspaces: true, Action: "document.deleted"})
	if int64(len(kept))+l.Dropped() != 50 {
		t.Fatalf("%d written + %d dropped of 50", len(kept), l.Dropped())
	}
	if _, err := st.VerifyAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Close(context.Background())
}

// What a hostile caller controls is bounded and cleaned before it is stored.
func TestEntriesAreBounded(t *testing.T) {
	long := strings.Repeat("a", 1000)
	e := entry(Actor{Email: "a\x00b\u202e@example.com", Address: long}, Event{Action: "x", Workspace: long,
		Target: Target{ID: long, Label: "line\nbreak" + strings.Repeat("é", 500)}, Details: map[string]any{"big": long + long + long + long + long}})
	if e.Email != "ab@example.com" || len(e.Address) != maxID || len(e.WorkspaceID) != maxID || len(e.TargetID) != maxID {
		t.Fatalf("not clipped: %q %d %d %d", e.Email, len(e.Address), len(e.WorkspaceID), len(e.TargetID))
	}
	if len([]rune(e.TargetLabel)) != maxLabel+1 || !strings.HasPrefix(e.TargetLabel, "linebreak") || e.Details != `{"truncated":true}` {
		t.Fatalf("label %d runes, details %.40s", len([]rune(e.TargetLabel)), e.Details)
	}
}

package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A snapshot taken while a writer keeps committing is sound and holds every
// row committed before it began.
func TestSnapshotWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(ctx, filepath.Join(dir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, "w@example.com", "W", "x", true)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.CreateWorkspace(ctx, u.ID, "Busy")
	if err != nil {
		t.Fatal(err)
	}
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := st.CreateFolder(ctx, ws.ID, u.ID, 0, fmt.Sprintf("f%05d", i)); err != nil {
				t.Error(err)
				return
			}
			committed.Add(1)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	before := committed.Load()
	dest := filepath.Join(dir, "snap.db")
	if err := st.SnapshotTo(ctx, dest); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if committed.Load() <= before {
		t.Fatal("the writer made no progress during the snapshot")
	}
	if err := st.SnapshotTo(ctx, dest); err == nil {
		t.Fatal("snapshot over an existing file succeeded")
	}
	// The pooled reader is read-only again after the snapshot.
	if _, err := st.r.ExecContext(ctx, `CREATE TABLE nope (x)`); err == nil {
		t.Fatal("a reader connection is writable after a snapshot")
	}

	snap, err := OpenExisting(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if p, err := snap.IntegrityCheck(ctx, false); err != nil || len(p) > 0 {
		t.Fatalf("integrity: %v %v", p, err)
	}
	fs, err := snap.ListFolders(ctx, ws.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(fs)) < before {
		t.Fatalf("snapshot holds %d folders; %d were committed before it began", len(fs), before)
	}
	if v, dirty, err := snap.SchemaVersion(); err != nil || dirty || v != LatestSchemaVersion() {
		t.Fatalf("snapshot schema %d dirty=%v err=%v, want %d", v, dirty, err, LatestSchemaVersion())
	}
}

func TestTaskCountsAndSizes(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.TaskCounts(ctx)
	if err != nil || c["queued"] != 0 || len(c) != 5 {
		t.Fatalf("counts %v %v", c, err)
	}
	if db, _ := st.Sizes(); db == 0 {
		t.Fatal("database size 0")
	}
	if LatestSchemaVersion() < 1 {
		t.Fatal("no embedded migrations found")
	}
}

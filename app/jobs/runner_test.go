package jobs_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"quire/app/jobs"
	"quire/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fast is a config whose waits suit tests.
func fast() jobs.Config {
	return jobs.Config{Workers: 2, Poll: 50 * time.Millisecond, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		DeferMin: 5 * time.Millisecond, DeferMax: 10 * time.Millisecond}
}

func start(t *testing.T, r *jobs.Runner) {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
	})
}

func waitStatus(t *testing.T, st *store.Store, id int64, status string) *store.Task {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tk, err := st.GetTask(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Status == status {
			return tk
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %d is %s (%s), want %s", id, tk.Status, tk.LastError, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRetriesUntilSuccess(t *testing.T) {
	st := openStore(t)
	r := jobs.New(st, fast())
	var calls atomic.Int32
	r.Register(store.TaskEmbed, jobs.Kind{Run: func(ctx context.Context, tk *jobs.Task) error {
		if err := tk.Progress(ctx, 50); err != nil {
			return err
		}
		if calls.Add(1) < 3 {
			return errors.New("flaky")
		}
		return nil
	}})
	start(t, r)
	id, _ := r.Enqueue(context.Background(), store.NewTask{Kind: store.TaskEmbed})
	tk := waitStatus(t, st, id, store.TaskSucceeded)
	if tk.Attempts != 3 || tk.Progress != 100 || tk.LastError != "" {
		t.Errorf("task %+v", tk)
	}
}

func TestFailures(t *testing.T) {
	st := openStore(t)
	r := jobs.New(st, fast())
	var gaveUp sync.Map
	r.Register(store.TaskEmbed, jobs.Kind{
		Run: func(ctx context.Context, tk *jobs.Task) error {
			switch tk.MaxAttempts {
			case 1:
				panic("boom")
			case 2:
				return errors.New("always broken")
			}
			return jobs.Permanent(errors.New("the file is damaged"))
		},
		GaveUp: func(ctx context.Context, tk store.Task, err error) { gaveUp.Store(tk.ID, err.Error()) },
	})
	start(t, r)
	ctx := context.Background()
	panics, _ := r.Enqueue(ctx, store.NewTask{Kind: store.TaskEmbed, MaxAttempts: 1})
	broken, _ := r.Enqueue(ctx, store.NewTask{Kind: store.TaskEmbed, MaxAttempts: 2})
	damaged, _ := r.Enqueue(ctx, store.NewTask{Kind: store.TaskEmbed, MaxAttempts: 5})
	for id, want := range map[int64]int{panics: 1, broken: 2, damaged: 1} {
		tk := waitStatus(t, st, id, store.TaskFailed)
		if tk.Attempts != want {
			t.Errorf("task %d: %d attempts, want %d (%s)", id, tk.Attempts, want, tk.LastError)
		}
	}
	time.Sleep(20 * time.Millisecond)
	for _, id := range []int64{panics, broken, damaged} {
		if _, ok := gaveUp.Load(id); !ok {
			t.Errorf("GaveUp not called for task %d", id)
		}
	}
	if msg, _ := gaveUp.Load(damaged); msg != "the file is damaged" {
		t.Errorf("GaveUp message %q", msg)
	}
}

func TestDeferDoesNotUseAttempts(t *testing.T) {
	st := openStore(t)
	r := jobs.New(st, fast())
	var calls atomic.Int32
	r.Register(store.TaskEmbed, jobs.Kind{Run: func(ctx context.Context, tk *jobs.Task) error {
		if calls.Add(1) < 6 {
			return jobs.Defer(errors.New("model server down"))
		}
		return nil
	}})
	start(t, r)
	id, _ := r.Enqueue(context.Background(), store.NewTask{Kind: store.TaskEmbed, MaxAttempts: 2})
	if tk := waitStatus(t, st, id, store.TaskSucceeded); tk.Attempts != 1 {
		t.Errorf("attempts %d after 5 deferrals", tk.Attempts)
	}
}

func TestBoundedWorkersAndCancel(t *testing.T) {
	st := openStore(t)
	cfg := fast()
	cfg.Workers = 2
	r := jobs.New(st, cfg)
	var now, peak atomic.Int32
	release := make(chan struct{})
	causes := make(chan error, 10)
	r.Register(store.TaskEmbed, jobs.Kind{Run: func(ctx context.Context, tk *jobs.Task) error {
		n := now.Add(1)
		defer now.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			causes <- context.Cause(ctx)
			return ctx.Err()
		}
	}})
	start(t, r)
	ctx := context.Background()
	var ids []int64
	for range 5 {
		id, _ := r.Enqueue(ctx, store.NewTask{Kind: store.TaskEmbed})
		ids = append(ids, id)
	}
	first := waitStatus(t, st, ids[0], store.TaskRunning)
	waitStatus(t, st, ids[1], store.TaskRunning)
	time.Sleep(50 * time.Millisecond)
	if got, _ := st.GetTask(ctx, ids[2]); got.Status != store.TaskQueued {
		t.Errorf("a third task runs with two workers: %+v", got)
	}
	if err := r.Cancel(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if cause := <-causes; !errors.Is(cause, jobs.ErrCancelled) {
		t.Errorf("cancel cause %v", cause)
	}
	if err := r.Cancel(ctx, ids[4]); err != nil { // queued: never runs
		t.Fatal(err)
	}
	close(release)
	for _, id := range ids[1:4] {
		waitStatus(t, st, id, store.TaskSucceeded)
	}
	waitStatus(t, st, first.ID, store.TaskCancelled)
	waitStatus(t, st, ids[4], store.TaskCancelled)
	if peak.Load() != 2 {
		t.Errorf("peak concurrency %d, want 2", peak.Load())
	}
	if err := r.Cancel(ctx, first.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancel a finished task: %v", err)
	}
}

func TestCancelDocumentWaits(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	u, _ := st.CreateUser(ctx, "a@example.com", "", "x", true)
	ws, _ := st.CreateWorkspace(ctx, u.ID, "W")
	r := jobs.New(st, fast())
	started := make(chan struct{})
	var returned atomic.Bool
	r.Register(store.TaskIngest, jobs.Kind{Run: func(ctx context.Context, tk *jobs.Task) error {
		close(started)
		<-ctx.Done()
		time.Sleep(30 * time.Millisecond) // a handler finishing its current batch
		returned.Store(true)
		return ctx.Err()
	}})
	start(t, r)
	d, _, _ := st.CreateDocument(ctx, ws.ID, store.NewDocument{Name: "d"}) // queues an ingest task
	r.Wake()
	<-started
	if err := r.CancelDocument(ctx, ws.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	if !returned.Load() {
		t.Error("CancelDocument returned before the handler did")
	}
}

// TestStopRequeuesAndRestartResumes stops a runner mid-task and checks that
// the next runner picks the task up, as after a restart.
func TestStopRequeuesAndRestartResumes(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	r1 := jobs.New(st, fast())
	running := make(chan struct{}, 1)
	r1.Register(store.TaskEmbed, jobs.Kind{Run: func(ctx context.Context, tk *jobs.Task) error {
		running <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}})
	if err := r1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	id, _ := r1.Enqueue(ctx, store.NewTask{Kind: store.TaskEmbed})
	<-running
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := r1.Stop(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stop: %v", err)
	}
	if tk := waitStatus(t, st, id, store.TaskQueued); tk.Attempts != 0 {
		t.Errorf("an interrupted attempt was counted: %+v", tk)
	}

	// A process that died mid-task leaves it running: the next Start requeues it.
	if tk, _ := st.ClaimTask(ctx, "dead-process", store.Claim{Kinds: []string{store.TaskEmbed}}); tk == nil || tk.ID != id {
		t.Fatalf("claim: %+v", tk)
	}
	r2 := jobs.New(st, fast())
	r2.Register(store.TaskEmbed, jobs.Kind{Run: func(ctx context.Context, tk *jobs.Task) error { return nil }})
	start(t, r2)
	if tk := waitStatus(t, st, id, store.TaskSucceeded); tk.Attempts != 2 || tk.LockedBy != "" {
		t.Errorf("after restart: %+v", tk)
	}
}

// Package jobs runs Quire's background work in-process, durably: the queue is
// the document_processing_tasks table, so tasks survive restarts. A Runner
// claims due tasks with a bounded number of workers, gives each a context that
// Cancel, CancelDocument and Stop can end, retries failures with exponential
// backoff, and on Start puts back the tasks a dead process left running.
//
// Handlers must be idempotent: a task interrupted by a crash runs again from
// the start. (Ingest writes chunks batch by batch with upserts, so a re-run
// skips or rewrites what is there and duplicates nothing.)
package jobs

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"quire/store"
)

// Handler does one task. Returning nil completes it; see Permanent and Defer
// for the other outcomes, any other error is retried with backoff.
type Handler func(ctx context.Context, t *Task) error

// Kind is how the runner treats one task kind.
type Kind struct {
	Run Handler
	// GaveUp, optional, hears of a task that failed for good: a permanent
	// error, its last attempt failed, or the process died during every
	// attempt. Its owner records the outcome there (a document → failed).
	GaveUp func(ctx context.Context, t store.Task, err error)
}

// Config tunes a Runner; zero fields take the defaults.
type Config struct {
	Workers int // tasks run at once (default 2)
	// PerWorkspace caps the tasks of one workspace that run at once
	// (default Workers-1, at least 1): one slot always stays free for the
	// other workspaces, so one workspace's slow or hostile uploads cannot
	// starve them. Workspaces otherwise take turns.
	PerWorkspace int
	Poll         time.Duration // longest idle sleep between queue checks (default 5s); Enqueue wakes the runner at once
	Backoff      time.Duration // delay before the first retry, doubling per attempt (default 10s)
	MaxBackoff   time.Duration // cap of the retry delay (default 10m)
	// DeferMin and DeferMax bound the wait of a deferred task: half the
	// task's age, so waits grow the longer the outage lasts (default 5s, 5m).
	DeferMin, DeferMax time.Duration
	Owner              string // locked_by of claimed tasks (default host:pid:random)
	Logger             *slog.Logger
}

// Runner is the durable in-process task runner.
type Runner struct {
	st    *store.Store
	cfg   Config
	log   *slog.Logger
	kinds map[string]Kind
	names []string

	wake    chan struct{}
	slots   chan struct{}
	stop    chan struct{}
	stopped chan struct{} // closed when the dispatcher has returned
	base    context.Context
	kill    context.CancelCauseFunc

	mu      sync.Mutex
	running map[int64]*inflight
	wg      sync.WaitGroup
	started bool

	// Round-robin across workspaces (dispatcher goroutine only): the claim
	// sequence number of each workspace's last task.
	turn  int64
	turns map[string]int64
}

// maxTurns bounds the round-robin memory; workspaces forgotten take their
// turn first next time, which is harmless.
const maxTurns = 4096

type inflight struct {
	task   store.Task
	cancel context.CancelCauseFunc
	done   chan struct{}
}

var (
	// ErrCancelled is the cause of a task context ended by Cancel or
	// CancelDocument; Task.Progress returns it once the task is cancelled.
	ErrCancelled = errors.New("task cancelled")
	errShutdown  = errors.New("task runner stopping")
)

// New returns a runner over the store's task table. Register handlers, then Start.
func New(st *store.Store, cfg Config) *Runner {
	cfg.Workers = max(1, cmp.Or(cfg.Workers, 2))
	cfg.PerWorkspace = max(1, cmp.Or(cfg.PerWorkspace, cfg.Workers-1))
	cfg.Poll = cmp.Or(cfg.Poll, 5*time.Second)
	cfg.Backoff = cmp.Or(cfg.Backoff, 10*time.Second)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, 10*time.Minute)
	cfg.DeferMin = cmp.Or(cfg.DeferMin, 5*time.Second)
	cfg.DeferMax = cmp.Or(cfg.DeferMax, 5*time.Minute)
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Runner{st: st, cfg: cfg, log: log.With("component", "jobs"), kinds: map[string]Kind{},
		wake: make(chan struct{}, 1), running: map[int64]*inflight{}, turns: map[string]int64{}}
}

// Register sets the handler of a task kind. Call it before Start.
func (r *Runner) Register(kind string, k Kind) {
	if r.started {
		panic("jobs: Register after Start")
	}
	r.kinds[kind] = k
	r.names = append(r.names, kind)
}

// Start requeues the tasks a dead process left running, then starts the
// workers. Only one runner may serve a database: RequeueStale assumes every
// running task is an orphan.
func (r *Runner) Start(ctx context.Context) error {
	if r.started {
		return errors.New("jobs: runner already started")
	}
	n, gaveUp, err := r.st.RequeueStale(ctx)
	if err != nil {
		return fmt.Errorf("requeue interrupted tasks: %w", err)
	}
	if n > 0 {
		r.log.Info("requeued tasks interrupted by a restart", "count", n)
	}
	for _, t := range gaveUp {
		r.gaveUp(ctx, t, errors.New(t.LastError))
	}
	r.started = true
	r.slots = make(chan struct{}, r.cfg.Workers)
	r.stop, r.stopped = make(chan struct{}), make(chan struct{})
	r.base, r.kill = context.WithCancelCause(context.WithoutCancel(ctx))
	go r.dispatch()
	return nil
}

// Stop stops claiming tasks and waits for the running ones until ctx ends;
// then it cancels those still running and puts them back in the queue (they
// run again, from the start, after the next Start).
func (r *Runner) Stop(ctx context.Context) error {
	if !r.started {
		return nil
	}
	select {
	case <-r.stop:
		return nil // already stopped
	default:
	}
	close(r.stop)
	<-r.stopped
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	r.kill(errShutdown)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		// A handler that ignores its context: requeue its task here; its
		// late outcome will no longer match a running task and is dropped.
		r.mu.Lock()
		for id := range r.running {
			_ = r.st.ReleaseTask(context.Background(), id, r.cfg.Owner)
		}
		r.mu.Unlock()
	}
	return ctx.Err()
}

// Enqueue adds a task and wakes the runner.
func (r *Runner) Enqueue(ctx context.Context, nt store.NewTask) (int64, error) {
	id, err := r.st.EnqueueTask(ctx, nt)
	if err == nil {
		r.Wake()
	}
	return id, err
}

// Wake makes an idle runner look at the queue now (after tasks were added or
// made due directly in the store).
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Cancel cancels a queued or running task; a running one's context ends with
// cause ErrCancelled. store.ErrNotFound when it has finished or does not exist.
func (r *Runner) Cancel(ctx context.Context, id int64) error {
	if err := r.st.CancelTask(ctx, id); err != nil {
		return err
	}
	r.mu.Lock()
	if f := r.running[id]; f != nil {
		f.cancel(ErrCancelled)
	}
	r.mu.Unlock()
	return nil
}

// CancelDocument cancels every task of a document and waits until the
// handlers that were running have returned (or ctx ends), so the caller can
// then change the document (delete it, reset it) without a handler writing
// behind its back.
func (r *Runner) CancelDocument(ctx context.Context, wsID, docID string) error {
	if _, err := r.st.CancelDocumentTasks(ctx, wsID, docID); err != nil {
		return err
	}
	var wait []chan struct{}
	r.mu.Lock()
	for _, f := range r.running {
		if f.task.WorkspaceID == wsID && f.task.DocumentID == docID {
			f.cancel(ErrCancelled)
			wait = append(wait, f.done)
		}
	}
	r.mu.Unlock()
	for _, d := range wait {
		select {
		case <-d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Running lists the tasks this runner is working on, as claimed.
func (r *Runner) Running() []store.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]store.Task, 0, len(r.running))
	for _, f := range r.running {
		out = append(out, f.task)
	}
	return out
}

// dispatch claims due tasks while a worker slot is free.
func (r *Runner) dispatch() {
	defer close(r.stopped)
	for {
		select {
		case r.slots <- struct{}{}:
		case <-r.stop:
			return
		}
		t, err := r.st.ClaimTask(r.base, r.cfg.Owner, r.claim(true))
		if err != nil {
			r.log.Error("claiming a task", "err", err)
		}
		if t == nil {
			<-r.slots
			if !r.idle(err != nil) {
				return
			}
			continue
		}
		r.served(t.WorkspaceID)
		r.start(*t)
	}
}

// claim is what the dispatcher may claim; the turns only matter for the
// claim itself, not for NextTaskDue.
func (r *Runner) claim(withTurns bool) store.Claim {
	c := store.Claim{Kinds: r.names, PerWorkspace: r.cfg.PerWorkspace}
	if withTurns {
		c.Turns = r.turns
	}
	return c
}

// served records that a workspace just had its turn.
func (r *Runner) served(wsID string) {
	if wsID == "" {
		return
	}
	r.turn++
	r.turns[wsID] = r.turn
	if len(r.turns) > maxTurns {
		for id, n := range r.turns {
			if n <= r.turn-maxTurns/2 {
				delete(r.turns, id)
			}
		}
	}
}

// idle sleeps until the next task is due, a wake-up, or Poll; false on stop.
func (r *Runner) idle(failed bool) bool {
	wait := r.cfg.Poll
	if !failed {
		if at, ok, err := r.st.NextTaskDue(r.base, r.claim(false)); err == nil && ok {
			// A floor, so a task that is due but not claimable (a race with
			// another task of its document) cannot make this loop spin.
			wait = min(wait, max(time.Until(at), 10*time.Millisecond))
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-r.stop:
		return false
	case <-r.wake:
	case <-timer.C:
	}
	return true
}

func (r *Runner) start(t store.Task) {
	ctx, cancel := context.WithCancelCause(r.base)
	f := &inflight{task: t, cancel: cancel, done: make(chan struct{})}
	r.mu.Lock()
	r.running[t.ID] = f
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.slots; r.Wake() }() // a freed slot may let a blocked task of the same document run
		defer close(f.done)
		defer func() {
			r.mu.Lock()
			delete(r.running, t.ID)
			r.mu.Unlock()
			cancel(nil)
		}()
		err := r.call(ctx, &Task{Task: t, r: r})
		r.settle(ctx, t, err)
	}()
}

// call runs the handler, turning a panic into an error (retried like any other).
func (r *Runner) call(ctx context.Context, t *Task) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("task handler panicked", "task", t.ID, "kind", t.Kind, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error while processing (%v)", v)
		}
	}()
	return r.kinds[t.Kind].Run(ctx, t)
}

// settle records a handler's outcome. Store calls get a context of their own:
// the task's may be cancelled by now.
func (r *Runner) settle(ctx context.Context, t store.Task, err error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	log := r.log.With("task", t.ID, "kind", t.Kind, "document", t.DocumentID)
	var serr error
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrCancelled):
		log.Info("task cancelled")
	case errors.Is(cause, errShutdown):
		serr = r.st.ReleaseTask(sctx, t.ID, r.cfg.Owner)
	case err == nil:
		serr = r.st.CompleteTask(sctx, t.ID, r.cfg.Owner)
	case isDefer(err):
		wait := min(max(time.Since(t.CreatedAt)/2, r.cfg.DeferMin), r.cfg.DeferMax)
		log.Info("task deferred", "wait", wait, "reason", err)
		serr = r.st.DeferTask(sctx, t.ID, r.cfg.Owner, err.Error(), wait)
	default:
		retry := !isPermanent(err)
		backoff := min(r.cfg.Backoff<<min(max(t.Attempts-1, 0), 20), r.cfg.MaxBackoff)
		var final bool
		final, serr = r.st.FailTask(sctx, t.ID, r.cfg.Owner, err.Error(), retry, backoff)
		if serr == nil && final {
			log.Warn("task failed", "attempts", t.Attempts, "err", err)
			t.LastError = err.Error()
			r.gaveUp(sctx, t, err)
		} else if serr == nil {
			log.Info("task will be retried", "in", backoff, "err", err)
		}
	}
	if serr != nil && !errors.Is(serr, store.ErrNotFound) {
		log.Error("recording a task's outcome", "err", serr)
	}
}

func (r *Runner) gaveUp(ctx context.Context, t store.Task, err error) {
	if k, ok := r.kinds[t.Kind]; ok && k.GaveUp != nil {
		k.GaveUp(ctx, t, err)
	}
}

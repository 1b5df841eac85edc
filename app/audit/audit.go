// Package audit is Quire's audit log: who did what, when, from where, with
// what outcome. Events are recorded from two kinds of places: the HTTP layer's
// one audit step (every route whose table entry names an action) and the use
// cases for what no route sees (sign-ins, the passages a search or an answer
// handed to a person). Recording never waits for the database: events go to a
// bounded queue that one writer goroutine appends in batches to the hash-chained
// table of package store (store/audit.go).
//
// The actor comes from the context (WithActor, set by authentication), so a use
// case records with nothing but its ctx and what it did.
package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"quire/store"
)

// Actor kinds.
const (
	KindSession   = "session"
	KindAPIKey    = "api_key"
	KindAnonymous = "anonymous" // not signed in: a login, a public link
	KindCLI       = "cli"       // a quire subcommand on the server's machine
	KindSystem    = "system"    // Quire itself: housekeeping, scheduled backups
)

// Actor is who acts in a request.
type Actor struct {
	UserID  int64 // 0: nobody signed in
	TokenID int64 // the session or API key used
	Email   string
	Kind    string
	Address string // the client's address
	Route   string // the route pattern of the request, telling a search from an answer or /v1
}

type actorKey struct{}

// WithActor carries a into ctx for every record made under it.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom is the actor ctx carries; the system when none.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: KindSystem}
}

// Carry gives dst the actor src carries, if any: for work a request starts
// that outlives it (a reply is written under the service's own context).
func Carry(dst, src context.Context) context.Context {
	if a, ok := src.Value(actorKey{}).(Actor); ok {
		return WithActor(dst, a)
	}
	return dst
}

// Target is what an action was done to.
type Target struct {
	Type, ID, Label string
}

// Event is one thing to record.
type Event struct {
	Action    string // dotted, e.g. document.deleted (docs/API.md lists them)
	Workspace string // "" for instance events
	Target    Target
	Outcome   string // store.AuditOK (default), AuditDenied, AuditFailed
	Details   map[string]any
	Actor     *Actor // nil: the context's actor
}

// Limits on what one row holds, so a hostile name or query cannot bloat the log.
const (
	maxLabel   = 200  // runes of a target label or email
	maxID      = 128  // bytes of a target or workspace id
	maxDetails = 4096 // bytes of the details JSON
)

// Queue and batch sizes: the queue absorbs bursts far above what the single
// writer connection sustains for a moment; each batch is one transaction,
// gathered for up to batchWindow after its first event so that a steady
// trickle of requests costs one commit per window rather than one each
// (BenchmarkAuditOverhead measures it).
const (
	DefaultQueue = 10000
	maxBatch     = 500
	batchWindow  = 20 * time.Millisecond
)

// Log queues events and appends them in batches.
type Log struct {
	st  *store.Store
	log *slog.Logger

	queue   chan item
	stop    chan struct{}
	stopped chan struct{}
	closed  atomic.Bool

	written    atomic.Int64 // rows appended
	dropped    atomic.Int64 // events lost: queue full, log closed, or a failed write
	unreported atomic.Int64 // dropped events not yet recorded by an audit.dropped row
	lastWarn   atomic.Int64 // unix nanos of the last drop warning (one per 10 s)
	closeOnce  sync.Once
}

type item struct {
	e     store.AuditEntry
	flush chan struct{} // a Flush marker instead of an event
}

// New starts the writer over st with a queue of size events (0: DefaultQueue).
func New(st *store.Store, log *slog.Logger, size int) *Log {
	if size <= 0 {
		size = DefaultQueue
	}
	if log == nil {
		log = slog.Default()
	}
	l := &Log{st: st, log: log.With("component", "audit"), queue: make(chan item, size), stop: make(chan struct{}), stopped: make(chan struct{})}
	go l.run()
	return l
}

// Record queues ev without waiting. When the queue is full (the database has
// stalled far longer than any request should wait) the event is dropped,
// counted in /metrics (quire_audit_events_dropped), logged, and the next
// batch written starts with an audit.dropped row saying how many were lost,
// so the gap is in the log itself.
func (l *Log) Record(ctx context.Context, ev Event) {
	if l == nil {
		return
	}
	a := ActorFrom(ctx)
	if ev.Actor != nil {
		a = *ev.Actor
	}
	e := entry(a, ev)
	if l.closed.Load() {
		l.drop(1, "the audit log is closed", e.Action)
		return
	}
	select {
	case l.queue <- item{e: e}:
	default:
		l.drop(1, "the audit queue is full", e.Action)
	}
}

// Append writes ev at once, bypassing the queue: for the CLI, whose process
// ends right after (backup, restore), and tests of the chain.
func Append(ctx context.Context, st *store.Store, ev Event) error {
	return st.AppendAudit(ctx, []store.AuditEntry{entry(ActorFrom(ctx), ev)})
}

func entry(a Actor, ev Event) store.AuditEntry {
	e := store.AuditEntry{
		At: time.Now(), Email: clip(a.Email, maxLabel), ActorKind: a.Kind, Address: clipBytes(a.Address, maxID),
		WorkspaceID: clipBytes(ev.Workspace, maxID), Action: ev.Action, Outcome: ev.Outcome,
		TargetType: ev.Target.Type, TargetID: clipBytes(ev.Target.ID, maxID), TargetLabel: clip(ev.Target.Label, maxLabel),
	}
	if a.UserID != 0 {
		e.UserID = &a.UserID
	}
	if a.TokenID != 0 {
		e.TokenID = &a.TokenID
	}
	if e.ActorKind == "" {
		e.ActorKind = KindSystem
	}
	if len(ev.Details) > 0 {
		raw, err := json.Marshal(ev.Details)
		if err != nil || len(raw) > maxDetails {
			raw, _ = json.Marshal(map[string]any{"truncated": true})
		}
		e.Details = string(raw)
	}
	return e
}

func (l *Log) drop(n int64, why, action string) {
	l.dropped.Add(n)
	l.unreported.Add(n)
	now := time.Now().UnixNano()
	if last := l.lastWarn.Load(); now-last > int64(10*time.Second) && l.lastWarn.CompareAndSwap(last, now) {
		l.log.Error("audit events dropped", "why", why, "action", action, "dropped_total", l.dropped.Load())
	}
}

// run is the one writer: it takes what is queued (up to maxBatch) and
// appends it in one transaction, until Close.
func (l *Log) run() {
	defer close(l.stopped)
	for {
		var first item
		select {
		case first = <-l.queue:
		case <-l.stop:
			for {
				batch := l.take(nil)
				if len(batch) == 0 {
					return
				}
				l.write(batch)
			}
		}
		l.write(l.gather(first))
	}
}

// gather collects a batch after its first item for up to batchWindow; a
// Flush marker or Close ends the wait at once.
func (l *Log) gather(first item) []item {
	batch := []item{first}
	if first.flush != nil {
		return l.take(batch)
	}
	timer := time.NewTimer(batchWindow)
	defer timer.Stop()
	for len(batch) < maxBatch {
		select {
		case it := <-l.queue:
			batch = append(batch, it)
			if it.flush != nil {
				return l.take(batch)
			}
		case <-timer.C:
			return batch
		case <-l.stop:
			return batch
		}
	}
	return batch
}

// take adds to batch what is queued now, without waiting.
func (l *Log) take(batch []item) []item {
	for len(batch) < maxBatch {
		select {
		case it := <-l.queue:
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

func (l *Log) write(batch []item) {
	entries := make([]store.AuditEntry, 0, len(batch)+1)
	lost := l.unreported.Swap(0)
	if lost > 0 {
		raw, _ := json.Marshal(map[string]any{"dropped": lost})
		entries = append(entries, store.AuditEntry{At: time.Now(), ActorKind: KindSystem, Action: "audit.dropped", Outcome: store.AuditFailed, Details: string(raw)})
	}
	events := int64(0)
	for _, it := range batch {
		if it.flush == nil {
			entries = append(entries, it.e)
			events++
		}
	}
	if len(entries) > 0 {
		// A background context: what was accepted is written even while the
		// server shuts down.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := l.st.AppendAudit(ctx, entries)
		cancel()
		if err != nil {
			l.log.Error("writing audit events", "err", err, "events", events)
			l.dropped.Add(events)
			l.unreported.Add(lost + events) // reported by the next batch that is written
		} else {
			l.written.Add(int64(len(entries)))
		}
	}
	for _, it := range batch {
		if it.flush != nil {
			close(it.flush)
		}
	}
}

// Flush waits until everything recorded before it is written (tests, and
// reads that must see the caller's own last action).
func (l *Log) Flush(ctx context.Context) error {
	if l == nil || l.closed.Load() {
		return nil
	}
	done := make(chan struct{})
	select {
	case l.queue <- item{flush: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer (app.Server's Shutdown).
// Events recorded afterwards are dropped and counted.
func (l *Log) Close(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.stop)
	})
	select {
	case <-l.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dropped is how many events were lost so far.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// Stats are the log's counters for /metrics: rows appended, events lost
// (each loss is also logged and recorded as an audit.dropped row) and events
// waiting in the queue.
func (l *Log) Stats() (written, dropped, queued int64) {
	if l == nil {
		return 0, 0, 0
	}
	return l.written.Load(), l.dropped.Load(), int64(len(l.queue))
}

// Prune deletes the rows older than retention (0 keeps everything), leaving
// an anchor and an audit.pruned row so the rest still verifies.
func (l *Log) Prune(ctx context.Context, retention time.Duration) (int64, error) {
	if l == nil || retention <= 0 {
		return 0, nil
	}
	raw, _ := json.Marshal(map[string]any{"retention_days": int(retention / (24 * time.Hour))})
	return l.st.PruneAudit(ctx, time.Now().Add(-retention),
		store.AuditEntry{At: time.Now(), ActorKind: KindSystem, Outcome: store.AuditOK, Details: string(raw)})
}

// clip keeps at most n runes of s, without control or format characters (a
// label is shown on a page and exported line by line; a bidi override would
// make it read backwards).
func clip(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "�")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// clipBytes bounds an id-like value in bytes.
func clipBytes(s string, n int) string {
	s = clip(s, n)
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

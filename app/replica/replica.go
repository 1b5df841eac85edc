// Package replica ships Quire's database continuously to a second location
// with Litestream (used as a library: it copies each committed WAL frame into
// LTX files on the target, compacts them and keeps snapshots for
// point-in-time restores), and copies the files folder to the same target.
// It also restores an empty data dir from such a target.
package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"

	"quire/app/config"
	"quire/app/ops"
	"quire/store"
)

// Options configure a running replica.
type Options struct {
	Target
	// SyncInterval is how often WAL changes and new originals are shipped.
	SyncInterval time.Duration
	// Retention is how long snapshots (and deleted originals) are kept on the target.
	Retention time.Duration
	DBPath    string
	FilesDir  string
	Log       *slog.Logger
}

// OptionsFromConfig is the [replica] section applied to the instance's paths.
func OptionsFromConfig(cfg config.Config, log *slog.Logger) Options {
	return Options{Target: TargetFromConfig(cfg.Replica), SyncInterval: cfg.Replica.SyncInterval.Duration,
		Retention: cfg.Replica.Retention.Duration, DBPath: cfg.DBPath(), FilesDir: cfg.FilesDir(), Log: log}
}

// Replicator runs the replication of one instance.
type Replicator struct {
	opt   Options
	st    *store.Store
	db    *litestream.DB
	ls    *litestream.Store
	files *filesSync
	log   *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	started time.Time // when Start ran: the lag counts from here until a first sync
	opened  bool      // Litestream took over the database
	lastErr error     // why Litestream could not start (unreachable target)
}

// New prepares the replication of st; nothing runs before Start. Only a
// malformed target is an error.
func New(st *store.Store, opt Options) (*Replicator, error) {
	dbClient, files, err := opt.clients()
	if err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	log := opt.Log.With("replica", opt.Target.String())
	db := litestream.NewDB(opt.DBPath)
	// The local half (WAL frames into local LTX files, checkpoints) stays
	// at Litestream's pace even for a long interval: only shipping waits.
	db.MonitorInterval = min(opt.SyncInterval, litestream.DefaultMonitorInterval)
	r := litestream.NewReplicaWithClient(db, dbClient)
	r.SyncInterval = opt.SyncInterval
	db.Replica = r
	ls := litestream.NewStore([]*litestream.DB{db}, litestream.DefaultCompactionLevels)
	ls.Logger = log.With("component", "litestream")
	db.SetLogger(ls.Logger)
	dbClient.SetLogger(ls.Logger)
	// A snapshot every half retention keeps a restore point at least that
	// old for every moment inside the retention window.
	ls.SnapshotInterval = opt.Retention / 2
	ls.SnapshotRetention = opt.Retention

	return &Replicator{opt: opt, st: st, db: db, ls: ls, log: log, started: time.Now(), cancel: func() {},
		files: &filesSync{dir: opt.FilesDir, to: files, keepDeleted: opt.Retention, log: log}}, nil
}

// Start begins replicating in the background. An unreachable target is
// retried (with backoff) while the instance serves, and shows as a growing
// lag and in `quire doctor`. Close stops it, not ctx: the final flush must
// run after the last request has written.
func (rep *Replicator) Start(ctx context.Context) {
	rep.mu.Lock()
	rep.started = time.Now()
	rep.mu.Unlock()
	ctx, rep.cancel = context.WithCancel(context.WithoutCancel(ctx))
	rep.wg.Add(1)
	go func() {
		defer rep.wg.Done()
		rep.run(ctx, rep.log)
	}()
}

// maxBackoff caps the wait between attempts to reach an unreachable target.
const maxBackoff = time.Minute

func (rep *Replicator) run(ctx context.Context, log *slog.Logger) {
	wait := rep.opt.SyncInterval
	for {
		// An attempt runs to its end even when Close comes meanwhile, so that
		// a reachable target gets the final flush of a short-lived server.
		attempt, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*dialTimeout)
		err := rep.ls.Open(attempt)
		cancel()
		if err == nil {
			break
		}
		rep.mu.Lock()
		rep.lastErr = err
		rep.mu.Unlock()
		log.Warn("replica unreachable; the instance keeps serving and retries", "err", explainS3(err), "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxBackoff)
	}
	// Litestream now checkpoints the WAL itself, after it has copied the
	// frames; SQLite's automatic checkpoints on Quire's writer would race it.
	if err := rep.st.SetAutoCheckpoint(0); err != nil {
		log.Warn("could not hand WAL checkpoints to the replica", "err", err)
	}
	rep.mu.Lock()
	rep.opened, rep.lastErr = true, nil
	rep.mu.Unlock()
	log.Info("replicating the database and files", "sync_interval", rep.opt.SyncInterval.String())

	tick := time.NewTicker(rep.opt.SyncInterval)
	defer tick.Stop()
	for {
		rep.files.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Lag is how long ago the target last held everything committed here (the
// most a lost disk would lose now). It grows from Start while the target has
// never been reached.
func (rep *Replicator) Lag() time.Duration {
	rep.mu.Lock()
	since := rep.started
	rep.mu.Unlock()
	if last := rep.db.LastSuccessfulSyncAt(); last.After(since) {
		since = last
	}
	return time.Since(since)
}

// Gauges are the replica's /metrics series.
func (rep *Replicator) Gauges() []ops.Gauge {
	pending, _ := rep.files.status()
	return []ops.Gauge{
		{Name: "quire_replica_lag_seconds", Help: "Seconds since the replica last held every committed database change (grows while the target is unreachable).",
			Samples: []ops.Sample{{Value: rep.Lag().Seconds()}}},
		{Name: "quire_replica_files_pending", Help: "Originals in the files folder not yet copied to the replica (-1: the folder or target could not be listed).",
			Samples: []ops.Sample{{Value: float64(pending)}}},
	}
}

// Close flushes what is not shipped yet (database and originals) and stops.
// Call it before the store is closed: the store's final checkpoint must come
// after Litestream has copied the WAL.
func (rep *Replicator) Close(ctx context.Context) error {
	rep.cancel()
	done := make(chan struct{})
	go func() { rep.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done(): // an attempt on a target that does not answer
		return fmt.Errorf("replica: %s did not answer before the shutdown deadline: %w", rep.opt.Target, ctx.Err())
	}
	rep.mu.Lock()
	opened := rep.opened
	rep.mu.Unlock()
	if !opened {
		return rep.files.to.close()
	}
	var errs []error
	// Litestream reads the WAL only from its first sync on; a server
	// stopped before that would otherwise ship nothing.
	if err := rep.db.Sync(ctx); err != nil {
		errs = append(errs, fmt.Errorf("replica: final WAL read: %w", err))
	}
	if err := rep.ls.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("replica: final database sync: %w", err))
	}
	if err := rep.files.sync(ctx); err != nil {
		errs = append(errs, fmt.Errorf("replica: final files sync: %w", err))
	}
	// SQLite's default again, for a store that outlives the replica.
	errs = append(errs, rep.files.to.close(), rep.st.SetAutoCheckpoint(1000))
	return errors.Join(errs...)
}

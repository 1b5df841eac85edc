package replica

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// filesSync copies the files folder to the target incrementally. Originals
// never change once placed (files/<workspace>/<document>, a new document is
// a new name), so a path the target already holds with the same size is
// done; only new paths are copied. A path gone from the files folder is
// removed from the target only after keepDeleted (the retention): a
// point-in-time restore inside the retention finds the originals of the
// documents it brings back.
type filesSync struct {
	dir         string
	to          blobs
	keepDeleted time.Duration
	log         *slog.Logger

	round  sync.Mutex           // one round at a time (the loop, the final flush)
	remote map[string]int64     // what the target holds; nil until listed
	gone   map[string]time.Time // on the target, no longer here: since when

	// What the last round left, read by /metrics without waiting for a
	// round that may be stuck on a slow target.
	stat    sync.Mutex
	pending int // originals not copied yet
	lastErr error
}

// sync runs one round; errors are kept for Status and logged, and the next
// round retries.
func (f *filesSync) sync(ctx context.Context) error {
	f.round.Lock()
	defer f.round.Unlock()
	pending, err := f.once(ctx)
	f.stat.Lock()
	defer f.stat.Unlock()
	// Logged once per distinct error, not every second while a target is down.
	if err != nil && !errors.Is(err, context.Canceled) && (f.lastErr == nil || f.lastErr.Error() != err.Error()) {
		f.log.Warn("replica: copying the files folder", "err", err)
	}
	f.pending, f.lastErr = pending, err
	return err
}

// once copies what is new and removes what has been gone for keepDeleted;
// it returns how many originals are still to copy.
func (f *filesSync) once(ctx context.Context) (int, error) {
	if f.remote == nil {
		remote, err := f.to.list(ctx)
		if err != nil {
			return -1, err
		}
		f.remote, f.gone = remote, map[string]time.Time{}
	}
	local, err := dirBlobs{root: f.dir}.list(ctx)
	if err != nil {
		return -1, err
	}
	pending := 0
	for rel, size := range local {
		if got, ok := f.remote[rel]; !ok || got != size {
			pending++
		}
	}
	var firstErr error
	for rel, size := range local {
		if got, ok := f.remote[rel]; ok && got == size {
			continue
		}
		if err := ctx.Err(); err != nil {
			return pending, err
		}
		err := f.to.put(ctx, rel, filepath.Join(f.dir, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since the listing; the next round sees it gone
		}
		if err != nil {
			firstErr = err
			break // the target is likely down: retry the rest next round
		}
		f.remote[rel] = size
		pending--
	}
	now := time.Now()
	for rel := range f.remote {
		if _, ok := local[rel]; ok {
			delete(f.gone, rel)
			continue
		}
		since, ok := f.gone[rel]
		if !ok {
			f.gone[rel] = now
			continue
		}
		if now.Sub(since) < f.keepDeleted || firstErr != nil {
			continue
		}
		if err := f.to.remove(ctx, rel); err != nil {
			firstErr = err
			break
		}
		delete(f.remote, rel)
		delete(f.gone, rel)
	}
	return pending, firstErr
}

// status is what the last round left: originals still to copy and its error.
func (f *filesSync) status() (pending int, err error) {
	f.stat.Lock()
	defer f.stat.Unlock()
	return f.pending, f.lastErr
}

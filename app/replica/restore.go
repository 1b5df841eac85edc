package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/benbjohnson/litestream"

	"quire/app/ops"
)

// Restored is what a restore from a replica brought back.
type Restored struct {
	At     time.Time // the state restored: the newest change at or before the asked time
	Schema uint
	Files  int // originals copied
}

// Restore rebuilds an instance from a replica into dataDir, which must be
// empty or absent: the newest state, or the state at `at` when it is not
// zero. The database is checked as `quire restore` checks a backup; on any
// failure dataDir is left as empty as it was found.
func Restore(ctx context.Context, t Target, dataDir string, at time.Time, latestSchema uint, log *slog.Logger) (res Restored, err error) {
	if err := ops.RequireEmptyDataDir(dataDir); err != nil {
		return res, err
	}
	dbClient, files, err := t.clients()
	if err != nil {
		return res, err
	}
	defer files.close()
	if log == nil {
		log = slog.Default()
	}
	dbClient.SetLogger(log)
	initCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := dbClient.Init(initCtx); err != nil {
		return res, fmt.Errorf("restore: cannot reach the replica %s: %w", t, err)
	}
	r := litestream.NewReplicaWithClient(nil, dbClient)
	opt := litestream.RestoreOptions{Timestamp: at}
	if res.At, err = restoreTarget(ctx, r, opt); err != nil {
		return res, fmt.Errorf("restore: replica %s: %w", t, explainS3(err))
	}

	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return res, fmt.Errorf("restore: create %s: %w", dataDir, err)
	}
	defer func() {
		if err != nil { // leave the folder as empty as we found it
			entries, _ := os.ReadDir(dataDir)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(dataDir, e.Name()))
			}
		}
	}()
	opt.OutputPath = filepath.Join(dataDir, "quire.db")
	opt.IntegrityCheck = litestream.IntegrityCheckFull
	if err := r.Restore(ctx, opt); err != nil {
		return res, fmt.Errorf("restore: the replica %s could not be restored (damaged or incomplete): %w", t, err)
	}
	if res.Schema, err = ops.CheckRestored(ctx, dataDir, latestSchema); err != nil {
		return res, err
	}
	filesDir := filepath.Join(dataDir, "files")
	if err := os.MkdirAll(filesDir, 0o750); err != nil {
		return res, err
	}
	if res.Files, err = copyFiles(ctx, files, filesDir); err != nil {
		return res, fmt.Errorf("restore: copying the originals from %s: %w", t, err)
	}
	return res, nil
}

// restoreTarget finds the time of the state a restore will bring back, and
// says plainly when there is none (an empty target, a time outside what it holds).
func restoreTarget(ctx context.Context, r *litestream.Replica, opt litestream.RestoreOptions) (time.Time, error) {
	created, updated, err := r.TimeBounds(ctx)
	if err != nil {
		return time.Time{}, err
	}
	switch {
	case created.IsZero():
		return time.Time{}, errors.New("it holds no database (wrong path, or replication never ran)")
	case opt.Timestamp.IsZero():
		return updated, nil
	case opt.Timestamp.Before(created):
		return time.Time{}, fmt.Errorf("--timestamp %s is before its oldest restore point (%s)", opt.Timestamp.UTC().Format(time.RFC3339), created.UTC().Format(time.RFC3339))
	case opt.Timestamp.After(updated):
		// Nothing changed after the newest state: that is the state at the asked time.
		return updated, nil
	}
	return opt.Timestamp, nil
}

// copyFiles copies every original the target holds into dir.
func copyFiles(ctx context.Context, from blobs, dir string) (int, error) {
	list, err := from.list(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for rel := range list {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if !validRel(rel) { // the listing already filters; a target is not trusted twice over
			continue
		}
		if err := copyOne(ctx, from, rel, filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func copyOne(ctx context.Context, from blobs, rel, dst string) error {
	in, err := from.open(ctx, rel)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

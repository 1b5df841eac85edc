package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kinds of backup in the backups folder; only scheduled ones are pruned.
const (
	KindAuto       = "auto"
	KindManual     = "manual"
	KindPreUpgrade = "pre-upgrade"
)

// ErrBusy means another backup is being written right now.
var ErrBusy = errors.New("a backup is already being written; wait for it to finish")

// nameRe is every name a backup in the backups folder may have. Names from a
// request are checked against it, so no path can leave the folder.
var nameRe = regexp.MustCompile(`^quire-[a-z0-9-]+-\d{8}T\d{6}(\.\d+)?Z\.tar\.gz$`)

// ValidName reports whether name can be a backup in the backups folder.
func ValidName(name string) bool {
	return nameRe.MatchString(name) && !strings.Contains(name, "..") && filepath.IsLocal(name)
}

// NewName names a backup of the given kind made at t, e.g.
// quire-auto-20250102T030405Z.tar.gz; names sort by time within a kind.
func NewName(kind string, t time.Time) string {
	return fmt.Sprintf("quire-%s-%s.tar.gz", kind, t.UTC().Format("20060102T150405.000Z"))
}

// Info is one backup in the backups folder.
type Info struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

// Backups manages data_dir/backups: one backup at a time, listing, retention
// and the schedule.
type Backups struct {
	Dir    string
	Source Source
	Log    *slog.Logger

	mu     sync.Mutex // held while a backup is written
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// Run writes one backup of the given kind into the folder; ErrBusy if one is running.
func (b *Backups) Run(ctx context.Context, kind string) (Info, error) {
	if !b.mu.TryLock() {
		return Info{}, ErrBusy
	}
	defer b.mu.Unlock()
	name := NewName(kind, time.Now())
	res, err := Create(ctx, b.Source, filepath.Join(b.Dir, name))
	if err != nil {
		return Info{}, err
	}
	b.Log.Info("backup written", "name", name, "bytes", res.Size, "files", res.Files, "took", res.Took.Round(time.Millisecond).String())
	return Info{Name: name, Kind: kind, Size: res.Size, CreatedAt: res.Manifest.CreatedAt}, nil
}

// List returns the backups in the folder, newest first. Temporary files of a
// backup being written (or of one killed half-way) are not listed.
func (b *Backups) List() ([]Info, error) {
	entries, err := os.ReadDir(b.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, e := range entries {
		if !e.Type().IsRegular() || !ValidName(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Info{Name: e.Name(), Kind: kindOf(e.Name()), Size: fi.Size(), CreatedAt: fi.ModTime().UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func kindOf(name string) string {
	for _, k := range []string{KindAuto, KindManual, KindPreUpgrade} {
		if strings.HasPrefix(name, "quire-"+k+"-") {
			return k
		}
	}
	return "other"
}

// Path is the file of a named backup, or an error for a name that is not one.
func (b *Backups) Path(name string) (string, error) {
	if !ValidName(name) {
		return "", fmt.Errorf("%q is not a backup name", name)
	}
	p := filepath.Join(b.Dir, name)
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("no backup named %q", name)
	}
	return p, nil
}

// Prune deletes scheduled backups beyond the newest keep. Manual and
// pre-upgrade backups are the operator's to delete.
func (b *Backups) Prune(keep int) (removed []string, err error) {
	all, err := b.List()
	if err != nil {
		return nil, err
	}
	kept := 0
	for _, in := range all {
		if in.Kind != KindAuto {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		if err := os.Remove(filepath.Join(b.Dir, in.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, in.Name)
	}
	return removed, nil
}

// firstDelay is when the first scheduled backup is due: one interval after the
// newest scheduled backup, so restarts do not postpone backups forever, but not
// sooner than a minute after start, so a restart loop does not hammer the disk.
func (b *Backups) firstDelay(interval time.Duration, now time.Time) time.Duration {
	const settle = time.Minute
	all, _ := b.List()
	for _, in := range all {
		if in.Kind == KindAuto {
			return max(in.CreatedAt.Add(interval).Sub(now), settle)
		}
	}
	return settle
}

// Schedule writes a backup every interval and keeps the newest keep, until ctx ends.
func (b *Backups) Schedule(ctx context.Context, interval time.Duration, keep int) {
	if interval <= 0 {
		return
	}
	ctx, b.cancel = context.WithCancel(ctx)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		timer := time.NewTimer(b.firstDelay(interval, time.Now()))
		defer timer.Stop()
		b.Log.Info("scheduled backups on", "every", interval.String(), "keep", keep, "dir", b.Dir)
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			if _, err := b.Run(ctx, KindAuto); err != nil && ctx.Err() == nil {
				b.Log.Error("scheduled backup failed; the next try is one interval later", "err", err)
			} else if removed, err := b.Prune(keep); err != nil {
				b.Log.Error("pruning old backups", "err", err)
			} else if len(removed) > 0 {
				b.Log.Info("old backups removed", "names", removed)
			}
			timer.Reset(interval)
		}
	}()
}

// Stop ends the schedule, cancelling a scheduled backup being written (its
// temporary files are removed), and returns when the scheduler has stopped.
func (b *Backups) Stop() {
	if b == nil {
		return
	}
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
}

// Package ops is Quire's operations kit: online backups and restores, the
// pre-upgrade backup, scheduled backups with retention, `quire doctor`, and the
// Prometheus metrics. It knows nothing of HTTP; package app and main.go wire it up.
package ops

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"quire/store"
)

// FormatVersion is the archive layout this binary writes and reads.
const FormatVersion = 1

// Archive layout: manifest.json first (so a restore can refuse early), then the
// database snapshot, then the files folder under files/.
const (
	manifestName = "manifest.json"
	dbName       = "quire.db"
	filesPrefix  = "files/"
)

// Manifest describes a backup archive.
type Manifest struct {
	Format         int       `json:"format"`
	Version        string    `json:"version"`        // the Quire that made it
	SchemaVersion  uint      `json:"schema_version"` // of the database inside
	CreatedAt      time.Time `json:"created_at"`     // when the database snapshot began
	DatabaseBytes  int64     `json:"database_bytes"`
	DatabaseSHA256 string    `json:"database_sha256"`
}

// Source is what a backup copies: the live store and the files folder.
type Source struct {
	Store    *store.Store
	FilesDir string
	Version  string
}

// Result is what a finished backup reports.
type Result struct {
	Manifest Manifest
	Path     string
	Size     int64 // bytes of the archive
	Files    int   // originals copied from the files folder
	Took     time.Duration
}

// Create writes an online backup of src to dest (a .tar.gz). The database is a
// VACUUM INTO snapshot, consistent while writes continue; the files folder is
// copied after it, so every document row in the snapshot finds its file unless
// the document was deleted during the backup. The archive is written under a
// hidden temporary name and renamed into place only when complete and synced: a
// crash or kill never leaves a truncated file under the real name.
func Create(ctx context.Context, src Source, dest string) (Result, error) {
	began := time.Now()
	res := Result{Path: dest}
	if _, err := os.Stat(dest); err == nil {
		return res, fmt.Errorf("backup: %s already exists; choose another name", dest)
	}
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return res, fmt.Errorf("backup: create %s: %w", dir, err)
	}
	work, err := os.MkdirTemp(dir, ".quire-snapshot-")
	if err != nil {
		return res, fmt.Errorf("backup: %s is not writable: %w", dir, err)
	}
	defer os.RemoveAll(work)

	snap := filepath.Join(work, dbName)
	m := Manifest{Format: FormatVersion, Version: src.Version, CreatedAt: time.Now().UTC()}
	if err := src.Store.SnapshotTo(ctx, snap); err != nil {
		return res, err
	}
	if m.SchemaVersion, err = checkSnapshot(ctx, snap); err != nil {
		return res, err
	}
	if m.DatabaseBytes, m.DatabaseSHA256, err = hashFile(snap); err != nil {
		return res, err
	}

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".partial-")
	if err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if res.Files, err = writeArchive(ctx, tmp, m, snap, src.FilesDir); err != nil {
		return res, err
	}
	if err := tmp.Sync(); err != nil {
		return res, fmt.Errorf("backup: flush %s: %w", tmp.Name(), err)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return res, err
	}
	if err := tmp.Close(); err != nil {
		return res, err
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return res, fmt.Errorf("backup: %w", err)
	}
	ok = true
	syncDir(dir)
	res.Manifest, res.Size, res.Took = m, fi.Size(), time.Since(began)
	return res, nil
}

// checkSnapshot proves the snapshot sound before it is archived and reads its schema version.
func checkSnapshot(ctx context.Context, path string) (uint, error) {
	st, err := store.OpenExisting(path)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if problems, err := st.IntegrityCheck(ctx, true); err != nil || len(problems) > 0 {
		return 0, fmt.Errorf("backup: the database snapshot failed its integrity check (%v %v); run `quire doctor`", problems, err)
	}
	v, dirty, err := st.SchemaVersion()
	if err != nil {
		return 0, err
	}
	if dirty {
		return 0, fmt.Errorf("backup: the database schema is dirty at version %d (a migration failed half-way); run `quire doctor`", v)
	}
	return v, nil
}

func writeArchive(ctx context.Context, w io.Writer, m Manifest, snap, filesDir string) (int, error) {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	raw, _ := json.MarshalIndent(m, "", "  ")
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o640, Size: int64(len(raw)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
		return 0, err
	}
	if _, err := tw.Write(raw); err != nil {
		return 0, err
	}
	if err := addFile(tw, snap, dbName); err != nil {
		return 0, err
	}
	files := 0
	err := filepath.WalkDir(filesDir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while we walk: it is not in the snapshot either, or will be orphaned
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() { // folders are implied by paths; links and devices are never ours
			return nil
		}
		rel, err := filepath.Rel(filesDir, p)
		if err != nil {
			return err
		}
		if err := addFile(tw, p, filesPrefix+filepath.ToSlash(rel)); errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		files++
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return files, fmt.Errorf("backup: copy files: %w", err)
	}
	if err := tw.Close(); err != nil {
		return files, err
	}
	return files, gz.Close()
}

func addFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o640, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	// Copy exactly the size in the header: a file that grows meanwhile must not break the archive.
	_, err = io.CopyN(tw, f, fi.Size())
	return err
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// syncDir makes a rename durable; failure only weakens durability, so it is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

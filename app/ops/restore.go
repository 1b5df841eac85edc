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
	"os"
	"path/filepath"
	"strings"

	"quire/store"
)

// maxManifest bounds the manifest read into memory from an untrusted archive.
const maxManifest = 1 << 20

// Restore unpacks the backup archive into dataDir, which must be empty or
// absent: a restore never overwrites a live instance. The database is checked
// against the manifest's checksum and with PRAGMA integrity_check before Restore
// reports success; on any failure what it wrote is removed again.
// latestSchema is the newest schema this binary knows; a newer backup is refused.
func Restore(ctx context.Context, archive, dataDir string, latestSchema uint) (m Manifest, err error) {
	if err := requireEmpty(dataDir); err != nil {
		return m, err
	}
	f, err := os.Open(archive)
	if err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return m, fmt.Errorf("restore: %s is not a Quire backup (not gzip): %w", archive, err)
	}
	tr := tar.NewReader(gz)

	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestName {
		return m, fmt.Errorf("restore: %s is not a Quire backup: it does not start with %s", archive, manifestName)
	}
	if err := json.NewDecoder(io.LimitReader(tr, maxManifest)).Decode(&m); err != nil {
		return m, fmt.Errorf("restore: unreadable manifest: %w", err)
	}
	if m.Format != FormatVersion {
		return m, fmt.Errorf("restore: archive format %d is not supported by this Quire (format %d)", m.Format, FormatVersion)
	}
	if m.SchemaVersion > latestSchema {
		return m, fmt.Errorf("restore: the backup's schema version %d is newer than this Quire knows (%d): restore it with Quire %s or newer", m.SchemaVersion, latestSchema, m.Version)
	}

	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return m, fmt.Errorf("restore: create %s: %w", dataDir, err)
	}
	defer func() {
		if err != nil { // leave the folder as empty as we found it
			entries, _ := os.ReadDir(dataDir)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(dataDir, e.Name()))
			}
		}
	}()
	sawDB := false
	for {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("restore: the archive is truncated or damaged: %w", err)
		}
		target, err := entryPath(dataDir, hdr)
		if err != nil {
			return m, err
		}
		if hdr.Name == dbName {
			sawDB = true
			if err := writeDB(tr, target, m); err != nil {
				return m, err
			}
			continue
		}
		if err := writeEntry(tr, target); err != nil {
			return m, err
		}
	}
	if !sawDB {
		return m, fmt.Errorf("restore: the archive holds no %s", dbName)
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "files"), 0o750); err != nil {
		return m, err
	}
	st, err := store.OpenExisting(filepath.Join(dataDir, dbName))
	if err != nil {
		return m, err
	}
	defer st.Close()
	problems, err := st.IntegrityCheck(ctx, false)
	if err == nil && len(problems) > 0 {
		err = fmt.Errorf("restore: the restored database fails its integrity check: %s", strings.Join(problems, "; "))
	}
	return m, err
}

// requireEmpty refuses a data dir that holds anything at all.
func requireEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("restore: %s is not empty (it holds %s…): restore only into a new or empty folder, so nothing is overwritten; stop Quire and move the old data dir aside first", dir, entries[0].Name())
	}
	return nil
}

// entryPath maps an archive entry into dataDir, refusing anything but regular
// files named quire.db or under files/ (no links, no "..", no absolute paths).
func entryPath(dataDir string, hdr *tar.Header) (string, error) {
	name := hdr.Name
	if hdr.Typeflag != tar.TypeReg || !filepath.IsLocal(filepath.FromSlash(name)) ||
		(name != dbName && !strings.HasPrefix(name, filesPrefix)) {
		return "", fmt.Errorf("restore: refusing archive entry %q (type %c): a Quire backup holds only %s and files/", name, hdr.Typeflag, dbName)
	}
	return filepath.Join(dataDir, filepath.FromSlash(name)), nil
}

func writeEntry(r io.Reader, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return err
	}
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return fmt.Errorf("restore: write %s: %w", target, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeDB writes the database and checks it against the manifest.
func writeDB(r io.Reader, target string, m Manifest) error {
	h := sha256.New()
	if err := writeEntry(io.TeeReader(r, h), target); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.DatabaseSHA256 {
		return fmt.Errorf("restore: the database in the archive is damaged (sha256 %s, manifest says %s)", got, m.DatabaseSHA256)
	}
	return nil
}

// RequireEmptyDataDir refuses a data dir that holds anything (for restores
// from elsewhere, such as a replica).
func RequireEmptyDataDir(dir string) error { return requireEmpty(dir) }

// CheckRestored checks a database restored into dataDir as Restore checks its
// own: PRAGMA integrity_check, and a schema this binary can run (not newer
// than latestSchema, not left dirty by a failed migration). It returns the
// schema version.
func CheckRestored(ctx context.Context, dataDir string, latestSchema uint) (uint, error) {
	st, err := store.OpenExisting(filepath.Join(dataDir, dbName))
	if err != nil {
		return 0, err
	}
	defer st.Close()
	problems, err := st.IntegrityCheck(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("restore: the restored database cannot be read: %w", err)
	}
	if len(problems) > 0 {
		return 0, fmt.Errorf("restore: the restored database fails its integrity check: %s", strings.Join(problems, "; "))
	}
	v, dirty, err := st.SchemaVersion()
	switch {
	case err != nil:
		return 0, fmt.Errorf("restore: the restored database has no readable schema version: %w", err)
	case dirty:
		return v, fmt.Errorf("restore: the restored database's schema is dirty at version %d (a migration failed half-way)", v)
	case v > latestSchema:
		return v, fmt.Errorf("restore: the restored database's schema version %d is newer than this Quire knows (%d): restore it with a newer Quire", v, latestSchema)
	}
	return v, nil
}

package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SnapshotTo writes a consistent copy of the live database to dest with
// VACUUM INTO. It runs on a read connection: under WAL a reader sees one
// committed state for the whole statement while the writer keeps committing, so
// the server keeps taking writes during a backup and the copy holds exactly what
// was committed when the snapshot began (vec0 and FTS5 shadow tables included:
// they are ordinary tables to VACUUM). dest must not exist.
func (s *Store) SnapshotTo(ctx context.Context, dest string) error {
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("snapshot: %s already exists", dest)
	}
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// query_only forbids writing the database itself; VACUUM INTO writes another
	// file, but SQLite still counts it as a write, so lift it for this statement.
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		return err
	}
	defer func() {
		// Back to read-only before the connection returns to the pool; if that
		// fails, discard the connection rather than pool a writable reader.
		if _, err := conn.ExecContext(context.Background(), `PRAGMA query_only = 1`); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		_ = os.Remove(dest)
		return fmt.Errorf("snapshot database into %s: %w", dest, err)
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check (or quick_check when quick) and
// returns the problems found; none means the database is sound.
func (s *Store) IntegrityCheck(ctx context.Context, quick bool) ([]string, error) {
	pragma := "integrity_check"
	if quick {
		pragma = "quick_check"
	}
	rows, err := s.r.QueryContext(ctx, "PRAGMA "+pragma)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	return problems, rows.Err()
}

// OpenExisting opens a database that must already exist, without migrating it:
// for backups, diagnosis and the pre-upgrade check, which must not change the
// schema behind the operator's back.
func OpenExisting(path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no database at %s: %w", path, err)
	}
	s, err := open(path)
	if s != nil {
		s.beside = true
	}
	return s, err
}

// LatestSchemaVersion is the newest migration embedded in this binary.
func LatestSchemaVersion() uint {
	var latest uint
	_ = fs.WalkDir(migrations, "migrations", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		num, _, ok := strings.Cut(filepath.Base(p), "_")
		if n, perr := strconv.ParseUint(num, 10, 32); ok && perr == nil && uint(n) > latest {
			latest = uint(n)
		}
		return nil
	})
	return latest
}

// Sizes reports the bytes of the database file and of its write-ahead log.
func (s *Store) Sizes() (db, wal int64) {
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) || err != nil {
			return 0
		}
		return fi.Size()
	}
	return size(s.path), size(s.path + "-wal")
}

// TaskCounts counts document processing tasks by status (queue depth for metrics).
func (s *Store) TaskCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM document_processing_tasks GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{"queued": 0, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

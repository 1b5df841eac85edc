// Package store is Quire's only gateway to SQLite: it opens the database with the
// pragmas the appliance relies on, runs the embedded migrations, and exposes typed
// methods per aggregate. Every method on workspace data takes the workspace id
// explicitly, so a query can never wander into another tenant.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratesqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
	_ "modernc.org/sqlite/vec" // registers the vec0 virtual table on every connection
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors callers branch on; the HTTP layer maps them to status codes.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Store holds one writer connection (SQLite allows one writer at a time, so a
// single connection turns lock contention into a cheap in-process queue) and a
// pool of read-only connections that run concurrently under WAL.
type Store struct {
	w      *sql.DB
	r      *sql.DB
	path   string
	vx     *vecIndexes // in-memory vector indexes over vec0 (vectorindex.go)
	scopes scopeCache  // computed search scopes (scope.go)
	// beside is set by OpenExisting: a tool (backup, doctor, restore) that may
	// run beside a live server, so Close must not take the write lock.
	beside bool
}

// Open opens (creating if needed) the database file at path and migrates it up.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create database folder: %w", err)
	}
	s, err := open(path)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{
		"busy_timeout(10000)",
		"journal_mode(WAL)",
		"foreign_keys(1)",
		"synchronous(NORMAL)",
		// Measured: vec0 inserts 4-5x and queries ~1.7x faster with mmap, and a
		// 100k×768 vector table searches 1.35x faster with 8 GiB than with 256 MiB
		// (it only reserves address space; pages are read as needed).
		"mmap_size(8589934592)",
		"cache_size(-16000)",
		"temp_store(MEMORY)",
	} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Take the write lock at BEGIN so a transaction never fails half-way on upgrade.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func open(path string) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{w: w, r: r, path: path, vx: newVecIndexes(DefaultVectorIndex)}
	s.vx.load = s.loadVecIndex
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close checkpoints the WAL and closes every connection. Beside a live server
// the checkpoint is PASSIVE: TRUNCATE holds the write lock while it waits for
// readers, and a replicating server keeps a read transaction open (Litestream),
// so the server's writes would fail for the whole busy timeout.
func (s *Store) Close() error {
	s.vx.close()
	mode := "TRUNCATE"
	if s.beside {
		mode = "PASSIVE"
	}
	_, _ = s.w.Exec("PRAGMA wal_checkpoint(" + mode + ")")
	return errors.Join(s.r.Close(), s.w.Close())
}

func (s *Store) migrator() (*migrate.Migrate, error) {
	src, err := iofs.New(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	drv, err := migratesqlite.WithInstance(s.w, &migratesqlite.Config{})
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return migrate.NewWithInstance("iofs", src, "sqlite", drv)
}

// Migrate brings the schema to the newest version.
func (s *Store) Migrate() error {
	m, err := s.migrator()
	if err != nil {
		return err
	}
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// MigrateDown reverts every migration (used by tests and `quire migrate down`).
func (s *Store) MigrateDown() error {
	m, err := s.migrator()
	if err != nil {
		return err
	}
	if err := m.Down(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// SchemaVersion reports the applied migration version and whether it is dirty.
func (s *Store) SchemaVersion() (uint, bool, error) {
	m, err := s.migrator()
	if err != nil {
		return 0, false, err
	}
	v, dirty, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return v, dirty, err
}

// Ping proves the database is writable: it takes and releases the write lock.
func (s *Store) Ping(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	return tx.Rollback()
}

// tx runs fn in a write transaction.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// now is the timestamp format of every *_at column: RFC 3339 UTC, sortable as text.
func now() string { return formatTime(time.Now()) }

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func parseNullTime(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTime(s.String)
	return &t
}

// isUnique reports a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsDiskFull reports a write that failed because the disk (or quota) is full.
func IsDiskFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// affected returns ErrNotFound when an UPDATE or DELETE touched nothing.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// likeEscape makes user text safe inside a LIKE pattern (ESCAPE '\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

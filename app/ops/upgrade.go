package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"quire/store"
)

// UpgradePlan is what BackupBeforeMigrate needs to know and do; functions so
// that the decision can be tested without a database at an older schema.
type UpgradePlan struct {
	Latest  uint                                   // newest schema this binary knows
	Current func() (v uint, dirty bool, err error) // the database's schema version
	Backup  func(from uint) (string, error)        // writes the pre-upgrade backup, returns its path
}

// BackupBeforeMigrate takes a backup when the database is behind this binary,
// so a migration that goes wrong can be undone with `quire restore`. It returns
// the backup's path ("" when none was needed) and refuses to continue when the
// database is dirty or newer than this binary: migrating then would make things worse.
func BackupBeforeMigrate(p UpgradePlan) (string, error) {
	v, dirty, err := p.Current()
	if err != nil {
		return "", fmt.Errorf("read the schema version: %w", err)
	}
	switch {
	case dirty:
		return "", fmt.Errorf("the database schema is dirty at version %d (a migration failed half-way): restore the pre-upgrade backup from the backups folder with `quire restore`, or run `quire doctor`", v)
	case v > p.Latest:
		return "", fmt.Errorf("the database is at schema version %d, newer than this Quire knows (%d): run the newer Quire binary again, or restore a backup made by this version", v, p.Latest)
	case v == 0 || v == p.Latest:
		return "", nil // a new database has nothing to lose; an up-to-date one needs no migration
	}
	path, err := p.Backup(v)
	if err != nil {
		return "", fmt.Errorf("the backup before migrating from schema %d to %d failed, so nothing was migrated: %w", v, p.Latest, err)
	}
	return path, nil
}

// PrepareUpgrade runs BackupBeforeMigrate on the database at dbPath (if there is
// one) with a real backup into backupsDir. Call it before store.Open migrates.
func PrepareUpgrade(ctx context.Context, dbPath, filesDir, backupsDir, version string) (string, error) {
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	st, err := store.OpenExisting(dbPath)
	if err != nil {
		return "", err
	}
	defer st.Close()
	latest := store.LatestSchemaVersion()
	return BackupBeforeMigrate(UpgradePlan{
		Latest:  latest,
		Current: st.SchemaVersion,
		Backup: func(from uint) (string, error) {
			name := NewName(fmt.Sprintf("%s-v%d-to-v%d", KindPreUpgrade, from, latest), time.Now())
			res, err := Create(ctx, Source{Store: st, FilesDir: filesDir, Version: version}, filepath.Join(backupsDir, name))
			return res.Path, err
		},
	})
}

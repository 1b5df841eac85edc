package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"quire/store"
)

// Deleting a workspace or an account cascades through the database in one
// transaction, but two things live outside it: vectors (vec0 tables have no
// foreign keys) and the original files under files/<workspace>/<document>.
// Both are swept in the background after such a delete, so the delete answers
// at once and a crash in between only delays the cleanup to the next sweep.

// orphanAge protects files that an upload has written but whose document row
// is not committed yet (the file is saved first, so a failed insert never
// leaves a row without its original).
const orphanAge = time.Hour

// purgeOrphans removes what deleted workspaces and documents left behind.
// everyFile also checks each file of the live workspaces against its document
// rows (done at start, for deletes interrupted by a crash).
func (s *Server) purgeOrphans(everyFile bool) {
	go func() {
		ctx := context.Background()
		if n, err := s.store.PurgeOrphanVectors(ctx); err != nil {
			s.log.Warn("purge orphaned vectors", "err", err)
		} else if n > 0 {
			s.log.Info("purged orphaned vectors", "count", n)
		}
		if n, err := s.purgeFiles(ctx, everyFile, time.Now().Add(-orphanAge)); err != nil {
			s.log.Warn("purge orphaned files", "err", err)
		} else if n > 0 {
			s.log.Info("purged orphaned files", "count", n)
		}
	}()
}

// purgeFiles removes the folders of workspaces that no longer exist and, with
// everyFile, files older than before that no document of their workspace owns.
func (s *Server) purgeFiles(ctx context.Context, everyFile bool, before time.Time) (int, error) {
	root := s.cfg.FilesDir()
	dirs, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, d := range dirs {
		if !d.IsDir() || uuid.Validate(d.Name()) != nil {
			continue // only Quire's own workspace folders, never something an operator put there
		}
		wsID := d.Name()
		_, err := s.store.WorkspaceByID(ctx, wsID)
		if errors.Is(err, store.ErrNotFound) {
			files, _ := os.ReadDir(filepath.Join(root, wsID))
			if err := os.RemoveAll(filepath.Join(root, wsID)); err != nil {
				return removed, err
			}
			removed += len(files)
			continue
		}
		if err != nil {
			return removed, err
		}
		if !everyFile {
			continue
		}
		keep, err := s.store.StoragePaths(ctx, wsID)
		if err != nil {
			return removed, err
		}
		files, err := os.ReadDir(filepath.Join(root, wsID))
		if err != nil {
			return removed, err
		}
		for _, f := range files {
			info, err := f.Info()
			if err != nil || f.IsDir() || keep[wsID+"/"+f.Name()] || info.ModTime().After(before) {
				continue
			}
			if err := os.Remove(filepath.Join(root, wsID, f.Name())); err == nil {
				removed++
			}
		}
	}
	return removed, nil
}

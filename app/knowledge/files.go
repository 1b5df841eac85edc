package knowledge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"quire/app/fault"
	"quire/store"
)

// A document's original lives at files/<workspace>/<document>, owned by this
// package alone: it writes it (Add), reads it (ingest, Original) and removes
// it (DeleteDocument, the sweep). Neither part of the path comes from a
// client, so no name can escape the folder.

func (s *Service) filePath(storagePath string) string {
	return filepath.Join(s.cfg.FilesDir, filepath.FromSlash(storagePath))
}

// StagingDir is where an upload's body is streamed before Add takes it: the
// workspace's own folder, so that keeping the file is a rename on one file
// system. Temporary names start with a dot and are never a document's.
func (s *Service) StagingDir(wsID string) string {
	return filepath.Join(s.cfg.FilesDir, wsID)
}

// Original is the path of a document's original file, for downloading it.
func (s *Service) Original(d *store.Document) (string, error) {
	if d.StoragePath == "" {
		return "", fault.New(fault.NotFound, "original file not found")
	}
	return s.filePath(d.StoragePath), nil
}

// place moves a staged file (already in the workspace's folder) to its
// document's name, durably: a crash never leaves a half-written original
// under a document's name.
func place(f *os.File, dst string) error {
	err := f.Sync()
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		return fmt.Errorf("store the upload: %w", err)
	}
	return nil
}

// Deleting a workspace or an account cascades through the database in one
// transaction, but two things live outside it: vectors (vec0 tables have no
// foreign keys) and the original files. Both are swept in the background
// after such a delete, so the delete answers at once and a crash in between
// only delays the cleanup to the next sweep.

// OrphanAge protects files that an upload has written but whose document row
// is not committed yet (the file is placed first, so a failed insert never
// leaves a row without its original).
const OrphanAge = time.Hour

// SweepOrphans removes, in the background, what deleted workspaces and
// documents left behind. everyFile also checks each file of the live
// workspaces against its document rows (done at start, for deletes
// interrupted by a crash).
func (s *Service) SweepOrphans(everyFile bool) {
	go func() {
		ctx := context.Background()
		if n, err := s.st.PurgeOrphanVectors(ctx); err != nil {
			s.log.Warn("purge orphaned vectors", "err", err)
		} else if n > 0 {
			s.log.Info("purged orphaned vectors", "count", n)
		}
		if n, err := s.PurgeFiles(ctx, everyFile, time.Now().Add(-OrphanAge)); err != nil {
			s.log.Warn("purge orphaned files", "err", err)
		} else if n > 0 {
			s.log.Info("purged orphaned files", "count", n)
		}
	}()
}

// PurgeFiles removes the folders of workspaces that no longer exist and, with
// everyFile, files older than before that no document of their workspace owns.
func (s *Service) PurgeFiles(ctx context.Context, everyFile bool, before time.Time) (int, error) {
	root := s.cfg.FilesDir
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
		_, err := s.st.WorkspaceByID(ctx, wsID)
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
		keep, err := s.st.StoragePaths(ctx, wsID)
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

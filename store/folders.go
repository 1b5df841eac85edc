package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ErrInvalidParent: a folder's parent must be the same person's top-level folder.
var ErrInvalidParent = errors.New("invalid parent folder")

// Folder organises one member's chats in one workspace; nesting is one level deep.
type Folder struct {
	ID          int64
	WorkspaceID string
	UserID      int64
	ParentID    int64 // 0 = top level
	Name        string
	CreatedAt   time.Time
}

const folderCols = `id, workspace_id, user_id, coalesce(parent_id, 0), name, created_at`

func scanFolder(row interface{ Scan(...any) error }) (*Folder, error) {
	var f Folder
	var created string
	if err := row.Scan(&f.ID, &f.WorkspaceID, &f.UserID, &f.ParentID, &f.Name, &created); err != nil {
		return nil, notFound(err)
	}
	f.CreatedAt = parseTime(created)
	return &f, nil
}

// checkParent allows only the owner's own top-level folders as parents, and no
// parent for a folder that has children of its own (keeps nesting one level).
func checkParent(ctx context.Context, tx *sql.Tx, wsID string, userID, folderID, parentID int64) error {
	if parentID == 0 {
		return nil
	}
	if parentID == folderID {
		return ErrInvalidParent
	}
	var grand sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT parent_id FROM folders WHERE workspace_id = ? AND user_id = ? AND id = ?`, wsID, userID, parentID).Scan(&grand)
	if err != nil || grand.Valid {
		return ErrInvalidParent
	}
	if folderID != 0 {
		var kids int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM folders WHERE parent_id = ?`, folderID).Scan(&kids); err != nil {
			return err
		}
		if kids > 0 {
			return ErrInvalidParent
		}
	}
	return nil
}

// CreateFolder creates a folder for userID.
func (s *Store) CreateFolder(ctx context.Context, wsID string, userID, parentID int64, name string) (*Folder, error) {
	var f *Folder
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkParent(ctx, tx, wsID, userID, 0, parentID); err != nil {
			return err
		}
		ts := now()
		var err error
		f, err = scanFolder(tx.QueryRowContext(ctx, `INSERT INTO folders (workspace_id, user_id, parent_id, name, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING `+folderCols, wsID, userID, nullInt(parentID), name, ts, ts))
		return err
	})
	return f, err
}

// GetFolder loads a folder of the workspace (any owner: the caller checks ownership).
func (s *Store) GetFolder(ctx context.Context, wsID string, id int64) (*Folder, error) {
	return scanFolder(s.r.QueryRowContext(ctx, `SELECT `+folderCols+` FROM folders WHERE workspace_id = ? AND id = ?`, wsID, id))
}

// ListFolders lists userID's folders in the workspace: parents before children, by name.
func (s *Store) ListFolders(ctx context.Context, wsID string, userID int64) ([]Folder, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+folderCols+` FROM folders WHERE workspace_id = ? AND user_id = ?
		ORDER BY coalesce(parent_id, id), parent_id IS NOT NULL, name COLLATE NOCASE`, wsID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Folder
	for rows.Next() {
		f, err := scanFolder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}

// UpdateFolder renames and/or moves a folder.
func (s *Store) UpdateFolder(ctx context.Context, wsID string, id int64, name string, parentID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var userID int64
		if err := tx.QueryRowContext(ctx, `SELECT user_id FROM folders WHERE workspace_id = ? AND id = ?`, wsID, id).Scan(&userID); err != nil {
			return notFound(err)
		}
		if err := checkParent(ctx, tx, wsID, userID, id, parentID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE folders SET name = ?, parent_id = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`,
			name, nullInt(parentID), now(), wsID, id)
		return err
	})
}

// DeleteFolder deletes a folder. Its chats move to no folder and its subfolders
// move up to the top level: deleting a folder never deletes a chat.
func (s *Store) DeleteFolder(ctx context.Context, wsID string, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE folders SET parent_id = NULL WHERE workspace_id = ? AND parent_id = ?`, wsID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chat_sessions SET folder_id = NULL WHERE workspace_id = ? AND folder_id = ?`, wsID, id); err != nil {
			return err
		}
		return affected(tx.ExecContext(ctx, `DELETE FROM folders WHERE workspace_id = ? AND id = ?`, wsID, id))
	})
}

package store

import (
	"context"
	"strings"
)

// TaskNames are what an administrator reads for a background task instead of
// its ids: the names of its workspace and of its document ("" once deleted).
type TaskNames struct{ Workspace, Document string }

// NamesOfTasks looks up the workspace and document names of tasks, by task id.
// A document is matched on the task's workspace as well as its id, so that a
// task can never show the name of another workspace's document.
func (s *Store) NamesOfTasks(ctx context.Context, tasks []Task) (map[int64]TaskNames, error) {
	out := make(map[int64]TaskNames, len(tasks))
	if len(tasks) == 0 {
		return out, nil
	}
	ids := make([]any, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID
	}
	rows, err := s.r.QueryContext(ctx, `SELECT t.id, coalesce(w.name, ''), coalesce(d.name, '')
		FROM document_processing_tasks t
		LEFT JOIN workspaces w ON w.id = t.workspace_id
		LEFT JOIN documents d ON d.id = t.document_id AND d.workspace_id = t.workspace_id
		WHERE t.id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n TaskNames
		if err := rows.Scan(&id, &n.Workspace, &n.Document); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"database/sql"
)

// VisibleDocuments loads those of ids the viewer can see, by id, in one
// query. Ids of other workspaces, of documents the viewer cannot see and of
// nothing at all are simply absent: the caller cannot tell them apart.
func (s *Store) VisibleDocuments(ctx context.Context, wsID string, v Viewer, ids []string) (map[string]*Document, error) {
	args := append(viewerArgs(wsID, v), sql.Named("ids", jsonIDs(dedupeStrings(ids))))
	rows, err := s.r.QueryContext(ctx, `SELECT `+docCols+` FROM documents d
		WHERE d.id IN (SELECT value FROM json_each(:ids)) AND `+docVisibleSQL, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]*Document, len(ids))
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, err
		}
		out[d.ID] = d
	}
	return out, rows.Err()
}

// LinkedDocuments says which of docIDs are in knowledge base kbID of the workspace.
func (s *Store) LinkedDocuments(ctx context.Context, wsID, kbID string, docIDs []string) (map[string]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT document_id FROM knowledge_base_documents
		WHERE workspace_id = ? AND knowledge_base_id = ? AND document_id IN (SELECT value FROM json_each(?))`,
		wsID, kbID, jsonIDs(dedupeStrings(docIDs)))
	if err != nil {
		return nil, err
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Viewer is the person on whose behalf workspace data is read: the visibility
// rules of knowledge bases and documents depend on who they are. IsAdmin is
// true for the workspace's admins and its owner, who see everything in the
// workspace.
type Viewer struct {
	UserID  int64
	IsAdmin bool
}

// ViewerFor is userID as a viewer of ws, where ws carries that user's
// membership role (as WorkspaceForUser loads it).
func ViewerFor(ws *Workspace, userID int64) Viewer {
	return Viewer{UserID: userID, IsAdmin: RoleRank(ws.Role) >= RoleRank(RoleAdmin)}
}

// Visibility rules (docs/API.md, "Knowledge bases, documents, search"):
//
//   - A knowledge base is visible to a member when it is shared with the
//     workspace, or the member is in a team granted access to it, or the
//     member created it. Admins and the owner see every knowledge base.
//   - A document is visible when the viewer can see at least one knowledge
//     base it belongs to, or uploaded it, or is an admin. A document in no
//     knowledge base is therefore visible to its uploader and the admins only.
//
// Both are written once, as SQL predicates over the aliases kb and d, and
// every listing, count, search and retrieval query uses them. Their
// parameters are bound by name (:ws, :uid, :admin) so one predicate can
// appear several times in a statement.
const (
	kbVisibleSQL = `(kb.workspace_id = :ws AND (:admin = 1 OR kb.shared_with_workspace = 1 OR kb.created_by = :uid
		OR EXISTS (SELECT 1 FROM knowledge_base_team_access a
			JOIN team_memberships tm ON tm.team_id = a.team_id AND tm.user_id = :uid AND tm.workspace_id = :ws
			WHERE a.knowledge_base_id = kb.id AND a.workspace_id = :ws)))`

	docVisibleSQL = `(d.workspace_id = :ws AND (:admin = 1 OR d.uploaded_by = :uid
		OR EXISTS (SELECT 1 FROM knowledge_base_documents kd JOIN knowledge_bases kb ON kb.id = kd.knowledge_base_id
			WHERE kd.document_id = d.id AND kd.workspace_id = :ws AND ` + kbVisibleSQL + `)))`
)

// viewerArgs binds the named parameters of the visibility predicates.
func viewerArgs(wsID string, v Viewer) []any {
	return []any{sql.Named("ws", wsID), sql.Named("uid", v.UserID), sql.Named("admin", boolInt(v.IsAdmin))}
}

// KnowledgeBase is a named set of documents with its access settings.
type KnowledgeBase struct {
	ID                  string
	WorkspaceID         string
	Name                string
	Description         string
	SharedWithWorkspace bool
	CreatedBy           int64 // 0 when the creator's account is gone
	DocumentCount       int
	ChunkCount          int // chunks of the KB's documents (all of them, whatever their status)
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// KBAccess is who may see a knowledge base besides its creator and the admins.
type KBAccess struct {
	SharedWithWorkspace bool
	TeamIDs             []int64
}

const kbCols = `kb.id, kb.workspace_id, kb.name, kb.description, kb.shared_with_workspace, coalesce(kb.created_by, 0),
	(SELECT count(*) FROM knowledge_base_documents kd WHERE kd.knowledge_base_id = kb.id),
	(SELECT coalesce(sum(d.chunk_count), 0) FROM knowledge_base_documents kd JOIN documents d ON d.id = kd.document_id WHERE kd.knowledge_base_id = kb.id),
	kb.created_at, kb.updated_at`

func scanKB(row interface{ Scan(...any) error }) (*KnowledgeBase, error) {
	var kb KnowledgeBase
	var created, updated string
	if err := row.Scan(&kb.ID, &kb.WorkspaceID, &kb.Name, &kb.Description, &kb.SharedWithWorkspace, &kb.CreatedBy,
		&kb.DocumentCount, &kb.ChunkCount, &created, &updated); err != nil {
		return nil, notFound(err)
	}
	kb.CreatedAt, kb.UpdatedAt = parseTime(created), parseTime(updated)
	return &kb, nil
}

// CreateKnowledgeBase creates a knowledge base created by userID.
func (s *Store) CreateKnowledgeBase(ctx context.Context, wsID string, userID int64, name, description string, shared bool) (*KnowledgeBase, error) {
	id, ts := uuid.NewString(), now()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO knowledge_bases (id, workspace_id, name, description, shared_with_workspace, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, wsID, name, description, boolInt(shared), userID, ts, ts); err != nil {
		return nil, err
	}
	return s.getKB(ctx, s.w, wsID, id)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) getKB(ctx context.Context, q queryRower, wsID, id string) (*KnowledgeBase, error) {
	return scanKB(q.QueryRowContext(ctx, `SELECT `+kbCols+` FROM knowledge_bases kb WHERE kb.workspace_id = ? AND kb.id = ?`, wsID, id))
}

// GetKnowledgeBase loads a knowledge base the viewer can see; ErrNotFound
// when it does not exist in the workspace or is hidden from the viewer (the
// two are not told apart, so existence does not leak).
func (s *Store) GetKnowledgeBase(ctx context.Context, wsID string, v Viewer, id string) (*KnowledgeBase, error) {
	args := append(viewerArgs(wsID, v), sql.Named("id", id))
	return scanKB(s.r.QueryRowContext(ctx, `SELECT `+kbCols+` FROM knowledge_bases kb WHERE kb.id = :id AND `+kbVisibleSQL, args...))
}

// ListKnowledgeBases pages through the knowledge bases the viewer can see,
// ordered by name then id; pass the last item's name and id to get the next page.
func (s *Store) ListKnowledgeBases(ctx context.Context, wsID string, v Viewer, afterName, afterID string, limit int) ([]KnowledgeBase, error) {
	args := append(viewerArgs(wsID, v), sql.Named("an", afterName), sql.Named("aid", afterID), sql.Named("lim", limit))
	rows, err := s.r.QueryContext(ctx, `SELECT `+kbCols+` FROM knowledge_bases kb WHERE `+kbVisibleSQL+`
		AND (kb.name > :an OR (kb.name = :an AND kb.id > :aid)) ORDER BY kb.name, kb.id LIMIT :lim`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []KnowledgeBase
	for rows.Next() {
		kb, err := scanKB(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *kb)
	}
	return out, rows.Err()
}

// VisibleKBIDs lists the ids of every knowledge base of the workspace the
// viewer can see.
func (s *Store) VisibleKBIDs(ctx context.Context, wsID string, v Viewer) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kb.id FROM knowledge_bases kb WHERE `+kbVisibleSQL+` ORDER BY kb.id`, viewerArgs(wsID, v)...)
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
}

// KBVisible reports whether the viewer can see the knowledge base (false,
// not an error, when it does not exist in the workspace).
func (s *Store) KBVisible(ctx context.Context, wsID string, v Viewer, kbID string) (bool, error) {
	var n int
	args := append(viewerArgs(wsID, v), sql.Named("id", kbID))
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM knowledge_bases kb WHERE kb.id = :id AND `+kbVisibleSQL, args...).Scan(&n)
	return n > 0, err
}

// KBFields are the changes of UpdateKnowledgeBase; nil fields stay as they are.
type KBFields struct {
	Name        *string
	Description *string
}

// UpdateKnowledgeBase renames or re-describes a knowledge base.
func (s *Store) UpdateKnowledgeBase(ctx context.Context, wsID, id string, f KBFields) (*KnowledgeBase, error) {
	var kb *KnowledgeBase
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := affected(tx.ExecContext(ctx, `UPDATE knowledge_bases SET name = coalesce(?, name), description = coalesce(?, description), updated_at = ?
			WHERE workspace_id = ? AND id = ?`, f.Name, f.Description, now(), wsID, id))
		if err != nil {
			return err
		}
		kb, err = s.getKB(ctx, tx, wsID, id)
		return err
	})
	return kb, err
}

// DeleteKnowledgeBase deletes a knowledge base and its links and grants. The
// documents stay in the workspace: they may belong to other knowledge bases,
// and their uploader can still see them.
func (s *Store) DeleteKnowledgeBase(ctx context.Context, wsID, id string) error {
	return affected(s.w.ExecContext(ctx, `DELETE FROM knowledge_bases WHERE workspace_id = ? AND id = ?`, wsID, id))
}

// GetKBAccess reads a knowledge base's sharing settings.
func (s *Store) GetKBAccess(ctx context.Context, wsID, id string) (*KBAccess, error) {
	var a KBAccess
	if err := s.r.QueryRowContext(ctx, `SELECT shared_with_workspace FROM knowledge_bases WHERE workspace_id = ? AND id = ?`, wsID, id).
		Scan(&a.SharedWithWorkspace); err != nil {
		return nil, notFound(err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT team_id FROM knowledge_base_team_access WHERE workspace_id = ? AND knowledge_base_id = ? ORDER BY team_id`, wsID, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	a.TeamIDs = []int64{}
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		a.TeamIDs = append(a.TeamIDs, t)
	}
	return &a, rows.Err()
}

// ErrInvalidTeam: a team id that is not a team of the workspace.
var ErrInvalidTeam = errors.New("invalid team")

// ErrNotShareable: the change would let more people see documents that the
// person making it may not share (someone else uploaded them).
var ErrNotShareable = errors.New("documents the caller may not share")

// SetKBAccess replaces a knowledge base's sharing settings on behalf of by.
// Every team must belong to the workspace (ErrInvalidTeam otherwise).
// Who sees a document is for its uploader and the admins to decide, so unless
// by is an admin, a change that lets more people see the knowledge base
// (sharing it with the workspace, or granting a team it did not have) is
// refused with ErrNotShareable while it holds a document someone else
// uploaded. Narrowing is always allowed. Check and change are one transaction,
// so a document added meanwhile cannot slip through.
func (s *Store) SetKBAccess(ctx context.Context, wsID string, by Viewer, id string, a KBAccess) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		teams := dedupeInt64(a.TeamIDs)
		if !by.IsAdmin {
			var foreign int
			// Widening: the knowledge base was not shared with the workspace and
			// now is, or gains a team. Then: documents uploaded by someone else.
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM knowledge_bases kb
				JOIN knowledge_base_documents kd ON kd.knowledge_base_id = kb.id AND kd.workspace_id = kb.workspace_id
				JOIN documents d ON d.id = kd.document_id AND d.workspace_id = kb.workspace_id
				WHERE kb.workspace_id = ? AND kb.id = ? AND kb.shared_with_workspace = 0
				AND (? = 1 OR EXISTS (SELECT 1 FROM json_each(?) j WHERE j.value NOT IN
					(SELECT team_id FROM knowledge_base_team_access WHERE workspace_id = kb.workspace_id AND knowledge_base_id = kb.id)))
				AND coalesce(d.uploaded_by, 0) != ?`,
				wsID, id, boolInt(a.SharedWithWorkspace), jsonIDs(teams), by.UserID).Scan(&foreign); err != nil {
				return err
			}
			if foreign > 0 {
				return ErrNotShareable
			}
		}
		ts := now()
		if err := affected(tx.ExecContext(ctx, `UPDATE knowledge_bases SET shared_with_workspace = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`,
			boolInt(a.SharedWithWorkspace), ts, wsID, id)); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM teams WHERE workspace_id = ? AND id IN (SELECT value FROM json_each(?))`,
			wsID, jsonIDs(teams)).Scan(&n); err != nil {
			return err
		}
		if n != len(teams) {
			return ErrInvalidTeam
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM knowledge_base_team_access WHERE workspace_id = ? AND knowledge_base_id = ?`, wsID, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO knowledge_base_team_access (workspace_id, knowledge_base_id, team_id, created_at)
			SELECT ?, ?, value, ? FROM json_each(?)`, wsID, id, ts, jsonIDs(teams))
		return err
	})
}

// ErrInvalidDocument: a document id that is not a document of the workspace.
var ErrInvalidDocument = errors.New("invalid document")

// AddKBDocuments links documents to a knowledge base (nothing is copied;
// links that exist already are kept). Every document must belong to the
// workspace (ErrInvalidDocument otherwise, and nothing is linked).
func (s *Store) AddKBDocuments(ctx context.Context, wsID, kbID string, docIDs []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return linkDocuments(ctx, tx, wsID, kbID, docIDs) })
}

func linkDocuments(ctx context.Context, tx *sql.Tx, wsID, kbID string, docIDs []string) error {
	docIDs = dedupeStrings(docIDs)
	var kbs, docs int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM knowledge_bases WHERE workspace_id = ? AND id = ?),
		(SELECT count(*) FROM documents WHERE workspace_id = ? AND id IN (SELECT value FROM json_each(?)))`,
		wsID, kbID, wsID, jsonIDs(docIDs)).Scan(&kbs, &docs); err != nil {
		return err
	}
	if kbs == 0 {
		return ErrNotFound
	}
	if docs != len(docIDs) {
		return ErrInvalidDocument
	}
	ts := now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO knowledge_base_documents (workspace_id, knowledge_base_id, document_id, created_at)
		SELECT ?, ?, value, ? FROM json_each(?) WHERE true ON CONFLICT (knowledge_base_id, document_id) DO NOTHING`,
		wsID, kbID, ts, jsonIDs(docIDs)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE knowledge_bases SET updated_at = ? WHERE workspace_id = ? AND id = ?`, ts, wsID, kbID)
	return err
}

// RemoveKBDocuments unlinks documents from a knowledge base; the documents stay.
func (s *Store) RemoveKBDocuments(ctx context.Context, wsID, kbID string, docIDs []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, `UPDATE knowledge_bases SET updated_at = ? WHERE workspace_id = ? AND id = ?`, now(), wsID, kbID)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM knowledge_base_documents WHERE workspace_id = ? AND knowledge_base_id = ?
			AND document_id IN (SELECT value FROM json_each(?))`, wsID, kbID, jsonIDs(docIDs))
		return err
	})
}

// DocumentKBIDs lists the knowledge bases a document belongs to that the
// viewer can see (the others are not revealed).
func (s *Store) DocumentKBIDs(ctx context.Context, wsID string, v Viewer, docID string) ([]string, error) {
	m, err := s.DocumentsKBIDs(ctx, wsID, v, []string{docID})
	if err != nil {
		return nil, err
	}
	return m[docID], nil
}

// DocumentsKBIDs maps each document to the knowledge bases the viewer can see it in.
func (s *Store) DocumentsKBIDs(ctx context.Context, wsID string, v Viewer, docIDs []string) (map[string][]string, error) {
	args := append(viewerArgs(wsID, v), sql.Named("docs", jsonIDs(docIDs)))
	rows, err := s.r.QueryContext(ctx, `SELECT kd.document_id, kb.id FROM knowledge_base_documents kd JOIN knowledge_bases kb ON kb.id = kd.knowledge_base_id
		WHERE kd.workspace_id = :ws AND kd.document_id IN (SELECT value FROM json_each(:docs)) AND `+kbVisibleSQL+`
		ORDER BY kd.document_id, kb.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var doc, kb string
		if err := rows.Scan(&doc, &kb); err != nil {
			return nil, err
		}
		out[doc] = append(out[doc], kb)
	}
	return out, rows.Err()
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func dedupeStrings(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func dedupeInt64(in []int64) []int64 {
	seen := make(map[int64]bool, len(in))
	out := make([]int64, 0, len(in))
	for _, n := range in {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Document statuses.
const (
	DocPending    = "pending"
	DocProcessing = "processing"
	DocReady      = "ready"
	DocFailed     = "failed"
)

// Document is an uploaded file and the state of its processing.
//
// A ready document with an empty EmbeddingModel has chunks and keyword search
// but no vectors yet (the model server was unreachable); ProcessingError then
// says so, and an embed task fills the vectors in later.
type Document struct {
	ID               string
	WorkspaceID      string
	Name             string
	OriginalFilename string
	MimeType         string
	FileSize         int64
	SHA256           string
	StoragePath      string // relative to the files folder
	SourceURL        string
	Status           string
	Progress         int
	ProcessingError  string
	ChunkCount       int
	EmbeddingModel   string
	UploadedBy       int64 // 0 when the uploader's account is gone
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// VectorsPending reports a ready document whose chunks still wait for vectors.
func (d *Document) VectorsPending() bool { return d.Status == DocReady && d.EmbeddingModel == "" }

// NewDocument describes an upload to record.
type NewDocument struct {
	ID               string // optional; a new UUID when empty (callers that store the file first pick it)
	Name             string
	OriginalFilename string
	MimeType         string
	FileSize         int64
	SHA256           string
	StoragePath      string
	SourceURL        string
	UploadedBy       int64
	KnowledgeBaseIDs []string
	Limits           DocumentLimits // the plan's, checked in the transaction that adds the row
}

// DocumentLimits are what a workspace's plan holds (0 = unlimited).
type DocumentLimits struct {
	Documents int64
	Bytes     int64
}

// ErrDocumentLimit and ErrStorageLimit refuse a document the plan has no room for.
var (
	ErrDocumentLimit = errors.New("document limit reached")
	ErrStorageLimit  = errors.New("storage limit reached")
)

// checkDocumentLimits runs inside the write transaction that adds a document
// of size bytes, so parallel uploads cannot all take the last place: the new
// row is the reservation.
func checkDocumentLimits(ctx context.Context, tx *sql.Tx, wsID string, lim DocumentLimits, size int64) error {
	if lim.Documents == 0 && lim.Bytes == 0 {
		return nil
	}
	var count, used int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(file_size), 0) FROM documents WHERE workspace_id = ?`, wsID).Scan(&count, &used); err != nil {
		return err
	}
	if lim.Documents > 0 && count >= lim.Documents {
		return ErrDocumentLimit
	}
	if lim.Bytes > 0 && used+size > lim.Bytes {
		return ErrStorageLimit
	}
	return nil
}

const docCols = `d.id, d.workspace_id, d.name, d.original_filename, d.mime_type, d.file_size, d.sha256, d.storage_path, d.source_url,
	d.status, d.progress, d.processing_error, d.chunk_count, d.embedding_model, coalesce(d.uploaded_by, 0), d.created_at, d.updated_at`

func scanDocument(row interface{ Scan(...any) error }) (*Document, error) {
	var d Document
	var created, updated string
	if err := row.Scan(&d.ID, &d.WorkspaceID, &d.Name, &d.OriginalFilename, &d.MimeType, &d.FileSize, &d.SHA256, &d.StoragePath, &d.SourceURL,
		&d.Status, &d.Progress, &d.ProcessingError, &d.ChunkCount, &d.EmbeddingModel, &d.UploadedBy, &created, &updated); err != nil {
		return nil, notFound(err)
	}
	d.CreatedAt, d.UpdatedAt = parseTime(created), parseTime(updated)
	return &d, nil
}

// CreateDocument records a pending document, links it to its knowledge bases
// and queues its ingest task, all in one transaction: a document never exists
// without the task that will process it. An unknown knowledge base gives
// ErrNotFound and nothing is created.
func (s *Store) CreateDocument(ctx context.Context, wsID string, nd NewDocument) (*Document, int64, error) {
	if nd.ID == "" {
		nd.ID = uuid.NewString()
	}
	var d *Document
	var taskID int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ts := now()
		if err := checkDocumentLimits(ctx, tx, wsID, nd.Limits, nd.FileSize); err != nil {
			return err
		}
		var err error
		if _, err := tx.ExecContext(ctx, `INSERT INTO documents (id, workspace_id, name, original_filename, mime_type, file_size, sha256,
			storage_path, source_url, uploaded_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			nd.ID, wsID, nd.Name, nd.OriginalFilename, nd.MimeType, nd.FileSize, nd.SHA256, nd.StoragePath, nd.SourceURL, nullInt(nd.UploadedBy), ts, ts); err != nil {
			return err
		}
		d, err = scanDocument(tx.QueryRowContext(ctx, `SELECT `+docCols+` FROM documents d WHERE d.workspace_id = ? AND d.id = ?`, wsID, nd.ID))
		if err != nil {
			return err
		}
		for _, kb := range dedupeStrings(nd.KnowledgeBaseIDs) {
			if err := linkDocuments(ctx, tx, wsID, kb, []string{d.ID}); err != nil {
				return err
			}
		}
		taskID, err = enqueueTask(ctx, tx, NewTask{WorkspaceID: wsID, DocumentID: d.ID, Kind: TaskIngest})
		return err
	})
	if isUnique(err) {
		return nil, 0, ErrConflict
	}
	return d, taskID, err
}

// GetDocument loads a document of the workspace whoever asks (for the
// processing pipeline and for checks that come after a visibility check).
func (s *Store) GetDocument(ctx context.Context, wsID, id string) (*Document, error) {
	return scanDocument(s.r.QueryRowContext(ctx, `SELECT `+docCols+` FROM documents d WHERE d.workspace_id = ? AND d.id = ?`, wsID, id))
}

// GetVisibleDocument loads a document the viewer can see; ErrNotFound otherwise.
func (s *Store) GetVisibleDocument(ctx context.Context, wsID string, v Viewer, id string) (*Document, error) {
	args := append(viewerArgs(wsID, v), sql.Named("id", id))
	return scanDocument(s.r.QueryRowContext(ctx, `SELECT `+docCols+` FROM documents d WHERE d.id = :id AND `+docVisibleSQL, args...))
}

// DocumentCursor is the position after which a document listing continues.
type DocumentCursor struct {
	CreatedAt time.Time
	ID        string
}

// DocumentFilter selects documents for ListDocuments; zero fields select everything.
type DocumentFilter struct {
	Status          string
	KnowledgeBaseID string
	Query           string // part of the name, case-insensitive for ASCII
	After           *DocumentCursor
	Limit           int
}

// ListDocuments pages through the documents the viewer can see, newest first.
// The next page starts after the last item (DocumentCursor{d.CreatedAt, d.ID}).
func (s *Store) ListDocuments(ctx context.Context, wsID string, v Viewer, f DocumentFilter) ([]Document, error) {
	after := DocumentCursor{CreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	if f.After != nil {
		after = *f.After
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	args := append(viewerArgs(wsID, v),
		sql.Named("status", f.Status), sql.Named("kbid", f.KnowledgeBaseID), sql.Named("q", "%"+likeEscape(f.Query)+"%"),
		sql.Named("at", formatTime(after.CreatedAt)), sql.Named("aid", after.ID), sql.Named("lim", f.Limit))
	rows, err := s.r.QueryContext(ctx, `SELECT `+docCols+` FROM documents d WHERE `+docVisibleSQL+`
		AND (:status = '' OR d.status = :status)
		AND (:kbid = '' OR EXISTS (SELECT 1 FROM knowledge_base_documents f WHERE f.document_id = d.id AND f.knowledge_base_id = :kbid))
		AND d.name LIKE :q ESCAPE '\'
		AND (d.created_at < :at OR (d.created_at = :at AND d.id < :aid))
		ORDER BY d.created_at DESC, d.id DESC LIMIT :lim`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// DocumentUpdate changes a document's processing state; nil fields stay.
type DocumentUpdate struct {
	Status          *string
	Progress        *int
	ProcessingError *string
	ChunkCount      *int
	EmbeddingModel  *string
}

// UpdateDocument applies a processing-state change.
func (s *Store) UpdateDocument(ctx context.Context, wsID, id string, u DocumentUpdate) error {
	return affected(s.w.ExecContext(ctx, `UPDATE documents SET status = coalesce(?, status), progress = coalesce(?, progress),
		processing_error = coalesce(?, processing_error), chunk_count = coalesce(?, chunk_count), embedding_model = coalesce(?, embedding_model),
		updated_at = ? WHERE workspace_id = ? AND id = ?`,
		u.Status, u.Progress, u.ProcessingError, u.ChunkCount, u.EmbeddingModel, now(), wsID, id))
}

// RenameDocument changes a document's display name.
func (s *Store) RenameDocument(ctx context.Context, wsID, id, name string) error {
	return affected(s.w.ExecContext(ctx, `UPDATE documents SET name = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`, name, now(), wsID, id))
}

// DeleteDocument deletes a document with its chunks, their FTS rows (by
// trigger) and vectors, its knowledge-base links and its tasks, in one
// transaction. It returns the stored file's path: the caller removes the file
// after the commit, so a failed transaction never loses the original.
func (s *Store) DeleteDocument(ctx context.Context, wsID, id string) (storagePath string, err error) {
	err = s.vtx(ctx, func(tx *sql.Tx, vl *vecLog) error {
		if err := tx.QueryRowContext(ctx, `SELECT storage_path FROM documents WHERE workspace_id = ? AND id = ?`, wsID, id).Scan(&storagePath); err != nil {
			return notFound(err)
		}
		if err := deleteChunks(ctx, tx, vl, wsID, id, 0); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM knowledge_base_documents WHERE workspace_id = ? AND document_id = ?`,
			`DELETE FROM document_processing_tasks WHERE workspace_id = ? AND document_id = ?`,
			`DELETE FROM documents WHERE workspace_id = ? AND id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, wsID, id); err != nil {
				return err
			}
		}
		return nil
	})
	return storagePath, err
}

// StoragePaths lists the stored file of every document of a workspace (the
// orphan sweep keeps exactly these).
func (s *Store) StoragePaths(ctx context.Context, wsID string) (map[string]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT storage_path FROM documents WHERE workspace_id = ?`, wsID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out[p] = true
	}
	return out, rows.Err()
}

// DocumentsForEmbedding lists every ready document, in any workspace, whose
// vectors are not all from model: the work of a re-index after the instance's
// embedding model changed (or of embedding that waited for the model server).
func (s *Store) DocumentsForEmbedding(ctx context.Context, model string) ([]DocumentRef, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT workspace_id, id FROM documents d WHERE status = 'ready' AND chunk_count > 0
		AND EXISTS (SELECT 1 FROM document_chunks c WHERE c.document_id = d.id AND c.embedding_model <> ?) ORDER BY created_at`, model)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DocumentRef
	for rows.Next() {
		var r DocumentRef
		if err := rows.Scan(&r.WorkspaceID, &r.ID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DocumentRef names a document across workspaces.
type DocumentRef struct {
	WorkspaceID string
	ID          string
}

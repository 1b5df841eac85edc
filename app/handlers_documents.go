package app

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"quire/app/ingest"
	"quire/store"
)

type documentJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	OriginalFilename string    `json:"original_filename"`
	MimeType         string    `json:"mime_type"`
	FileSize         int64     `json:"file_size"`
	SourceURL        string    `json:"source_url,omitempty"`
	Status           string    `json:"status"`
	Progress         int       `json:"progress"`
	ProcessingError  string    `json:"processing_error"`
	ChunkCount       int       `json:"chunk_count"`
	EmbeddingModel   string    `json:"embedding_model"`
	VectorsPending   bool      `json:"vectors_pending"` // ready for keyword search, vectors wait for the model server
	UploadedBy       *int64    `json:"uploaded_by"`
	KnowledgeBaseIDs []string  `json:"knowledge_base_ids,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func documentView(d *store.Document) documentJSON {
	v := documentJSON{ID: d.ID, Name: d.Name, OriginalFilename: d.OriginalFilename, MimeType: d.MimeType, FileSize: d.FileSize,
		SourceURL: d.SourceURL, Status: d.Status, Progress: d.Progress, ProcessingError: d.ProcessingError, ChunkCount: d.ChunkCount,
		EmbeddingModel: d.EmbeddingModel, VectorsPending: d.VectorsPending(), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.UploadedBy != 0 {
		v.UploadedBy = &d.UploadedBy
	}
	return v
}

func documentOf(c *fiber.Ctx) *store.Document {
	return documentLocal.get(c)
}

// filePath is where a document's original lives: files/<workspace>/<document>.
// Neither part comes from the client, so no name can escape the folder.
func (s *Server) filePath(storagePath string) string {
	return filepath.Join(s.cfg.FilesDir(), filepath.FromSlash(storagePath))
}

// kbTargets checks the knowledge bases an upload should join: each must exist,
// be visible, and be one the caller may add documents to.
func (s *Server) kbTargets(c *fiber.Ctx, ids []string) error {
	v := viewerOf(c)
	for _, id := range ids {
		kb, err := s.store.GetKnowledgeBase(c.UserContext(), workspaceOf(c).ID, v, id)
		if errors.Is(err, store.ErrNotFound) {
			return invalid("knowledge_base_ids", "no knowledge base %q that you can see in this workspace", id)
		}
		if err != nil {
			return err
		}
		if !v.IsAdmin && kb.CreatedBy != v.UserID {
			return forbidden("only the creator of %q or a workspace admin can add documents to it", kb.Name)
		}
	}
	return nil
}

// formList splits a form field's values on commas.
func formList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// uploadDocument stores the file under a name of our own, sniffs what it really
// is, and queues it for processing: 202 with the pending document.
func (s *Server) uploadDocument(c *fiber.Ctx) error {
	ws := workspaceOf(c)
	up, err := s.readUpload(c, s.uploadDir(ws.ID)) // streamed to a temporary file under the cap (bodies.go)
	if err != nil {
		return err
	}
	defer up.discard()
	kbIDs := formList(up.fields["knowledge_base_ids"])
	if err := s.kbTargets(c, kbIDs); err != nil {
		return err
	}
	lim, err := s.documentsAllowed(c, up.size)
	if err != nil {
		return err
	}
	kind, err := ingest.Detect(up.file, up.size, up.filename)
	if err != nil {
		var ie *ingest.Error
		if errors.As(err, &ie) && !errors.Is(err, ingest.ErrUnsupported) {
			return invalid("file", "%s", ie.Msg)
		}
		return errorf(fiber.StatusUnsupportedMediaType, "unsupported_media_type",
			"%s: %s. Supported: text, Markdown, HTML, PDF, Word (.docx), CSV, Excel (.xlsx) and PowerPoint (.pptx)", up.filename, errMsg(err))
	}
	name := strings.TrimSpace(up.field("name"))
	if name == "" {
		name = cleanFilename(up.filename)
	}
	if name, err = checkName("name", name, true); err != nil {
		return err
	}
	docID := uuid.NewString()
	rel := ws.ID + "/" + docID
	if err := up.keep(s.filePath(rel)); err != nil {
		return err
	}
	d, _, err := s.store.CreateDocument(c.UserContext(), ws.ID, store.NewDocument{ID: docID, Name: name, OriginalFilename: cleanFilename(up.filename),
		MimeType: kind.MIME(), FileSize: up.size, SHA256: up.sha256, StoragePath: rel, UploadedBy: userOf(c).ID, KnowledgeBaseIDs: kbIDs, Limits: lim})
	if err != nil {
		os.Remove(s.filePath(rel))
		return s.plan.DocumentLimitError(lim, err)
	}
	s.knowledge.Wake()
	v := documentView(d)
	v.KnowledgeBaseIDs = kbIDs
	return c.Status(fiber.StatusAccepted).JSON(v)
}

func errMsg(err error) string {
	var ie *ingest.Error
	if errors.As(err, &ie) {
		return ie.Msg
	}
	return err.Error()
}

// saveFile writes the upload to a temporary file and renames it into place,
// so a crash never leaves a half-written original under a document's name.
func (s *Server) saveFile(rel string, src io.ReaderAt) (string, error) {
	dst := s.filePath(rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".upload-*")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), io.NewSectionReader(src, 0, 1<<62))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("store the upload: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cleanFilename keeps the base name of a client's file name, for display only.
func cleanFilename(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" || name == "" {
		return "document"
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	return name
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// documentsAllowed is the plan's gate on documents and storage (billing); the
// limits it returns go into store.NewDocument to be enforced atomically.
func (s *Server) documentsAllowed(c *fiber.Ctx, extraBytes int64) (store.DocumentLimits, error) {
	return s.plan.Documents(c.UserContext(), workspaceOf(c).ID, extraBytes)
}

func (s *Server) listDocuments(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	f := store.DocumentFilter{Status: c.Query("status"), KnowledgeBaseID: c.Query("knowledge_base_id"), Query: strings.TrimSpace(c.Query("q")), Limit: limit + 1}
	switch f.Status {
	case "", store.DocPending, store.DocProcessing, store.DocReady, store.DocFailed:
	default:
		return invalid("status", "status must be pending, processing, ready or failed")
	}
	if cursor != "" {
		at, id := splitCursor(cursor)
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil || id == "" {
			return invalid("cursor", "cursor is not one this server issued")
		}
		f.After = &store.DocumentCursor{CreatedAt: t, ID: id}
	}
	docs, err := s.store.ListDocuments(c.UserContext(), workspaceOf(c).ID, viewerOf(c), f)
	if err != nil {
		return err
	}
	return c.JSON(page(docs, limit, func(d *store.Document) string { return d.CreatedAt.Format(time.RFC3339Nano) + "\x00" + d.ID }, documentView))
}

func (s *Server) getDocument(c *fiber.Ctx) error {
	d := documentOf(c)
	v := documentView(d)
	ids, err := s.store.DocumentKBIDs(c.UserContext(), workspaceOf(c).ID, viewerOf(c), d.ID)
	if err != nil {
		return err
	}
	v.KnowledgeBaseIDs = ids
	return c.JSON(v)
}

func (s *Server) patchDocument(c *fiber.Ctx) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d := documentOf(c)
	if in.Name != nil {
		name, err := checkName("name", *in.Name, true)
		if err != nil {
			return err
		}
		if err := s.store.RenameDocument(c.UserContext(), d.WorkspaceID, d.ID, name); err != nil {
			return err
		}
		d.Name = name
	}
	return c.JSON(documentView(d))
}

func (s *Server) deleteDocument(c *fiber.Ctx) error {
	d := documentOf(c)
	// The service stops the document's running task first, then deletes it with
	// its chunks, FTS rows and vectors in one transaction, then its file.
	if err := s.knowledge.DeleteDocument(c.UserContext(), d.WorkspaceID, d.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) reprocessDocument(c *fiber.Ctx) error {
	d := documentOf(c)
	if err := s.knowledge.Reprocess(c.UserContext(), d.WorkspaceID, d.ID); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return conflict("the document is still being processed; try again in a moment")
		}
		return err
	}
	d, err := s.store.GetDocument(c.UserContext(), d.WorkspaceID, d.ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(documentView(d))
}

func (s *Server) documentFile(c *fiber.Ctx) error {
	d := documentOf(c)
	if d.StoragePath == "" {
		return notFound("original file")
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename*=UTF-8''%s`, url.PathEscape(d.OriginalFilename)))
	c.Set(fiber.HeaderContentType, d.MimeType)
	c.Set("X-Content-Type-Options", "nosniff")
	return c.SendFile(s.filePath(d.StoragePath))
}

type chunkJSON struct {
	ID             string `json:"id"`
	ChunkIndex     int    `json:"chunk_index"`
	Content        string `json:"content"`
	PageNumber     *int   `json:"page_number"`
	SectionHeading string `json:"section_heading"`
	TokenCount     int    `json:"token_count"`
	EmbeddingModel string `json:"embedding_model"`
}

func chunkView(ch *store.Chunk) chunkJSON {
	v := chunkJSON{ID: ch.ID, ChunkIndex: ch.Index, Content: ch.Content, SectionHeading: ch.Heading, TokenCount: ch.Tokens, EmbeddingModel: ch.EmbeddingModel}
	if ch.Page > 0 {
		v.PageNumber = &ch.Page
	}
	return v
}

func (s *Server) documentChunks(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	after := -1
	if cursor != "" {
		if _, err := fmt.Sscanf(cursor, "%d", &after); err != nil {
			return invalid("cursor", "cursor is not one this server issued")
		}
	}
	d := documentOf(c)
	chunks, err := s.store.ListChunks(c.UserContext(), d.WorkspaceID, d.ID, after, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(chunks, limit, func(ch *store.Chunk) string { return fmt.Sprint(ch.Index) }, chunkView))
}

package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/ingest"
	"quire/app/knowledge"
	"quire/app/units"
	"quire/store"
)

type documentJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	OriginalFilename string    `json:"original_filename"`
	MimeType         string    `json:"mime_type"`
	FileSize         int64     `json:"file_size"`
	FileSizeText     string    `json:"file_size_text"` // units.Bytes, so the list a script grows reads like the page
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
		FileSizeText: units.Bytes(d.FileSize), SourceURL: d.SourceURL, Status: d.Status, Progress: d.Progress, ProcessingError: d.ProcessingError, ChunkCount: d.ChunkCount,
		EmbeddingModel: d.EmbeddingModel, VectorsPending: d.VectorsPending(), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.UploadedBy != 0 {
		v.UploadedBy = &d.UploadedBy
	}
	return v
}

func documentOf(c *fiber.Ctx) *store.Document {
	return documentLocal.get(c)
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
	up, err := s.readUpload(c, s.knowledge.StagingDir(ws.ID)) // streamed to a temporary file under the cap (bodies.go)
	if err != nil {
		return err
	}
	defer up.discard()
	kbIDs := formList(up.fields["knowledge_base_ids"])
	d, err := s.addDocument(c, knowledge.NewDocument{
		Source: knowledge.Source{File: up.file, Filename: up.filename, Size: up.size, SHA256: up.sha256},
		Name:   up.field("name"), KnowledgeBaseIDs: kbIDs,
	})
	if err != nil {
		return err
	}
	v := documentView(d)
	v.KnowledgeBaseIDs = kbIDs
	return c.Status(fiber.StatusAccepted).JSON(v)
}

// addURLDocument fetches a web page (or a file on the web) and queues it like an upload.
func (s *Server) addURLDocument(c *fiber.Ctx) error {
	var in struct {
		URL              string   `json:"url"`
		Name             string   `json:"name"`
		KnowledgeBaseIDs []string `json:"knowledge_base_ids"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d, err := s.addDocument(c, knowledge.NewDocument{Source: knowledge.Source{URL: in.URL}, Name: in.Name, KnowledgeBaseIDs: in.KnowledgeBaseIDs})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(documentView(d))
}

// addDocument adds a document as the caller, behind the plan's document gate.
func (s *Server) addDocument(c *fiber.Ctx, in knowledge.NewDocument) (*store.Document, error) {
	ws := workspaceOf(c)
	var lim store.DocumentLimits
	in.Gate = func(ctx context.Context, size int64) (store.DocumentLimits, error) {
		var err error
		lim, err = s.plan.Documents(ctx, ws.ID, size)
		return lim, err
	}
	d, err := s.knowledge.Add(c.UserContext(), ws.ID, viewerOf(c), in)
	if err != nil {
		return nil, s.plan.DocumentLimitError(lim, err)
	}
	return d, nil
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
		name, err := s.knowledge.Rename(c.UserContext(), d.WorkspaceID, d.ID, *in.Name)
		if err != nil {
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
	d, err := s.knowledge.Reprocess(c.UserContext(), d.WorkspaceID, d.ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(documentView(d))
}

func (s *Server) documentFile(c *fiber.Ctx) error {
	d := documentOf(c)
	path, err := s.knowledge.Original(d)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename*=UTF-8''%s`, url.PathEscape(d.OriginalFilename)))
	c.Set(fiber.HeaderContentType, d.MimeType)
	c.Set("X-Content-Type-Options", "nosniff")
	return c.SendFile(path)
}

type chunkJSON struct {
	ID             string `json:"id"`
	ChunkIndex     int    `json:"chunk_index"`
	Content        string `json:"content"`
	PageNumber     *int   `json:"page_number"`
	Location       string `json:"location"` // "p. 2", "slide 3"; "" without pages
	SectionHeading string `json:"section_heading"`
	TokenCount     int    `json:"token_count"`
	EmbeddingModel string `json:"embedding_model"`
}

// chunkView shows the chunks of d; d's kind says whether a page is a page or a slide.
func chunkView(d *store.Document) func(ch *store.Chunk) chunkJSON {
	kind := ingest.KindOfMIME(d.MimeType)
	return func(ch *store.Chunk) chunkJSON {
		v := chunkJSON{ID: ch.ID, ChunkIndex: ch.Index, Content: ch.Content, SectionHeading: ch.Heading, TokenCount: ch.Tokens,
			EmbeddingModel: ch.EmbeddingModel, Location: kind.Location(ch.Page)}
		if ch.Page > 0 {
			v.PageNumber = &ch.Page
		}
		return v
	}
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
	return c.JSON(page(chunks, limit, func(ch *store.Chunk) string { return fmt.Sprint(ch.Index) }, chunkView(d)))
}

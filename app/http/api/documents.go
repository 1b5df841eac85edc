package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/app/ingest"
	"quire/app/knowledge"
	"quire/app/units"
	"quire/store"
)

type DocumentJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	OriginalFilename string    `json:"original_filename"`
	MimeType         string    `json:"mime_type"`
	FileSize         int64     `json:"file_size"`
	FileSizeText     string    `json:"file_size_text"` // units.Bytes, so the List a script grows reads like the page
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

func DocumentView(d *store.Document) DocumentJSON {
	v := DocumentJSON{ID: d.ID, Name: d.Name, OriginalFilename: d.OriginalFilename, MimeType: d.MimeType, FileSize: d.FileSize,
		FileSizeText: units.Bytes(d.FileSize), SourceURL: d.SourceURL, Status: d.Status, Progress: d.Progress, ProcessingError: d.ProcessingError, ChunkCount: d.ChunkCount,
		EmbeddingModel: d.EmbeddingModel, VectorsPending: d.VectorsPending(), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.UploadedBy != 0 {
		v.UploadedBy = &d.UploadedBy
	}
	return v
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

// UploadDocument stores the file under a name of our own, sniffs what it really
// is, and queues it for processing: 202 with the pending document.
func (s *Handlers) UploadDocument(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	up, err := s.Bodies.ReadUpload(c, s.Knowledge.StagingDir(ws.ID)) // streamed to a temporary file under the cap (request/bodies.go)
	if err != nil {
		return err
	}
	defer up.Discard()
	kbIDs := formList(up.Fields["knowledge_base_ids"])
	d, err := s.addDocument(c, knowledge.NewDocument{
		Source: knowledge.Source{File: up.File, Filename: up.Filename, Size: up.Size, SHA256: up.SHA256},
		Name:   up.Field("name"), KnowledgeBaseIDs: kbIDs,
	})
	if err != nil {
		return err
	}
	v := DocumentView(d)
	v.KnowledgeBaseIDs = kbIDs
	return c.Status(fiber.StatusAccepted).JSON(v)
}

// AddURLDocument fetches a web page (or a file on the web) and queues it like an upload.
func (s *Handlers) AddURLDocument(c *fiber.Ctx) error {
	var in struct {
		URL              string   `json:"url"`
		Name             string   `json:"name"`
		KnowledgeBaseIDs []string `json:"knowledge_base_ids"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	d, err := s.addDocument(c, knowledge.NewDocument{Source: knowledge.Source{URL: in.URL}, Name: in.Name, KnowledgeBaseIDs: in.KnowledgeBaseIDs})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(DocumentView(d))
}

// addDocument adds a document as the caller, behind the plan's document gate.
func (s *Handlers) addDocument(c *fiber.Ctx, in knowledge.NewDocument) (*store.Document, error) {
	ws := request.Workspace(c)
	var lim store.DocumentLimits
	in.Gate = func(ctx context.Context, size int64) (store.DocumentLimits, error) {
		var err error
		lim, err = s.Plan.Documents(ctx, ws.ID, size)
		return lim, err
	}
	d, err := s.Knowledge.Add(c.UserContext(), ws.ID, request.Viewer(c), in)
	if err != nil {
		return nil, s.Plan.DocumentLimitError(lim, err)
	}
	return d, nil
}

func (s *Handlers) ListDocuments(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	f := store.DocumentFilter{Status: c.Query("status"), KnowledgeBaseID: c.Query("knowledge_base_id"), Query: strings.TrimSpace(c.Query("q")), Limit: limit + 1}
	switch f.Status {
	case "", store.DocPending, store.DocProcessing, store.DocReady, store.DocFailed:
	default:
		return request.Invalid("status", "status must be pending, processing, ready or failed")
	}
	if cursor != "" {
		at, id := splitCursor(cursor)
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil || id == "" {
			return request.Invalid("cursor", "cursor is not one this server issued")
		}
		f.After = &store.DocumentCursor{CreatedAt: t, ID: id}
	}
	docs, err := s.Store.ListDocuments(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), f)
	if err != nil {
		return err
	}
	return c.JSON(page(docs, limit, func(d *store.Document) string { return d.CreatedAt.Format(time.RFC3339Nano) + "\x00" + d.ID }, DocumentView))
}

func (s *Handlers) GetDocument(c *fiber.Ctx) error {
	d := request.Document(c)
	v := DocumentView(d)
	ids, err := s.Store.DocumentKBIDs(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), d.ID)
	if err != nil {
		return err
	}
	v.KnowledgeBaseIDs = ids
	return c.JSON(v)
}

func (s *Handlers) PatchDocument(c *fiber.Ctx) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	d := request.Document(c)
	if in.Name != nil {
		name, err := s.Knowledge.Rename(c.UserContext(), d.WorkspaceID, d.ID, *in.Name)
		if err != nil {
			return err
		}
		d.Name = name
	}
	return c.JSON(DocumentView(d))
}

func (s *Handlers) DeleteDocument(c *fiber.Ctx) error {
	d := request.Document(c)
	// The service stops the document's running task first, then deletes it with
	// its chunks, FTS rows and vectors in one transaction, then its file.
	if err := s.Knowledge.DeleteDocument(c.UserContext(), d.WorkspaceID, d.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) ReprocessDocument(c *fiber.Ctx) error {
	d := request.Document(c)
	d, err := s.Knowledge.Reprocess(c.UserContext(), d.WorkspaceID, d.ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(DocumentView(d))
}

func (s *Handlers) DocumentFile(c *fiber.Ctx) error {
	d := request.Document(c)
	path, err := s.Knowledge.Original(d)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename*=UTF-8''%s`, url.PathEscape(d.OriginalFilename)))
	c.Set(fiber.HeaderContentType, d.MimeType)
	c.Set("X-Content-Type-Options", "nosniff")
	return c.SendFile(path)
}

type ChunkJSON struct {
	ID             string `json:"id"`
	ChunkIndex     int    `json:"chunk_index"`
	Content        string `json:"content"`
	PageNumber     *int   `json:"page_number"`
	Location       string `json:"location"` // "p. 2", "slide 3"; "" without pages
	SectionHeading string `json:"section_heading"`
	TokenCount     int    `json:"token_count"`
	EmbeddingModel string `json:"embedding_model"`
}

// ChunkView shows the chunks of d; d's kind says whether a page is a page or a slide.
func ChunkView(d *store.Document) func(ch *store.Chunk) ChunkJSON {
	kind := ingest.KindOfMIME(d.MimeType)
	return func(ch *store.Chunk) ChunkJSON {
		v := ChunkJSON{ID: ch.ID, ChunkIndex: ch.Index, Content: ch.Content, SectionHeading: ch.Heading, TokenCount: ch.Tokens,
			EmbeddingModel: ch.EmbeddingModel, Location: kind.Location(ch.Page)}
		if ch.Page > 0 {
			v.PageNumber = &ch.Page
		}
		return v
	}
}

func (s *Handlers) DocumentChunks(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	after := -1
	if cursor != "" {
		if _, err := fmt.Sscanf(cursor, "%d", &after); err != nil {
			return request.Invalid("cursor", "cursor is not one this server issued")
		}
	}
	d := request.Document(c)
	chunks, err := s.Store.ListChunks(c.UserContext(), d.WorkspaceID, d.ID, after, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(chunks, limit, func(ch *store.Chunk) string { return fmt.Sprint(ch.Index) }, ChunkView(d)))
}

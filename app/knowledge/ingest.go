package knowledge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"quire/app/ingest"
	"quire/app/jobs"
	"quire/app/llm"
	"quire/store"
)

// Chunk sizes: ~512 tokens with overlap (small enough to cite a passage, big
// enough to carry its context), never more than the embedding
// model's context, so the server does not silently truncate a chunk's tail.
const (
	targetTokens = 512
	maxTokens    = 1024
)

// runIngest processes an uploaded document: parse, chunk, then per batch
// embed and write chunks + FTS + vectors in one transaction. It is safe to
// run again after a crash: batches already stored with the same text (and,
// when embedding, the same model) are skipped, others are upserted, and
// chunks beyond the new end are trimmed.
func (s *Service) runIngest(ctx context.Context, t *jobs.Task) error {
	doc, err := s.st.GetDocument(ctx, t.WorkspaceID, t.DocumentID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted since it was queued
	}
	if err != nil {
		return err
	}
	if err := s.update(ctx, doc, store.DocumentUpdate{Status: ptr(store.DocProcessing), Progress: ptr(0), ProcessingError: ptr("")}); err != nil {
		return err
	}
	model, info, noVectors := s.embeddingTarget(ctx)
	chunks, err := s.parse(ctx, doc, info)
	if err != nil {
		return err
	}
	if err := s.progress(ctx, t, doc, 10); err != nil {
		return err
	}

	have, err := s.storedChunks(ctx, doc)
	if err != nil {
		return err
	}
	usage := store.Usage{WorkspaceID: doc.WorkspaceID, UserID: doc.UploadedBy, DocumentID: doc.ID}
	for start := 0; start < len(chunks); start += s.cfg.BatchSize {
		batch := chunks[start:min(start+s.cfg.BatchSize, len(chunks))]
		if !unchanged(batch, have, model, noVectors == nil) {
			in := make([]store.ChunkInput, len(batch))
			texts := make([]string, len(batch))
			for i, c := range batch {
				in[i] = store.ChunkInput{Index: c.Index, Content: c.Content, Page: c.Page, Heading: c.Heading, Tokens: c.Tokens}
				texts[i] = c.Content
			}
			if noVectors == nil {
				vecs, err := s.embed(ctx, model, texts, usage)
				switch {
				case errors.Is(err, llm.ErrUnavailable):
					noVectors = err // keep going: keyword search needs the chunks anyway
				case err != nil:
					return err
				default:
					for i := range in {
						in[i].Vector = vecs[i]
					}
				}
			}
			if err := s.st.WriteChunks(ctx, doc.WorkspaceID, doc.ID, model, in); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return nil // deleted while processing
				}
				return err
			}
		}
		if err := s.progress(ctx, t, doc, 10+90*(start+len(batch))/len(chunks)); err != nil {
			return err
		}
	}
	if err := s.st.TrimChunks(ctx, doc.WorkspaceID, doc.ID, len(chunks)); err != nil {
		return err
	}
	return s.finish(ctx, doc, len(chunks), model, noVectors)
}

// finish marks a processed document ready: with its model when every chunk
// has a vector of it, else keyword-only with an embed task queued.
func (s *Service) finish(ctx context.Context, doc *store.Document, n int, model string, noVectors error) error {
	if noVectors == nil {
		missing, err := s.st.ChunksWithoutVectors(ctx, doc.WorkspaceID, doc.ID, model, 1)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			return s.update(ctx, doc, store.DocumentUpdate{Status: ptr(store.DocReady), Progress: ptr(100), ChunkCount: &n,
				EmbeddingModel: &model, ProcessingError: ptr("")})
		}
		noVectors = errors.New("some passages have no vectors yet")
	}
	if err := s.update(ctx, doc, store.DocumentUpdate{Status: ptr(store.DocReady), Progress: ptr(100), ChunkCount: &n,
		EmbeddingModel: ptr(""), ProcessingError: ptr(vectorsPending(noVectors))}); err != nil {
		return err
	}
	_, err := s.cfg.Runner.Enqueue(ctx, store.NewTask{WorkspaceID: doc.WorkspaceID, DocumentID: doc.ID, Kind: store.TaskEmbed, Unique: true})
	return err
}

// vectorsPending is the document message while it is searchable by keyword only.
func vectorsPending(why error) string {
	return "Keyword search works; vector search is waiting: " + why.Error() + ". The vectors are added automatically once that is fixed."
}

// embeddingTarget returns the embedding model, what the server says about
// it, and, when no vectors can be made now, why (nil when they can).
func (s *Service) embeddingTarget(ctx context.Context) (string, *llm.ModelInfo, error) {
	model := s.cfg.EmbeddingModel()
	if model == "" {
		return "", nil, errors.New("no embedding model is configured (an admin can choose one in the settings)")
	}
	info, err := s.cfg.LLM.Show(ctx, model)
	if err != nil {
		return model, nil, err
	}
	if !info.Can("embedding") || info.EmbeddingLength == 0 {
		return model, info, fmt.Errorf("the model %q cannot make embeddings (an admin can choose an embedding model in the settings)", model)
	}
	return model, info, nil
}

// parse reads the stored file and chunks it. Problems with the file itself
// mark the document failed with the parser's message and are permanent.
func (s *Service) parse(ctx context.Context, doc *store.Document, info *llm.ModelInfo) ([]ingest.Chunk, error) {
	fail := func(msg string, cause error) error {
		msg = sentence(msg)
		if err := s.update(ctx, doc, store.DocumentUpdate{Status: ptr(store.DocFailed), ProcessingError: &msg}); err != nil {
			return err
		}
		return jobs.Permanent(failure{msg, cause})
	}
	f, err := os.Open(s.filePath(doc.StoragePath))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fail("the stored file is missing; upload the document again", err)
	}
	if err != nil {
		return nil, err // a disk problem: worth a retry
	}
	defer f.Close()
	// Never in this process: a hostile file can kill a Go process in ways
	// recover cannot catch (see ingest.Worker).
	_, parsed, err := s.worker.Parse(ctx, f, doc.OriginalFilename, "", s.cfg.Limits)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		var ie *ingest.Error
		if errors.As(err, &ie) {
			if ie.Cause != nil {
				s.log.Warn("document could not be parsed", "document", doc.ID, "workspace", doc.WorkspaceID, "err", ie.Cause)
			}
			return nil, fail(ie.Error(), err)
		}
		return nil, err // the worker could not start or was killed from outside: retried
	}
	opt := ingest.ChunkOptions{TargetTokens: targetTokens, MaxTokens: maxTokens}
	if info != nil && info.ContextLength > 0 {
		opt.MaxTokens = min(maxTokens, info.ContextLength)
		opt.TargetTokens = min(targetTokens, opt.MaxTokens)
	}
	chunks := ingest.Chunks(parsed, opt)
	if len(chunks) == 0 {
		return nil, fail("no text was found in the document; if it is a scan, run it through OCR first", ingest.ErrNoText)
	}
	return chunks, nil
}

// failure is a document's failure: the sentence shown to people (and in the
// task's last error, once), wrapping the parser's cause for errors.Is.
type failure struct {
	msg   string
	cause error
}

func (f failure) Error() string { return f.msg }
func (f failure) Unwrap() error { return f.cause }

// storedChunks loads what an earlier, interrupted run already wrote.
func (s *Service) storedChunks(ctx context.Context, doc *store.Document) (map[int]store.Chunk, error) {
	have := map[int]store.Chunk{}
	for after := -1; ; {
		page, err := s.st.ListChunks(ctx, doc.WorkspaceID, doc.ID, after, 500)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			have[c.Index] = c
		}
		if len(page) < 500 {
			return have, nil
		}
		after = page[len(page)-1].Index
	}
}

// unchanged reports a batch an earlier run stored completely, with the same
// text and, when vectors are wanted, vectors of model.
func unchanged(batch []ingest.Chunk, have map[int]store.Chunk, model string, vectors bool) bool {
	for _, c := range batch {
		h, ok := have[c.Index]
		if !ok || h.Content != c.Content || h.Heading != c.Heading || h.Page != c.Page || (vectors && h.EmbeddingModel != model) {
			return false
		}
	}
	return true
}

// ingestGaveUp marks the document failed when its ingest task failed for good.
func (s *Service) ingestGaveUp(ctx context.Context, t store.Task, err error) {
	doc, gerr := s.st.GetDocument(ctx, t.WorkspaceID, t.DocumentID)
	if gerr != nil || doc.Status == store.DocFailed {
		return // gone, or already failed with a better message
	}
	msg := sentence(fmt.Sprintf("processing failed after %d attempts: %v; try Reprocess, and if it fails again tell the administrator", t.Attempts, err))
	if err := s.update(ctx, doc, store.DocumentUpdate{Status: ptr(store.DocFailed), ProcessingError: &msg}); err != nil {
		s.log.Error("marking a document failed", "document", doc.ID, "err", err)
	}
}

func (s *Service) progress(ctx context.Context, t *jobs.Task, doc *store.Document, pct int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := t.Progress(ctx, pct); err != nil {
		return err
	}
	return s.update(ctx, doc, store.DocumentUpdate{Progress: &pct})
}

func (s *Service) update(ctx context.Context, doc *store.Document, u store.DocumentUpdate) error {
	err := s.st.UpdateDocument(context.WithoutCancel(ctx), doc.WorkspaceID, doc.ID, u)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile; the task's remaining writes are no-ops too
	}
	return err
}

// sentence capitalises a message fragment and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func ptr[T any](v T) *T { return &v }

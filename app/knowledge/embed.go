package knowledge

import (
	"context"
	"errors"
	"fmt"

	"quire/app/jobs"
	"quire/app/llm"
	"quire/store"
)

// runEmbed gives every chunk of a ready document a vector of the current
// embedding model: the vectors that could not be made during ingest (embed
// tasks) or those of a previous model (reindex tasks). It works through the
// chunks still lacking such a vector, so an interrupted run resumes where it
// stopped. While the model server is unavailable the task is deferred, not
// failed.
func (s *Service) runEmbed(ctx context.Context, t *jobs.Task) error {
	doc, err := s.st.GetDocument(ctx, t.WorkspaceID, t.DocumentID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if doc.Status != store.DocReady {
		return nil // being (re)ingested: that run makes the vectors
	}
	model, _, why := s.embeddingTarget(ctx)
	switch {
	case model == "":
		return nil // keyword search only, by the admin's choice
	case errors.Is(why, llm.ErrUnavailable):
		return jobs.Defer(why)
	case why != nil:
		return jobs.Permanent(why)
	}
	usage := store.Usage{WorkspaceID: doc.WorkspaceID, UserID: doc.UploadedBy, DocumentID: doc.ID}
	done := 0
	for {
		chunks, err := s.st.ChunksWithoutVectors(ctx, doc.WorkspaceID, doc.ID, model, s.cfg.BatchSize)
		if err != nil || len(chunks) == 0 {
			if err != nil {
				return err
			}
			break
		}
		texts := make([]string, len(chunks))
		for i, c := range chunks {
			texts[i] = c.Content
		}
		vecs, err := s.embed(ctx, model, texts, usage)
		if errors.Is(err, llm.ErrUnavailable) {
			return jobs.Defer(err) // the vectors made so far are kept
		}
		if err != nil {
			return err
		}
		cv := make([]store.ChunkVector, len(chunks))
		for i, c := range chunks {
			cv[i] = store.ChunkVector{Index: c.Index, Vector: vecs[i]}
		}
		if err := s.st.SetChunkVectors(ctx, doc.WorkspaceID, doc.ID, model, cv); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		done += len(chunks)
		if err := t.Progress(ctx, 100*done/max(doc.ChunkCount, done)); err != nil {
			return err
		}
	}
	return s.update(ctx, doc, store.DocumentUpdate{EmbeddingModel: &model, ProcessingError: ptr("")})
}

// embedGaveUp leaves the document searchable by keyword and says why its
// vectors could not be made.
func (s *Service) embedGaveUp(ctx context.Context, t store.Task, err error) {
	doc, gerr := s.st.GetDocument(ctx, t.WorkspaceID, t.DocumentID)
	if gerr != nil || doc.Status != store.DocReady {
		return
	}
	msg := vectorsPending(fmt.Errorf("making its vectors failed (%v)", err))
	if err := s.update(ctx, doc, store.DocumentUpdate{ProcessingError: &msg}); err != nil {
		s.log.Error("recording a failed embedding", "document", doc.ID, "err", err)
	}
}

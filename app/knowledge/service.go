// Package knowledge is the documents use case: it adds documents from
// uploads and web addresses (Add: the SSRF-guarded fetcher, name rules,
// content sniffing, the insert under the plan limits it is given), owns their
// originals under files/<workspace>/<document>, processes them through the
// job runner (parse → chunk → embed → index), keeps vectors in step with the
// instance's embedding model, manages knowledge bases and searches. It takes
// plain values (ids, a store.Viewer, inputs) and returns fault errors.
//
// Without the model server, documents still become searchable by keyword:
// ingest stores chunks and their FTS rows, marks the document ready with an
// empty embedding_model and a processing_error that says vectors are pending,
// and queues an embed task. That task waits (jobs.Defer, without using up its
// attempts) until the server answers, then adds the vectors and clears the
// message. Hybrid search meanwhile falls back to keyword search; vector-only
// search is a fault.Unavailable that wraps llm.ErrUnavailable.
package knowledge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"quire/app/audit"
	"quire/app/fault"
	"quire/app/ingest"
	"quire/app/jobs"
	"quire/app/llm"
	"quire/app/rag"
	"quire/store"
)

// Config wires a Service.
type Config struct {
	Store  *store.Store
	LLM    *llm.Client
	Runner *jobs.Runner
	// FilesDir is where uploads are stored; documents.storage_path is relative to it.
	FilesDir string
	// EmbeddingModel returns the instance's current embedding model (it can
	// change at run time; call Reindex when it does). "" means none: keyword
	// search only.
	EmbeddingModel func() string
	// Limits bound parsing (zero fields: ingest's defaults).
	Limits ingest.Limits
	// Worker parses stored files out of process; nil runs this executable,
	// whose main (or TestMain) must call ingest.RunWorkerIfRequested first.
	Worker *ingest.Worker
	// BatchSize is how many chunks are embedded and written per transaction
	// (default 16): big enough to amortise a call, small enough that a crash
	// or cancel loses little work and progress moves visibly.
	BatchSize int
	// Fetch is the policy for adding documents by URL; nil fetches public
	// addresses only, up to 50 MB.
	Fetch func() FetchPolicy
	// Cost prices a model call in micro-units; nil means free.
	Cost   func(model string, inputTokens, outputTokens int) int64
	Logger *slog.Logger
	// Audit records which documents' passages each search handed to whom
	// (passages.read); nil records nothing.
	Audit *audit.Log
}

// Service is the knowledge layer.
type Service struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	rag    rag.Searcher
	worker *ingest.Worker
}

// New builds the service and registers its task handlers on the runner; call
// it before the runner's Start.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.LLM == nil || cfg.Runner == nil || cfg.FilesDir == "" || cfg.EmbeddingModel == nil {
		return nil, errors.New("knowledge: Store, LLM, Runner, FilesDir and EmbeddingModel are required")
	}
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 16)
	if cfg.Fetch == nil {
		cfg.Fetch = func() FetchPolicy { return FetchPolicy{MaxMB: 50, UserAgent: "Quire (document fetcher)"} }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, st: cfg.Store, log: cfg.Logger.With("component", "knowledge"), worker: cfg.Worker}
	if s.worker == nil {
		s.worker = &ingest.Worker{}
	}
	s.rag = rag.Searcher{Store: cfg.Store}
	cfg.Runner.Register(store.TaskIngest, jobs.Kind{Run: s.runIngest, GaveUp: s.ingestGaveUp})
	embed := jobs.Kind{Run: s.runEmbed, GaveUp: s.embedGaveUp}
	cfg.Runner.Register(store.TaskEmbed, embed)
	cfg.Runner.Register(store.TaskReindex, embed)
	return s, nil
}

// Start does the housekeeping of a process start: it sweeps vectors orphaned
// by cascades (deleted workspaces or users) and queues re-embedding for
// documents whose vectors are not from the current model (the model may
// have changed while the server was down). Call it after the runner's Start.
func (s *Service) Start(ctx context.Context) error {
	if n, err := s.st.PurgeOrphanVectors(ctx); err != nil {
		return fmt.Errorf("sweep orphaned vectors: %w", err)
	} else if n > 0 {
		s.log.Info("removed orphaned vectors", "count", n)
	}
	_, err := s.Reindex(ctx)
	return err
}

// Reindex queues a re-embedding task for every ready document with chunks
// whose vectors are missing or from another model than the current one, and
// returns how many it queued. Call it when the admin changes the embedding
// model. Retrieval filters on the current model meanwhile, so results never
// mix models: documents not yet re-embedded are found by keyword only.
func (s *Service) Reindex(ctx context.Context) (int, error) {
	model := s.cfg.EmbeddingModel()
	if model == "" {
		return 0, nil
	}
	refs, err := s.st.DocumentsForEmbedding(ctx, model)
	if err != nil {
		return 0, err
	}
	for _, r := range refs {
		if _, err := s.st.EnqueueTask(ctx, store.NewTask{WorkspaceID: r.WorkspaceID, DocumentID: r.ID, Kind: store.TaskReindex, Unique: true}); err != nil {
			return 0, err
		}
	}
	s.cfg.Runner.Wake()
	return len(refs), nil
}

// ResumeEmbedding makes the embed and re-index tasks that wait for the model
// server due now; call it when the server is seen answering again (or its
// URL was changed), so vectors do not wait for the next scheduled retry.
func (s *Service) ResumeEmbedding(ctx context.Context) error {
	for _, kind := range []string{store.TaskEmbed, store.TaskReindex} {
		if _, err := s.st.MakeTasksDue(ctx, kind); err != nil {
			return err
		}
	}
	s.cfg.Runner.Wake()
	return nil
}

// Wake tells the runner new work was queued (an upload).
func (s *Service) Wake() { s.cfg.Runner.Wake() }

// StopDocument cancels a document's tasks and waits for a running one to
// return, so the document can then be deleted or reset safely.
func (s *Service) StopDocument(ctx context.Context, wsID, docID string) error {
	return s.cfg.Runner.CancelDocument(ctx, wsID, docID)
}

// CancelDocument is StopDocument for callers that only have the document id
// (document ids are UUIDs, unique across workspaces). It stops the tasks this
// process runs for the document; queued ones are removed by DeleteDocument
// and ResetDocument themselves.
func (s *Service) CancelDocument(docID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, t := range s.cfg.Runner.Running() {
		if t.DocumentID == docID {
			if err := s.cfg.Runner.CancelDocument(ctx, t.WorkspaceID, docID); err != nil {
				s.log.Warn("stopping a document's task", "document", docID, "err", err)
			}
			return
		}
	}
}

// DeleteDocument stops the document's tasks, deletes it with its chunks,
// FTS rows, vectors and links, and then its file.
func (s *Service) DeleteDocument(ctx context.Context, wsID, docID string) error {
	if err := s.StopDocument(ctx, wsID, docID); err != nil {
		return err
	}
	path, err := s.st.DeleteDocument(ctx, wsID, docID)
	if err != nil {
		return err
	}
	if err := os.Remove(s.filePath(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("removing a deleted document's file", "path", path, "err", err)
	}
	return nil
}

// Rename renames a document and returns the name as kept.
func (s *Service) Rename(ctx context.Context, wsID, docID, name string) (string, error) {
	name, err := checkName(name)
	if err != nil {
		return "", err
	}
	return name, s.st.RenameDocument(ctx, wsID, docID, name)
}

// Reprocess drops the document's chunks and vectors and processes its file
// again; it returns the document as it is now (pending).
func (s *Service) Reprocess(ctx context.Context, wsID, docID string) (*store.Document, error) {
	if err := s.StopDocument(ctx, wsID, docID); err != nil {
		return nil, err
	}
	_, err := s.st.ResetDocument(ctx, wsID, docID)
	if errors.Is(err, store.ErrConflict) {
		return nil, &fault.Error{Kind: fault.Conflict, Message: "the document is still being processed; try again in a moment", Err: err}
	}
	if err != nil {
		return nil, err
	}
	s.cfg.Runner.Wake()
	return s.st.GetDocument(ctx, wsID, docID)
}

// embed embeds texts and records the call's usage (u names who and what for).
func (s *Service) embed(ctx context.Context, model string, texts []string, u store.Usage) ([][]float32, error) {
	began := time.Now()
	vecs, tokens, err := s.cfg.LLM.Embed(ctx, model, texts)
	if err != nil {
		return nil, err
	}
	u.Kind, u.Model, u.InputTokens, u.Duration = store.UsageEmbedding, model, tokens, time.Since(began)
	if s.cfg.Cost != nil {
		u.CostMicros = s.cfg.Cost(model, tokens, 0)
	}
	// Accounting never fails the work it accounts for.
	if _, err := s.st.RecordUsage(context.WithoutCancel(ctx), u); err != nil {
		s.log.Error("recording embedding usage", "err", err)
	}
	return vecs, nil
}

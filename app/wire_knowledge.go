package app

import (
	"context"

	"quire/app/ingest"
	"quire/app/jobs"
	"quire/app/knowledge"
	"quire/app/llm"
)

// initKnowledge builds the document pipeline (job runner + knowledge service)
// and connects the HTTP layer's hooks to it. The runner starts in startKnowledge.
func (s *Server) initKnowledge() error {
	client, err := llm.New(s.currentSettings().OllamaURL, llm.Options{})
	if err != nil {
		return err
	}
	s.llm = client
	s.runner = jobs.New(s.store, jobs.Config{Workers: s.cfg.Workers, Logger: s.log})
	svc, err := knowledge.New(knowledge.Config{
		Store: s.store, LLM: client, Runner: s.runner, FilesDir: s.cfg.FilesDir(),
		EmbeddingModel: func() string { return s.currentSettings().DefaultEmbeddingModel },
		Limits:         ingest.Limits{Timeout: s.cfg.ParseTimeout.Duration, MaxMemory: int64(s.cfg.ParseMemoryMB) << 20},
		Fetch: func() knowledge.FetchPolicy {
			st := s.currentSettings()
			return knowledge.FetchPolicy{MaxMB: st.MaxUploadMB, AllowPrivate: st.AllowPrivateURLs, UserAgent: "Quire/" + Version + " (document fetcher)"}
		},
		Cost: s.plan.Cost, Logger: s.log, Audit: s.audit,
	})
	if err != nil {
		return err
	}
	s.knowledge = svc
	return nil
}

// startKnowledge starts processing: queued and interrupted tasks resume.
func (s *Server) startKnowledge(ctx context.Context) error {
	if err := s.runner.Start(ctx); err != nil {
		return err
	}
	return s.knowledge.Start(ctx)
}

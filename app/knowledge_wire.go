package app

import (
	"context"

	"quire/app/chat"
	"quire/app/ingest"
	"quire/app/jobs"
	"quire/app/knowledge"
	"quire/app/llm"
	"quire/store"
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
		Cost: s.costMicros, Logger: s.log,
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

// retrieveKnowledge finds a chat's sources: hybrid search over the attached
// knowledge bases, as the chat's owner sees them.
func (s *Server) retrieveKnowledge(ctx context.Context, ws *store.Workspace, u *store.User, kbIDs []string, query string) ([]chat.Source, error) {
	v := store.Viewer{UserID: u.ID, IsAdmin: store.RoleRank(ws.Role) >= store.RoleRank(store.RoleAdmin)}
	results, err := s.knowledge.Retrieve(ctx, ws.ID, v, kbIDs, query, 5)
	if err != nil {
		return nil, err
	}
	out := make([]chat.Source, len(results))
	for i, r := range results {
		out[i] = chat.Source{N: i + 1, ChunkID: r.ChunkID, DocumentID: r.DocumentID, DocumentName: r.DocumentName, Heading: r.Heading,
			Snippet: r.Snippet.Text, Content: r.Content}
		if r.Page > 0 {
			p := r.Page
			out[i].PageNumber = &p
		}
	}
	return out, nil
}

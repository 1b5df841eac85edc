package app

import (
	"context"
	"errors"
	"html/template"
	"strings"

	"quire/app/chat"
	"quire/app/ingest"
	"quire/app/jobs"
	"quire/app/knowledge"
	"quire/app/llm"
	"quire/app/rag"
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

func (s *Server) searchKnowledge(ctx context.Context, wsID string, v store.Viewer, query string, kbIDs []string, topK int, mode string) ([]searchHit, error) {
	m, err := rag.ParseMode(mode)
	if err != nil {
		return nil, err
	}
	resp, err := s.knowledge.Search(ctx, rag.Query{WorkspaceID: wsID, Viewer: v, Text: query, KnowledgeBaseIDs: kbIDs, TopK: topK, Mode: m})
	if errors.Is(err, llm.ErrUnavailable) {
		return nil, errors.Join(chat.ErrUnavailable, err)
	}
	if err != nil {
		return nil, err
	}
	hits := make([]searchHit, len(resp.Results))
	for i, r := range resp.Results {
		hits[i] = searchHit{ChunkID: r.ChunkID, DocumentID: r.DocumentID, DocumentName: r.DocumentName, KnowledgeBaseIDs: r.KnowledgeBaseIDs,
			Content: r.Content, Highlight: highlight(r.Snippet), SectionHeading: r.Heading, Score: r.Score}
		if r.Page > 0 {
			p := r.Page
			hits[i].PageNumber = &p
		}
	}
	return hits, nil
}

// highlight renders a snippet with its matched words in <mark>, escaping the rest.
func highlight(sn store.Snippet) template.HTML {
	var b strings.Builder
	at := 0
	for _, m := range sn.Marks {
		if m[0] < at || m[1] > len(sn.Text) || m[0] > m[1] {
			continue
		}
		b.WriteString(template.HTMLEscapeString(sn.Text[at:m[0]]))
		b.WriteString("<mark>" + template.HTMLEscapeString(sn.Text[m[0]:m[1]]) + "</mark>")
		at = m[1]
	}
	b.WriteString(template.HTMLEscapeString(sn.Text[at:]))
	return template.HTML(b.String())
}

// retrieveKnowledge finds a chat's sources: hybrid search over the attached
// knowledge bases, as the chat's owner sees them.
func (s *Server) retrieveKnowledge(ctx context.Context, ws *store.Workspace, u *store.User, kbIDs []string, query string) ([]chat.Source, error) {
	v := store.Viewer{UserID: u.ID, IsAdmin: store.RoleRank(ws.Role) >= store.RoleRank(store.RoleAdmin)}
	resp, err := s.knowledge.Search(ctx, rag.Query{WorkspaceID: ws.ID, Viewer: v, Text: query, KnowledgeBaseIDs: kbIDs, TopK: 5, Mode: rag.ModeHybrid})
	if err != nil {
		return nil, err
	}
	out := make([]chat.Source, len(resp.Results))
	for i, r := range resp.Results {
		out[i] = chat.Source{N: i + 1, ChunkID: r.ChunkID, DocumentID: r.DocumentID, DocumentName: r.DocumentName, Heading: r.Heading,
			Snippet: r.Snippet.Text, Content: r.Content}
		if r.Page > 0 {
			p := r.Page
			out[i].PageNumber = &p
		}
	}
	return out, nil
}

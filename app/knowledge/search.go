package knowledge

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"quire/app/audit"
	"quire/app/fault"
	"quire/app/llm"
	"quire/app/rag"
	"quire/store"
)

// SearchInput is a search as a person asks for it.
type SearchInput struct {
	Query            string
	KnowledgeBaseIDs []string // empty: every document the viewer can see
	TopK             int      // 0: 5
	Mode             string   // hybrid (""), vector or keyword
}

// Results is a search's answer. The hits are rag.Result, the one type a
// found passage has for search results and a chat's sources alike.
type Results struct {
	*rag.Response
	Asked rag.Mode // the mode asked for (hybrid when none was); Mode is the one that ran
}

// Search finds the passages that answer in, among the documents v can see.
// Vector search without the model server is a fault.Unavailable (hybrid
// search falls back to keywords instead and says so in Warning).
func (s *Service) Search(ctx context.Context, wsID string, v store.Viewer, in SearchInput) (*Results, error) {
	q, err := in.query()
	if err != nil {
		return nil, err
	}
	q.WorkspaceID, q.Viewer = wsID, v
	resp, err := s.search(ctx, q)
	if errors.Is(err, llm.ErrUnavailable) {
		return nil, &fault.Error{Kind: fault.Unavailable, Err: err,
			Message: "vector search needs the model server, which is unreachable: " + err.Error() + "; keyword search still works"}
	}
	if err != nil {
		return nil, err
	}
	return &Results{Response: resp, Asked: q.Mode}, nil
}

// Retrieve finds a chat's sources for a question: the topK best passages by
// hybrid search over kbIDs as v sees them. Unlike Search it takes a
// question of any length (it is the chat message).
func (s *Service) Retrieve(ctx context.Context, wsID string, v store.Viewer, kbIDs []string, question string, topK int) (*rag.Response, error) {
	return s.search(ctx, rag.Query{WorkspaceID: wsID, Viewer: v, Text: question, KnowledgeBaseIDs: kbIDs, TopK: topK, Mode: rag.ModeHybrid})
}

// query checks a person's search and fills in its defaults.
func (in SearchInput) query() (rag.Query, error) {
	q := rag.Query{Text: strings.TrimSpace(in.Query), KnowledgeBaseIDs: in.KnowledgeBaseIDs, TopK: in.TopK, Mode: rag.Mode(in.Mode)}
	if q.Text == "" {
		return q, fault.Field("query", "type something to search for")
	}
	if utf8.RuneCountInString(q.Text) > 1000 {
		return q, fault.Field("query", "the query must be at most 1000 characters")
	}
	if q.TopK == 0 {
		q.TopK = rag.DefaultTopK
	}
	if q.TopK < 1 || q.TopK > rag.MaxTopK {
		return q, fault.Field("top_k", "top_k must be from 1 to %d", rag.MaxTopK)
	}
	switch q.Mode {
	case "":
		q.Mode = rag.ModeHybrid
	case rag.ModeHybrid, rag.ModeVector, rag.ModeKeyword:
	default:
		return q, fault.Field("mode", "mode must be hybrid, vector or keyword")
	}
	return q, nil
}

// search runs q; embedding the query is recorded as the viewer's usage.
func (s *Service) search(ctx context.Context, q rag.Query) (*rag.Response, error) {
	r := s.rag
	r.Embed = func(ctx context.Context, text string) ([]float32, string, error) {
		model := s.cfg.EmbeddingModel()
		if model == "" {
			return nil, "", &llm.UnavailableError{Reason: "no embedding model is configured; an admin can choose one in the settings"}
		}
		vecs, err := s.embed(ctx, model, []string{text}, store.Usage{WorkspaceID: q.WorkspaceID, UserID: q.Viewer.UserID})
		if err != nil {
			return nil, "", err
		}
		return vecs[0], model, nil
	}
	resp, err := r.Search(ctx, q)
	if err == nil {
		s.recordReads(ctx, q, resp)
	}
	return resp, err
}

// maxChunkIDs bounds the passages listed per document in one passages.read row.
const maxChunkIDs = 50

// recordReads records, per document, the passages a search returned: Search
// and Retrieve are how every way of reading documents (the search page, a
// chat's sources, /v1 with knowledge bases, tools built on them) gets
// passages, so this one place answers "who received what from which document".
func (s *Service) recordReads(ctx context.Context, q rag.Query, resp *rag.Response) {
	s.RecordReads(ctx, q.WorkspaceID, q.Viewer, string(resp.Mode), resp.Results)
}

// RecordReads records, per document, the passages a viewer received (mode
// says how they were found: a search mode, or "read" for a document read page
// by page through the knowledge tools).
func (s *Service) RecordReads(ctx context.Context, wsID string, v store.Viewer, mode string, results []rag.Result) {
	if s.cfg.Audit == nil || len(results) == 0 {
		return
	}
	a := audit.ActorFrom(ctx)
	if a.UserID == 0 {
		a.UserID = v.UserID
	}
	var order []string
	byDoc := map[string][]string{}
	names := map[string]string{}
	for _, r := range results {
		if _, ok := byDoc[r.DocumentID]; !ok {
			order = append(order, r.DocumentID)
			names[r.DocumentID] = r.DocumentName
		}
		if len(byDoc[r.DocumentID]) < maxChunkIDs {
			byDoc[r.DocumentID] = append(byDoc[r.DocumentID], r.ChunkID)
		}
	}
	for _, doc := range order {
		d := map[string]any{"passages": len(byDoc[doc]), "chunk_ids": byDoc[doc], "mode": mode}
		if a.Route != "" {
			d["via"] = a.Route
		}
		s.cfg.Audit.Record(ctx, audit.Event{Action: "passages.read", Workspace: wsID, Actor: &a, Details: d,
			Target: audit.Target{Type: "document", ID: doc, Label: names[doc]}})
	}
}

package answer

import (
	"context"

	"quire/app/chat"
)

// retrieveTopK is how many passages a reply is offered; the prompt keeps as
// many as fit the model's context, best first.
const retrieveTopK = 5

// retrieve finds the question's sources in the attached knowledge bases, as
// the asker sees them. A failed retrieval answers without sources rather
// than not at all.
func (s *Service) retrieve(ctx context.Context, r *run) []chat.Source {
	if len(r.kbIDs) == 0 || s.cfg.Search == nil {
		return nil
	}
	results, err := s.cfg.Search.Retrieve(ctx, r.wsID, r.viewer, r.kbIDs, r.req.Question, retrieveTopK)
	if err != nil {
		s.log.Warn("retrieval failed; answering without sources", "chat_id", r.chatID, "err", err)
		return nil
	}
	out := make([]chat.Source, len(results))
	for i, res := range results {
		out[i] = chat.Source{N: i + 1, ChunkID: res.ChunkID, DocumentID: res.DocumentID, DocumentName: res.DocumentName, Heading: res.Heading,
			Snippet: res.Snippet.Text, Content: res.Content}
		if res.Page > 0 {
			p := res.Page
			out[i].PageNumber = &p
		}
	}
	return out
}

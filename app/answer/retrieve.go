package answer

import (
	"context"

	"quire/app/chat"
)

// retrieveTopK is how many passages a reply is offered; the prompt keeps as
// many as fit the model's context, best first.
const retrieveTopK = 5

// retrieve finds the question's sources in the attached knowledge bases, as
// the asker sees them. A chat whose retrieval failed is answered without
// sources rather than not at all (and logged); a completion fails (write).
// A search that ran with less than it should (hybrid without the model
// server falls back to keywords) gives its warning.
func (s *Service) retrieve(ctx context.Context, r *run) ([]chat.Source, string, error) {
	if len(r.kbIDs) == 0 || s.cfg.Search == nil {
		return nil, "", nil
	}
	resp, err := s.cfg.Search.Retrieve(ctx, r.wsID, r.viewer, r.kbIDs, r.req.Question, retrieveTopK)
	if err != nil {
		if ctx.Err() == nil { // a stop is no failure
			s.log.Warn("retrieval failed", "chat_id", r.chatID, "err", err)
		}
		return nil, "", err
	}
	out := make([]chat.Source, len(resp.Results))
	for i, res := range resp.Results {
		out[i] = chat.Source{N: i + 1, ChunkID: res.ChunkID, DocumentID: res.DocumentID, DocumentName: res.DocumentName, Heading: res.Heading,
			Location: res.Location, Snippet: res.Snippet.Text, Content: res.Content}
		if res.Page > 0 {
			p := res.Page
			out[i].PageNumber = &p
		}
	}
	return out, resp.Warning, nil
}

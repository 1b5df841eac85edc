package answer

import (
	"context"
	"encoding/json"
	"errors"

	"quire/app/chat"
	"quire/app/fault"
	"quire/store"
)

// Passage is what a citation [n] of a reply points at, as a reader sees it.
type Passage struct {
	chat.Source
	// Text is the cited chunk whole when the reader can see its document,
	// else the snippet stored with the reply (what the transcript shows anyway).
	Text string `json:"passage"`
	// CanOpen says the reader can see the document (and so open it).
	CanOpen bool `json:"can_open"`
}

// Passage finds citation n of reply msgID of the chat for viewer v. Only a
// source the reply cites is shown: the other retrieved passages were not
// what the answer drew on.
func (s *Service) Passage(ctx context.Context, wsID, chatID, msgID string, v store.Viewer, n int) (*Passage, error) {
	m, err := s.st.GetMessage(ctx, wsID, chatID, msgID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "message not found")
	}
	if err != nil {
		return nil, err
	}
	var sources []chat.Source
	_ = json.Unmarshal(m.Citations, &sources)
	for _, src := range sources {
		if src.N != n || !src.Cited {
			continue
		}
		p := &Passage{Source: src, Text: src.Snippet}
		if _, err := s.st.GetVisibleDocument(ctx, wsID, v, src.DocumentID); err == nil {
			p.CanOpen = true
			if ck, err := s.st.GetChunk(ctx, wsID, src.ChunkID); err == nil && ck.DocumentID == src.DocumentID {
				p.Text = ck.Content
			}
		}
		return p, nil
	}
	return nil, fault.New(fault.NotFound, "this reply cites no source [%d]", n)
}

package ui

import (
	"context"

	"quire/store"
)

// documentBases maps each listed document to the knowledge bases the viewer
// sees it in, for the list's column (the bulk actions change it in place).
func (s *Pages) documentBases(ctx context.Context, wsID string, v store.Viewer, docs []store.Document, kbs map[string]store.KnowledgeBase) (map[string][]store.KnowledgeBase, error) {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	links, err := s.Store.DocumentsKBIDs(ctx, wsID, v, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]store.KnowledgeBase, len(links))
	for doc, kbIDs := range links {
		for _, id := range kbIDs {
			if kb, ok := kbs[id]; ok {
				out[doc] = append(out[doc], kb)
			}
		}
	}
	return out, nil
}

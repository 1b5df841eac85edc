package knowledge

import (
	"context"
	"errors"
	"unicode/utf8"

	"quire/app/fault"
	"quire/store"
)

// Bulk actions on documents: what the documents list does to a selection.
const (
	BulkAddToBase      = "add_to_knowledge_base"
	BulkRemoveFromBase = "remove_from_knowledge_base"
	BulkDelete         = "delete"
	BulkReprocess      = "reprocess"
)

// MaxBulk is the most documents one bulk request may name: the list shows
// 200 at a time, and each deletion or reprocessing stops a task first.
const MaxBulk = 200

// maxIDLength bounds each id (a UUID is 36 characters) so that the answer,
// which names every id sent, stays small.
const maxIDLength = 64

// Outcomes of one document in a bulk action.
const (
	OutcomeAdded     = "added"
	OutcomeAlreadyIn = "already_in"
	OutcomeRemoved   = "removed"
	OutcomeNotIn     = "not_in"
	OutcomeDeleted   = "deleted"
	OutcomeQueued    = "queued"
	OutcomeBusy      = "busy"      // being processed; try again
	OutcomeForbidden = "forbidden" // visible, but not the caller's to change
	OutcomeNotFound  = "not_found" // absent, another workspace's, or not visible: one answer for all
)

// BulkInput is a bulk action on documents; KnowledgeBaseID is for the two
// knowledge-base actions.
type BulkInput struct {
	Action          string
	DocumentIDs     []string
	KnowledgeBaseID string
}

// BulkItem is what happened to one document. Name is empty for not_found.
type BulkItem struct {
	ID      string
	Name    string
	Outcome string
}

// BulkResult lists every document once, in the order sent, with the count per outcome.
type BulkResult struct {
	Action string
	Items  []BulkItem
	Counts map[string]int
}

// Bulk applies an action to many documents, each authorised as its single
// endpoint would be: removing from a knowledge base needs only to see the
// document; adding it, deleting and reprocessing need to manage it. The
// knowledge base itself must be one v sees (404) and manages (403). A
// document v cannot see is not_found, whatever the reason.
func (s *Service) Bulk(ctx context.Context, wsID string, v store.Viewer, in BulkInput) (*BulkResult, error) {
	switch in.Action {
	case BulkAddToBase, BulkRemoveFromBase, BulkDelete, BulkReprocess:
	default:
		return nil, fault.Field("action", "action must be %s, %s, %s or %s", BulkAddToBase, BulkRemoveFromBase, BulkDelete, BulkReprocess)
	}
	ids := make([]string, 0, len(in.DocumentIDs))
	seen := map[string]bool{}
	for _, id := range in.DocumentIDs {
		if utf8.RuneCountInString(id) > maxIDLength {
			return nil, fault.Field("document_ids", "a document id is at most %d characters", maxIDLength)
		}
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || len(ids) > MaxBulk {
		return nil, fault.Field("document_ids", "send 1 to %d document ids", MaxBulk)
	}
	var kb *store.KnowledgeBase
	if in.Action == BulkAddToBase || in.Action == BulkRemoveFromBase {
		var err error
		kb, err = s.st.GetKnowledgeBase(ctx, wsID, v, in.KnowledgeBaseID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault.New(fault.NotFound, "knowledge base not found")
		}
		if err != nil {
			return nil, err
		}
		if !MayManageBase(v, kb) {
			return nil, fault.New(fault.Forbidden, "only the creator of %q or a workspace admin can change its documents", kb.Name)
		}
	}
	docs, err := s.st.VisibleDocuments(ctx, wsID, v, ids)
	if err != nil {
		return nil, err
	}
	var linked map[string]bool
	if kb != nil {
		if linked, err = s.st.LinkedDocuments(ctx, wsID, kb.ID, ids); err != nil {
			return nil, err
		}
	}
	res := &BulkResult{Action: in.Action, Counts: map[string]int{}}
	var toLink, toUnlink []string
	for _, id := range ids {
		d := docs[id]
		item := BulkItem{ID: id}
		switch {
		case d == nil:
			item.Outcome = OutcomeNotFound
		case in.Action == BulkRemoveFromBase:
			item.Outcome = OutcomeNotIn
			if linked[id] {
				item.Outcome, toUnlink = OutcomeRemoved, append(toUnlink, id)
			}
		case !MayManage(v, d):
			item.Outcome = OutcomeForbidden
		case in.Action == BulkAddToBase:
			item.Outcome = OutcomeAlreadyIn
			if !linked[id] {
				item.Outcome, toLink = OutcomeAdded, append(toLink, id)
			}
		case in.Action == BulkDelete:
			item.Outcome, err = s.bulkDelete(ctx, wsID, id)
		case in.Action == BulkReprocess:
			item.Outcome, err = s.bulkReprocess(ctx, wsID, id)
		}
		if err != nil {
			return nil, err
		}
		if d != nil && item.Outcome != OutcomeNotFound {
			item.Name = d.Name
		}
		res.Items = append(res.Items, item)
		res.Counts[item.Outcome]++
	}
	if len(toLink) > 0 {
		if err := s.st.AddKBDocuments(ctx, wsID, kb.ID, toLink); err != nil {
			return nil, err
		}
	}
	if len(toUnlink) > 0 {
		if err := s.st.RemoveKBDocuments(ctx, wsID, kb.ID, toUnlink); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// bulkDelete deletes one document; one deleted meanwhile is not_found.
func (s *Service) bulkDelete(ctx context.Context, wsID, id string) (string, error) {
	err := s.DeleteDocument(ctx, wsID, id)
	if errors.Is(err, store.ErrNotFound) {
		return OutcomeNotFound, nil
	}
	return OutcomeDeleted, err
}

// bulkReprocess queues one document again; one still being processed is busy.
func (s *Service) bulkReprocess(ctx context.Context, wsID, id string) (string, error) {
	_, err := s.Reprocess(ctx, wsID, id)
	var fe *fault.Error
	switch {
	case errors.As(err, &fe) && fe.Kind == fault.Conflict:
		return OutcomeBusy, nil
	case errors.Is(err, store.ErrNotFound):
		return OutcomeNotFound, nil
	}
	return OutcomeQueued, err
}

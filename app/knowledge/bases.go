package knowledge

import (
	"context"
	"errors"
	"unicode/utf8"

	"quire/app/fault"
	"quire/store"
)

// MayManage says whether v manages document d: its uploader and the
// workspace's admins (by their current role) do. Managing includes deciding
// who sees it, i.e. adding it to a knowledge base.
func MayManage(v store.Viewer, d *store.Document) bool {
	return v.IsAdmin || d.UploadedBy == v.UserID
}

// MayManageBase says whether v manages knowledge base kb (renames it, shares
// it, adds documents to it): its creator and the workspace's admins do.
func MayManageBase(v store.Viewer, kb *store.KnowledgeBase) bool {
	return v.IsAdmin || kb.CreatedBy == v.UserID
}

// BaseInput is a knowledge base's fields as a person sets them; nil keeps a
// field as it is (or, on create, its default: no description, shared).
type BaseInput struct {
	Name                *string
	Description         *string
	SharedWithWorkspace *bool
}

func (in BaseInput) check() (store.KBFields, error) {
	f := store.KBFields{Description: in.Description}
	if in.Name != nil {
		name, err := checkName(*in.Name)
		if err != nil {
			return f, err
		}
		f.Name = &name
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 2000 {
		return f, fault.Field("description", "description must be at most 2000 characters")
	}
	return f, nil
}

// CreateBase creates a knowledge base owned by v.
func (s *Service) CreateBase(ctx context.Context, wsID string, v store.Viewer, in BaseInput) (*store.KnowledgeBase, error) {
	if in.Name == nil {
		return nil, fault.Field("name", "name must not be empty")
	}
	f, err := in.check()
	if err != nil {
		return nil, err
	}
	desc, shared := "", true
	if f.Description != nil {
		desc = *f.Description
	}
	if in.SharedWithWorkspace != nil {
		shared = *in.SharedWithWorkspace
	}
	kb, err := s.st.CreateKnowledgeBase(ctx, wsID, v.UserID, *f.Name, desc, shared)
	if errors.Is(err, store.ErrConflict) {
		e := fault.New(fault.Conflict, "a knowledge base named %q already exists", *f.Name)
		e.Err = err
		return nil, e
	}
	return kb, err
}

// UpdateBase changes a knowledge base that v manages.
func (s *Service) UpdateBase(ctx context.Context, wsID string, v store.Viewer, kbID string, in BaseInput) (*store.KnowledgeBase, error) {
	f, err := in.check()
	if err != nil {
		return nil, err
	}
	if in.SharedWithWorkspace != nil {
		a, err := s.st.GetKBAccess(ctx, wsID, kbID)
		if err != nil {
			return nil, err
		}
		a.SharedWithWorkspace = *in.SharedWithWorkspace
		if err := s.SetAccess(ctx, wsID, v, kbID, *a); err != nil {
			return nil, err
		}
	}
	kb, err := s.st.UpdateKnowledgeBase(ctx, wsID, kbID, f)
	if errors.Is(err, store.ErrConflict) {
		return nil, &fault.Error{Kind: fault.Conflict, Message: "a knowledge base with that name already exists", Err: err}
	}
	return kb, err
}

// SetAccess changes who sees a knowledge base, as v. A manager who is not an
// admin (its creator, maybe since demoted) may narrow access, but widen it
// only over documents they uploaded themselves: sharing a document is for
// its uploader or an admin to decide.
func (s *Service) SetAccess(ctx context.Context, wsID string, v store.Viewer, kbID string, a store.KBAccess) error {
	err := s.st.SetKBAccess(ctx, wsID, v, kbID, a)
	switch {
	case errors.Is(err, store.ErrInvalidTeam):
		return &fault.Error{Kind: fault.Invalid, Field: "team_ids", Message: "every team must be a team of this workspace", Err: err}
	case errors.Is(err, store.ErrNotShareable):
		return &fault.Error{Kind: fault.Forbidden, Err: err,
			Message: "this would show documents that others uploaded to more people; only their uploaders or a workspace admin can share them"}
	}
	return err
}

// LinkDocuments adds documents to a knowledge base, which shows them to
// everyone who sees it: v must be allowed to share each one, not merely see
// it (a team's restricted document stays with that team).
func (s *Service) LinkDocuments(ctx context.Context, wsID string, v store.Viewer, kbID string, docIDs []string) (*store.KnowledgeBase, error) {
	docs, err := s.visibleDocuments(ctx, wsID, v, docIDs)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		if !MayManage(v, d) {
			return nil, fault.New(fault.Forbidden, "only the uploader of %q or a workspace admin can add it to a knowledge base", d.Name)
		}
	}
	if err := s.st.AddKBDocuments(ctx, wsID, kbID, docIDs); err != nil {
		return nil, err
	}
	return s.st.GetKnowledgeBase(ctx, wsID, v, kbID)
}

// UnlinkDocuments removes documents v can see from a knowledge base.
func (s *Service) UnlinkDocuments(ctx context.Context, wsID string, v store.Viewer, kbID string, docIDs []string) (*store.KnowledgeBase, error) {
	if _, err := s.visibleDocuments(ctx, wsID, v, docIDs); err != nil {
		return nil, err
	}
	if err := s.st.RemoveKBDocuments(ctx, wsID, kbID, docIDs); err != nil {
		return nil, err
	}
	return s.st.GetKnowledgeBase(ctx, wsID, v, kbID)
}

// visibleDocuments loads 1 to 500 documents, each of which v must see.
// CheckVisible refuses knowledge bases the viewer cannot see: a chat or a
// completion retrieves only from what the asker may read.
func (s *Service) CheckVisible(ctx context.Context, wsID string, v store.Viewer, kbIDs []string) error {
	for _, id := range kbIDs {
		ok, err := s.st.KBVisible(ctx, wsID, v, id)
		if err != nil {
			return err
		}
		if !ok {
			return fault.Field("knowledge_base_ids", "every knowledge base must exist in this workspace and be visible to you")
		}
	}
	return nil
}

func (s *Service) visibleDocuments(ctx context.Context, wsID string, v store.Viewer, ids []string) ([]*store.Document, error) {
	if len(ids) == 0 || len(ids) > 500 {
		return nil, fault.Field("document_ids", "send 1 to 500 document ids")
	}
	docs := make([]*store.Document, 0, len(ids))
	for _, id := range ids {
		d, err := s.st.GetVisibleDocument(ctx, wsID, v, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault.Field("document_ids", "no document %q that you can see in this workspace", id)
		} else if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

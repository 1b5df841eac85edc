package app

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/store"
)

// viewerOf is the caller as the knowledge visibility rules see them.
func viewerOf(c *fiber.Ctx) store.Viewer {
	return store.Viewer{UserID: userOf(c).ID, IsAdmin: store.RoleRank(workspaceOf(c).Role) >= store.RoleRank(store.RoleAdmin)}
}

func kbOf(c *fiber.Ctx) *store.KnowledgeBase {
	return kbLocal.get(c)
}

type kbJSON struct {
	ID                  string    `json:"id"`
	Name                string    `json:"name"`
	Description         string    `json:"description"`
	SharedWithWorkspace bool      `json:"shared_with_workspace"`
	CreatedBy           *int64    `json:"created_by"`
	DocumentCount       int       `json:"document_count"`
	ChunkCount          int       `json:"chunk_count"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

func kbView(kb *store.KnowledgeBase) kbJSON {
	v := kbJSON{ID: kb.ID, Name: kb.Name, Description: kb.Description, SharedWithWorkspace: kb.SharedWithWorkspace,
		DocumentCount: kb.DocumentCount, ChunkCount: kb.ChunkCount, CreatedAt: kb.CreatedAt, UpdatedAt: kb.UpdatedAt}
	if kb.CreatedBy != 0 {
		v.CreatedBy = &kb.CreatedBy
	}
	return v
}

func (s *Server) listKnowledgeBases(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	afterName, afterID := splitCursor(cursor)
	kbs, err := s.store.ListKnowledgeBases(c.UserContext(), workspaceOf(c).ID, viewerOf(c), afterName, afterID, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(kbs, limit, func(kb *store.KnowledgeBase) string { return kb.Name + "\x00" + kb.ID }, kbView))
}

func splitCursor(cursor string) (string, string) {
	for i := range len(cursor) {
		if cursor[i] == 0 {
			return cursor[:i], cursor[i+1:]
		}
	}
	return "", ""
}

type kbInput struct {
	Name                *string `json:"name"`
	Description         *string `json:"description"`
	SharedWithWorkspace *bool   `json:"shared_with_workspace"`
}

func checkDescription(d *string) error {
	if d != nil && len([]rune(*d)) > 2000 {
		return invalid("description", "description must be at most 2000 characters")
	}
	return nil
}

func (s *Server) createKnowledgeBase(c *fiber.Ctx) error {
	var in kbInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return invalid("name", "name must not be empty")
	}
	name, err := checkName("name", *in.Name, true)
	if err != nil {
		return err
	}
	if err := checkDescription(in.Description); err != nil {
		return err
	}
	desc, shared := "", true
	if in.Description != nil {
		desc = *in.Description
	}
	if in.SharedWithWorkspace != nil {
		shared = *in.SharedWithWorkspace
	}
	kb, err := s.store.CreateKnowledgeBase(c.UserContext(), workspaceOf(c).ID, userOf(c).ID, name, desc, shared)
	if errors.Is(err, store.ErrConflict) {
		return conflict("a knowledge base named %q already exists", name)
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(kbView(kb))
}

func (s *Server) getKnowledgeBase(c *fiber.Ctx) error { return c.JSON(kbView(kbOf(c))) }

func (s *Server) patchKnowledgeBase(c *fiber.Ctx) error {
	var in kbInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	f := store.KBFields{Description: in.Description}
	if in.Name != nil {
		name, err := checkName("name", *in.Name, true)
		if err != nil {
			return err
		}
		f.Name = &name
	}
	if err := checkDescription(in.Description); err != nil {
		return err
	}
	ws, kb := workspaceOf(c), kbOf(c)
	if in.SharedWithWorkspace != nil {
		a, err := s.store.GetKBAccess(c.UserContext(), ws.ID, kb.ID)
		if err != nil {
			return err
		}
		a.SharedWithWorkspace = *in.SharedWithWorkspace
		if err := s.setKBAccess(c, *a); err != nil {
			return err
		}
	}
	kb, err := s.store.UpdateKnowledgeBase(c.UserContext(), ws.ID, kb.ID, f)
	if errors.Is(err, store.ErrConflict) {
		return conflict("a knowledge base with that name already exists")
	}
	if err != nil {
		return err
	}
	return c.JSON(kbView(kb))
}

func (s *Server) deleteKnowledgeBase(c *fiber.Ctx) error {
	if err := s.store.DeleteKnowledgeBase(c.UserContext(), workspaceOf(c).ID, kbOf(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type kbAccessJSON struct {
	SharedWithWorkspace bool    `json:"shared_with_workspace"`
	TeamIDs             []int64 `json:"team_ids"`
}

func (s *Server) getKBAccess(c *fiber.Ctx) error {
	a, err := s.store.GetKBAccess(c.UserContext(), workspaceOf(c).ID, kbOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(kbAccessJSON{a.SharedWithWorkspace, a.TeamIDs})
}

func (s *Server) putKBAccess(c *fiber.Ctx) error {
	var in struct {
		SharedWithWorkspace *bool   `json:"shared_with_workspace"`
		TeamIDs             []int64 `json:"team_ids"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.SharedWithWorkspace == nil {
		return invalid("shared_with_workspace", "shared_with_workspace must be true or false")
	}
	if in.TeamIDs == nil {
		in.TeamIDs = []int64{}
	}
	if err := s.setKBAccess(c, store.KBAccess{SharedWithWorkspace: *in.SharedWithWorkspace, TeamIDs: in.TeamIDs}); err != nil {
		return err
	}
	return s.getKBAccess(c)
}

// setKBAccess changes who sees the knowledge base as the caller. A manager who
// is not an admin (its creator, maybe since demoted) may narrow access, but
// widen it only over documents they uploaded themselves: sharing a document
// is for its uploader or an admin to decide.
func (s *Server) setKBAccess(c *fiber.Ctx, a store.KBAccess) error {
	err := s.store.SetKBAccess(c.UserContext(), workspaceOf(c).ID, viewerOf(c), kbOf(c).ID, a)
	switch {
	case errors.Is(err, store.ErrInvalidTeam):
		return invalid("team_ids", "every team must be a team of this workspace")
	case errors.Is(err, store.ErrNotShareable):
		return forbidden("this would show documents that others uploaded to more people; only their uploaders or a workspace admin can share them")
	}
	return err
}

func (s *Server) listKBDocuments(c *fiber.Ctx) error {
	c.Request().URI().QueryArgs().Set("knowledge_base_id", kbOf(c).ID)
	return s.listDocuments(c)
}

// docIDsBody reads {document_ids:[...]} and checks the caller can see each one.
func (s *Server) docIDsBody(c *fiber.Ctx) ([]string, []*store.Document, error) {
	var in struct {
		DocumentIDs []string `json:"document_ids"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, nil, err
	}
	if len(in.DocumentIDs) == 0 || len(in.DocumentIDs) > 500 {
		return nil, nil, invalid("document_ids", "send 1 to 500 document ids")
	}
	docs := make([]*store.Document, 0, len(in.DocumentIDs))
	for _, id := range in.DocumentIDs {
		d, err := s.store.GetVisibleDocument(c.UserContext(), workspaceOf(c).ID, viewerOf(c), id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, invalid("document_ids", "no document %q that you can see in this workspace", id)
		} else if err != nil {
			return nil, nil, err
		}
		docs = append(docs, d)
	}
	return in.DocumentIDs, docs, nil
}

// addKBDocuments links documents to the knowledge base, which shows them to
// everyone who sees it: the caller must be allowed to share each one, not
// merely see it (a team's restricted document stays with that team).
func (s *Server) addKBDocuments(c *fiber.Ctx) error {
	ids, docs, err := s.docIDsBody(c)
	if err != nil {
		return err
	}
	v := viewerOf(c)
	for _, d := range docs {
		if !mayManageDocument(v, d) {
			return forbidden("only the uploader of %q or a workspace admin can add it to a knowledge base", d.Name)
		}
	}
	if err := s.store.AddKBDocuments(c.UserContext(), workspaceOf(c).ID, kbOf(c).ID, ids); err != nil {
		return err
	}
	return s.refreshKB(c)
}

func (s *Server) removeKBDocuments(c *fiber.Ctx) error {
	ids, _, err := s.docIDsBody(c)
	if err != nil {
		return err
	}
	if err := s.store.RemoveKBDocuments(c.UserContext(), workspaceOf(c).ID, kbOf(c).ID, ids); err != nil {
		return err
	}
	return s.refreshKB(c)
}

func (s *Server) refreshKB(c *fiber.Ctx) error {
	kb, err := s.store.GetKnowledgeBase(c.UserContext(), workspaceOf(c).ID, viewerOf(c), kbOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(kbView(kb))
}

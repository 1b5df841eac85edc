package app

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/knowledge"
	"quire/store"
)

// viewerOf is the caller as the knowledge visibility rules see them.
func viewerOf(c *fiber.Ctx) store.Viewer {
	return store.ViewerFor(workspaceOf(c), userOf(c).ID)
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

func (s *Server) createKnowledgeBase(c *fiber.Ctx) error {
	var in kbInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	kb, err := s.knowledge.CreateBase(c.UserContext(), workspaceOf(c).ID, viewerOf(c), knowledge.BaseInput(in))
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
	kb, err := s.knowledge.UpdateBase(c.UserContext(), workspaceOf(c).ID, viewerOf(c), kbOf(c).ID, knowledge.BaseInput(in))
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
	a := store.KBAccess{SharedWithWorkspace: *in.SharedWithWorkspace, TeamIDs: in.TeamIDs}
	if err := s.knowledge.SetAccess(c.UserContext(), workspaceOf(c).ID, viewerOf(c), kbOf(c).ID, a); err != nil {
		return err
	}
	return s.getKBAccess(c)
}

func (s *Server) listKBDocuments(c *fiber.Ctx) error {
	c.Request().URI().QueryArgs().Set("knowledge_base_id", kbOf(c).ID)
	return s.listDocuments(c)
}

func (s *Server) addKBDocuments(c *fiber.Ctx) error { return kbDocuments(c, s.knowledge.LinkDocuments) }

func (s *Server) removeKBDocuments(c *fiber.Ctx) error {
	return kbDocuments(c, s.knowledge.UnlinkDocuments)
}

// kbDocuments reads {document_ids:[...]}, links or unlinks them and answers
// with the knowledge base as it is now.
func kbDocuments(c *fiber.Ctx, do func(context.Context, string, store.Viewer, string, []string) (*store.KnowledgeBase, error)) error {
	var in struct {
		DocumentIDs []string `json:"document_ids"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	kb, err := do(c.UserContext(), workspaceOf(c).ID, viewerOf(c), kbOf(c).ID, in.DocumentIDs)
	if err != nil {
		return err
	}
	return c.JSON(kbView(kb))
}

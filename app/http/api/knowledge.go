package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/app/knowledge"
	"quire/store"
)

type KbJSON struct {
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

func kbView(kb *store.KnowledgeBase) KbJSON {
	v := KbJSON{ID: kb.ID, Name: kb.Name, Description: kb.Description, SharedWithWorkspace: kb.SharedWithWorkspace,
		DocumentCount: kb.DocumentCount, ChunkCount: kb.ChunkCount, CreatedAt: kb.CreatedAt, UpdatedAt: kb.UpdatedAt}
	if kb.CreatedBy != 0 {
		v.CreatedBy = &kb.CreatedBy
	}
	return v
}

func (s *Handlers) ListKnowledgeBases(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	afterName, afterID := splitCursor(cursor)
	kbs, err := s.Store.ListKnowledgeBases(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), afterName, afterID, limit+1)
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

func (s *Handlers) CreateKnowledgeBase(c *fiber.Ctx) error {
	var in kbInput
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	kb, err := s.Knowledge.CreateBase(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), knowledge.BaseInput(in))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(kbView(kb))
}

func (s *Handlers) GetKnowledgeBase(c *fiber.Ctx) error { return c.JSON(kbView(request.KB(c))) }

func (s *Handlers) PatchKnowledgeBase(c *fiber.Ctx) error {
	var in kbInput
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	kb, err := s.Knowledge.UpdateBase(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), request.KB(c).ID, knowledge.BaseInput(in))
	if err != nil {
		return err
	}
	return c.JSON(kbView(kb))
}

func (s *Handlers) DeleteKnowledgeBase(c *fiber.Ctx) error {
	if err := s.Store.DeleteKnowledgeBase(c.UserContext(), request.Workspace(c).ID, request.KB(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type KbAccessJSON struct {
	SharedWithWorkspace bool    `json:"shared_with_workspace"`
	TeamIDs             []int64 `json:"team_ids"`
}

func (s *Handlers) GetKBAccess(c *fiber.Ctx) error {
	a, err := s.Store.GetKBAccess(c.UserContext(), request.Workspace(c).ID, request.KB(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(KbAccessJSON{a.SharedWithWorkspace, a.TeamIDs})
}

func (s *Handlers) PutKBAccess(c *fiber.Ctx) error {
	var in struct {
		SharedWithWorkspace *bool   `json:"shared_with_workspace"`
		TeamIDs             []int64 `json:"team_ids"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.SharedWithWorkspace == nil {
		return request.Invalid("shared_with_workspace", "shared_with_workspace must be true or false")
	}
	if in.TeamIDs == nil {
		in.TeamIDs = []int64{}
	}
	a := store.KBAccess{SharedWithWorkspace: *in.SharedWithWorkspace, TeamIDs: in.TeamIDs}
	if err := s.Knowledge.SetAccess(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), request.KB(c).ID, a); err != nil {
		return err
	}
	return s.GetKBAccess(c)
}

func (s *Handlers) ListKBDocuments(c *fiber.Ctx) error {
	c.Request().URI().QueryArgs().Set("knowledge_base_id", request.KB(c).ID)
	return s.ListDocuments(c)
}

func (s *Handlers) AddKBDocuments(c *fiber.Ctx) error {
	return kbDocuments(c, s.Knowledge.LinkDocuments)
}

func (s *Handlers) RemoveKBDocuments(c *fiber.Ctx) error {
	return kbDocuments(c, s.Knowledge.UnlinkDocuments)
}

// kbDocuments reads {document_ids:[...]}, links or unlinks them and answers
// with the knowledge base as it is now.
func kbDocuments(c *fiber.Ctx, do func(context.Context, string, store.Viewer, string, []string) (*store.KnowledgeBase, error)) error {
	var in struct {
		DocumentIDs []string `json:"document_ids"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	kb, err := do(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), request.KB(c).ID, in.DocumentIDs)
	if err != nil {
		return err
	}
	return c.JSON(kbView(kb))
}

package app

import (
	"github.com/gofiber/fiber/v2"

	"quire/app/knowledge"
	"quire/store"
)

func (s *Server) pageDocuments(c *fiber.Ctx) error {
	ws, v := workspaceOf(c), viewerOf(c)
	ctx := c.UserContext()
	f := store.DocumentFilter{Status: c.Query("status"), KnowledgeBaseID: c.Query("kb"), Query: c.Query("q"), Limit: 200}
	docs, err := s.store.ListDocuments(ctx, ws.ID, v, f)
	if err != nil {
		return err
	}
	kbs, err := s.store.ListKnowledgeBases(ctx, ws.ID, v, "", "", 200)
	if err != nil {
		return err
	}
	var manageable []store.KnowledgeBase
	kbByID := map[string]store.KnowledgeBase{}
	for _, kb := range kbs {
		kbByID[kb.ID] = kb
		if knowledge.MayManageBase(v, &kb) {
			manageable = append(manageable, kb)
		}
	}
	docKBs, err := s.documentBases(ctx, ws.ID, v, docs, kbByID)
	if err != nil {
		return err
	}
	return s.render(c, "documents", "Documents · "+ws.Name, fiber.Map{
		"Docs": mapSlice(docs, documentView), "KBs": kbs, "Manageable": manageable, "Filter": f, "Viewer": v, "DocKBs": docKBs,
		"MaxMB": s.currentSettings().MaxUploadMB, "Ollama": s.ollamaState(ctx) == "ok",
	})
}

func (s *Server) pageDocument(c *fiber.Ctx) error {
	d, ws, v := documentOf(c), workspaceOf(c), viewerOf(c)
	chunks, err := s.store.ListChunks(c.UserContext(), ws.ID, d.ID, -1, 2000)
	if err != nil {
		return err
	}
	kbIDs, err := s.store.DocumentKBIDs(c.UserContext(), ws.ID, v, d.ID)
	if err != nil {
		return err
	}
	var kbs []store.KnowledgeBase
	for _, id := range kbIDs {
		if kb, err := s.store.GetKnowledgeBase(c.UserContext(), ws.ID, v, id); err == nil {
			kbs = append(kbs, *kb)
		}
	}
	return s.render(c, "document", d.Name, fiber.Map{"Doc": documentView(d), "Chunks": mapSlice(chunks, chunkView), "KBs": kbs,
		"Manage": knowledge.MayManage(v, d)})
}

func (s *Server) pageKnowledgeBases(c *fiber.Ctx) error {
	ws := workspaceOf(c)
	kbs, err := s.store.ListKnowledgeBases(c.UserContext(), ws.ID, viewerOf(c), "", "", 200)
	if err != nil {
		return err
	}
	return s.render(c, "knowledge_bases", "Knowledge bases · "+ws.Name, fiber.Map{"KBs": kbs})
}

func (s *Server) pageKnowledgeBase(c *fiber.Ctx) error {
	kb, ws, v := kbOf(c), workspaceOf(c), viewerOf(c)
	ctx := c.UserContext()
	docs, err := s.store.ListDocuments(ctx, ws.ID, v, store.DocumentFilter{KnowledgeBaseID: kb.ID, Limit: 500})
	if err != nil {
		return err
	}
	data := fiber.Map{"KB": kb, "Docs": mapSlice(docs, documentView), "Manage": knowledge.MayManageBase(v, kb)}
	if data["Manage"] == true {
		access, err := s.store.GetKBAccess(ctx, ws.ID, kb.ID)
		if err != nil {
			return err
		}
		teams, err := s.store.ListTeams(ctx, ws.ID)
		if err != nil {
			return err
		}
		granted := map[int64]bool{}
		for _, id := range access.TeamIDs {
			granted[id] = true
		}
		all, err := s.store.ListDocuments(ctx, ws.ID, v, store.DocumentFilter{Limit: 500})
		if err != nil {
			return err
		}
		in := map[string]bool{}
		for _, d := range docs {
			in[d.ID] = true
		}
		var others []store.Document
		for _, d := range all {
			if !in[d.ID] {
				others = append(others, d)
			}
		}
		data["Access"], data["Teams"], data["Granted"], data["Others"] = access, teams, granted, others
	}
	return s.render(c, "knowledge_base", kb.Name, data)
}

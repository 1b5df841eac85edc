package ui

import (
	"cmp"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/api"
	"quire/app/http/request"
	"quire/app/ingest"
	"quire/app/knowledge"
	"quire/store"
)

func (s *Pages) PageDocuments(c *fiber.Ctx) error {
	ws, v := request.Workspace(c), request.Viewer(c)
	ctx := c.UserContext()
	f := store.DocumentFilter{Status: c.Query("status"), KnowledgeBaseID: c.Query("kb"), Query: c.Query("q"), Limit: 200}
	docs, err := s.Store.ListDocuments(ctx, ws.ID, v, f)
	if err != nil {
		return err
	}
	kbs, err := s.Store.ListKnowledgeBases(ctx, ws.ID, v, "", "", 200)
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
		"Docs": api.MapSlice(docs, api.DocumentView), "KBs": kbs, "Manageable": manageable, "Filter": f, "Viewer": v, "DocKBs": docKBs,
		"MaxMB": s.Settings.Get().MaxUploadMB, "Ollama": s.api.OllamaState(ctx) == "ok",
	})
}

func (s *Pages) PageDocument(c *fiber.Ctx) error {
	d, ws, v := request.Document(c), request.Workspace(c), request.Viewer(c)
	chunks, err := s.Store.ListChunks(c.UserContext(), ws.ID, d.ID, -1, 2000)
	if err != nil {
		return err
	}
	kbIDs, err := s.Store.DocumentKBIDs(c.UserContext(), ws.ID, v, d.ID)
	if err != nil {
		return err
	}
	var kbs []store.KnowledgeBase
	for _, id := range kbIDs {
		if kb, err := s.Store.GetKnowledgeBase(c.UserContext(), ws.ID, v, id); err == nil {
			kbs = append(kbs, *kb)
		}
	}
	return s.render(c, "document", d.Name, fiber.Map{"Doc": api.DocumentView(d), "Chunks": api.MapSlice(chunks, api.ChunkView(d)), "KBs": kbs,
		"Kind":   cmp.Or(ingest.KindOfMIME(d.MimeType).Name(), d.MimeType),
		"Manage": knowledge.MayManage(v, d)})
}

func (s *Pages) PageKnowledgeBases(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	kbs, err := s.Store.ListKnowledgeBases(c.UserContext(), ws.ID, request.Viewer(c), "", "", 200)
	if err != nil {
		return err
	}
	return s.render(c, "knowledge_bases", "Knowledge bases · "+ws.Name, fiber.Map{"KBs": kbs})
}

func (s *Pages) PageKnowledgeBase(c *fiber.Ctx) error {
	kb, ws, v := request.KB(c), request.Workspace(c), request.Viewer(c)
	ctx := c.UserContext()
	docs, err := s.Store.ListDocuments(ctx, ws.ID, v, store.DocumentFilter{KnowledgeBaseID: kb.ID, Limit: 500})
	if err != nil {
		return err
	}
	data := fiber.Map{"KB": kb, "Docs": api.MapSlice(docs, api.DocumentView), "Manage": knowledge.MayManageBase(v, kb)}
	if data["Manage"] == true {
		access, err := s.Store.GetKBAccess(ctx, ws.ID, kb.ID)
		if err != nil {
			return err
		}
		teams, err := s.Store.ListTeams(ctx, ws.ID)
		if err != nil {
			return err
		}
		granted := map[int64]bool{}
		for _, id := range access.TeamIDs {
			granted[id] = true
		}
		all, err := s.Store.ListDocuments(ctx, ws.ID, v, store.DocumentFilter{Limit: 500})
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

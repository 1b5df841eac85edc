package api

import (
	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/app/knowledge"
)

type BulkItemJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Outcome string `json:"outcome"`
}

// BulkDocuments applies one action to a selection of documents: 200 with
// each document's outcome and the count per outcome, so the list can say
// "7 added, 2 were already in it" (knowledge.Bulk has the rules).
func (s *Handlers) BulkDocuments(c *fiber.Ctx) error {
	var in struct {
		Action          string   `json:"action"`
		DocumentIDs     []string `json:"document_ids"`
		KnowledgeBaseID string   `json:"knowledge_base_id"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	res, err := s.Knowledge.Bulk(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), knowledge.BulkInput(in))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"action": res.Action, "counts": res.Counts,
		"results": MapSlice(res.Items, func(it *knowledge.BulkItem) BulkItemJSON { return BulkItemJSON(*it) })})
}

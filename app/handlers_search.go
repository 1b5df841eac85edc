package app

import (
	"errors"
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v2"

	"quire/app/llm"
)

// searchHit is one passage found by a search.
type searchHit struct {
	ChunkID          string        `json:"chunk_id"`
	DocumentID       string        `json:"document_id"`
	DocumentName     string        `json:"document_name"`
	KnowledgeBaseIDs []string      `json:"knowledge_base_ids"`
	Content          string        `json:"content"`
	Highlight        template.HTML `json:"highlight"` // the matching passage, HTML-escaped, terms in <mark>
	PageNumber       *int          `json:"page_number"`
	SectionHeading   string        `json:"section_heading"`
	Score            float64       `json:"score"`
}

type searchInput struct {
	Query            string   `json:"query"`
	KnowledgeBaseIDs []string `json:"knowledge_base_ids"`
	TopK             int      `json:"top_k"`
	Mode             string   `json:"mode"`
}

func (in *searchInput) check() error {
	in.Query = strings.TrimSpace(in.Query)
	if in.Query == "" {
		return invalid("query", "type something to search for")
	}
	if len([]rune(in.Query)) > 1000 {
		return invalid("query", "the query must be at most 1000 characters")
	}
	if in.TopK == 0 {
		in.TopK = 5
	}
	if in.TopK < 1 || in.TopK > 50 {
		return invalid("top_k", "top_k must be from 1 to 50")
	}
	switch in.Mode {
	case "":
		in.Mode = "hybrid"
	case "hybrid", "vector", "keyword":
	default:
		return invalid("mode", "mode must be hybrid, vector or keyword")
	}
	return nil
}

func (s *Server) runSearch(c *fiber.Ctx, in searchInput) ([]searchHit, error) {
	hits, err := s.searchKnowledge(c.UserContext(), workspaceOf(c).ID, viewerOf(c), in.Query, in.KnowledgeBaseIDs, in.TopK, in.Mode)
	if errors.Is(err, llm.ErrUnavailable) {
		return nil, errorf(fiber.StatusServiceUnavailable, "model_unavailable",
			"vector search needs the model server, which is unreachable: %s; keyword search still works", err.Error())
	}
	return hits, err
}

func (s *Server) searchAPI(c *fiber.Ctx) error {
	var in searchInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	hits, err := s.runSearch(c, in)
	if err != nil {
		return err
	}
	if hits == nil {
		hits = []searchHit{}
	}
	return c.JSON(fiber.Map{"results": hits, "mode": in.Mode})
}

func (s *Server) pageSearch(c *fiber.Ctx) error {
	ws, v := workspaceOf(c), viewerOf(c)
	in := searchInput{Query: c.Query("q"), Mode: c.Query("mode")}
	if kb := c.Query("kb"); kb != "" {
		in.KnowledgeBaseIDs = []string{kb}
	}
	data := fiber.Map{"Query": in.Query, "Mode": in.Mode, "KB": c.Query("kb")}
	kbs, err := s.store.ListKnowledgeBases(c.UserContext(), ws.ID, v, "", "", 200)
	if err != nil {
		return err
	}
	data["KBs"] = kbs
	if strings.TrimSpace(in.Query) != "" {
		if err := in.check(); err != nil {
			data["Error"] = err.Error()
		} else if hits, err := s.runSearch(c, in); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				return err
			}
			data["Error"] = ae.Message
		} else {
			data["Results"] = hits
			data["Searched"] = true
		}
		data["Mode"] = in.Mode
	}
	return s.render(c, "search", "Search · "+ws.Name, data)
}

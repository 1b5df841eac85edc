package app

import (
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v2"

	"quire/app/fault"
	"quire/app/knowledge"
	"quire/app/rag"
	"quire/store"
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
	Location         string        `json:"location"` // "p. 2", "slide 3"; "" without pages
	SectionHeading   string        `json:"section_heading"`
	Score            float64       `json:"score"`
	// Match says why the passage was found, for people: "words" (it contains
	// them), "meaning" (close in meaning), or both. Score only orders results.
	Match []string `json:"match"`
}

func hitView(r *rag.Result) searchHit {
	h := searchHit{ChunkID: r.ChunkID, DocumentID: r.DocumentID, DocumentName: r.DocumentName, KnowledgeBaseIDs: r.KnowledgeBaseIDs,
		Content: r.Content, Highlight: highlight(r.Snippet), SectionHeading: r.Heading, Location: r.Location, Score: r.Score}
	if r.Page > 0 {
		p := r.Page
		h.PageNumber = &p
	}
	h.Match = []string{}
	if r.Words {
		h.Match = append(h.Match, "words")
	}
	if r.Meaning {
		h.Match = append(h.Match, "meaning")
	}
	return h
}

// highlight renders a snippet with its matched words in <mark>, escaping the rest.
func highlight(sn store.Snippet) template.HTML {
	var b strings.Builder
	at := 0
	for _, m := range sn.Marks {
		if m[0] < at || m[1] > len(sn.Text) || m[0] > m[1] {
			continue
		}
		b.WriteString(template.HTMLEscapeString(sn.Text[at:m[0]]))
		b.WriteString("<mark>" + template.HTMLEscapeString(sn.Text[m[0]:m[1]]) + "</mark>")
		at = m[1]
	}
	b.WriteString(template.HTMLEscapeString(sn.Text[at:]))
	return template.HTML(b.String())
}

func (s *Server) searchAPI(c *fiber.Ctx) error {
	var in struct {
		Query            string   `json:"query"`
		KnowledgeBaseIDs []string `json:"knowledge_base_ids"`
		TopK             int      `json:"top_k"`
		Mode             string   `json:"mode"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	res, err := s.knowledge.Search(c.UserContext(), workspaceOf(c).ID, viewerOf(c), knowledge.SearchInput(in))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": mapSlice(res.Results, hitView), "mode": res.Asked})
}

func (s *Server) pageSearch(c *fiber.Ctx) error {
	ws, v := workspaceOf(c), viewerOf(c)
	in := knowledge.SearchInput{Query: c.Query("q"), Mode: c.Query("mode")}
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
		res, err := s.knowledge.Search(c.UserContext(), ws.ID, v, in)
		if f, ok := fault.As(err); ok {
			data["Error"] = f.Message
		} else if err != nil {
			return err
		} else {
			data["Results"], data["Mode"] = mapSlice(res.Results, hitView), res.Asked
			data["Searched"] = true
		}
	}
	return s.render(c, "search", "Search · "+ws.Name, data)
}

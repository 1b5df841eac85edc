package api

import (
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/app/knowledge"
	"quire/app/rag"
	"quire/store"
)

// SearchHit is one passage found by a search.
type SearchHit struct {
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

func HitView(r *rag.Result) SearchHit {
	h := SearchHit{ChunkID: r.ChunkID, DocumentID: r.DocumentID, DocumentName: r.DocumentName, KnowledgeBaseIDs: r.KnowledgeBaseIDs,
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

func (s *Handlers) SearchAPI(c *fiber.Ctx) error {
	var in struct {
		Query            string   `json:"query"`
		KnowledgeBaseIDs []string `json:"knowledge_base_ids"`
		TopK             int      `json:"top_k"`
		Mode             string   `json:"mode"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	res, err := s.Knowledge.Search(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), knowledge.SearchInput(in))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": MapSlice(res.Results, HitView), "mode": res.Asked})
}

package app

import (
	"encoding/json"
	"errors"
	"html/template"
	"regexp"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/chat"
	"quire/app/feedback"
	"quire/store"
)

// branchJSON is a message of a chat's current path with its versions: the
// siblings an edit or a regeneration made, oldest first, to switch between.
type branchJSON struct {
	messageJSON
	SiblingCount int           `json:"sibling_count"`
	SiblingIndex int           `json:"sibling_index"` // 0-based place in sibling_ids
	SiblingIDs   []string      `json:"sibling_ids"`
	Feedback     *feedbackJSON `json:"feedback,omitempty"` // the caller's rating of an answer
}

func branchView(b *store.Branch) branchJSON {
	return branchJSON{messageJSON: messageView(&b.Message), SiblingCount: len(b.Siblings), SiblingIndex: b.Index, SiblingIDs: b.Siblings}
}

type feedbackJSON struct {
	MessageID string    `json:"message_id"`
	Rating    string    `json:"rating"` // up or down
	Note      string    `json:"note"`
	UpdatedAt time.Time `json:"updated_at"`
}

func feedbackView(f *store.Feedback) *feedbackJSON {
	r := feedback.Up
	if f.Rating < 0 {
		r = feedback.Down
	}
	return &feedbackJSON{MessageID: f.MessageID, Rating: string(r), Note: f.Note, UpdatedAt: f.UpdatedAt}
}

// withFeedback adds the caller's ratings to messages of the request's chat.
func (s *Server) withFeedback(c *fiber.Ctx, msgs []branchJSON) error {
	mine, err := s.rating.Mine(c.UserContext(), workspaceOf(c).ID, chatOf(c).ID, userOf(c).ID)
	if err != nil {
		return err
	}
	for i := range msgs {
		if f, ok := mine[msgs[i].ID]; ok {
			msgs[i].Feedback = feedbackView(&f)
		}
	}
	return nil
}

// citedOnly keeps the sources a reply cites, numbered as cited: a reply with
// no text (stopped before it began) lists none.
func citedOnly(raw json.RawMessage) json.RawMessage {
	var all []chat.Source
	if json.Unmarshal(raw, &all) != nil {
		return json.RawMessage("[]")
	}
	cited := []chat.Source{}
	for _, s := range all {
		if s.Cited {
			cited = append(cited, s)
		}
	}
	out, _ := json.Marshal(cited)
	return out
}

// switchBranch shows another version of a turn: the chat's current path goes
// through message {msg} down to its newest leaf.
func (s *Server) switchBranch(c *fiber.Ctx) error {
	ch, ws := chatOf(c), workspaceOf(c)
	if err := s.answer.Idle(ch.ID); err != nil {
		return err // the reply being written belongs to the branch shown
	}
	leaf, err := s.store.SwitchBranch(c.UserContext(), ws.ID, ch.ID, c.Params("msg"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("message")
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"current_leaf_id": leaf})
}

// citation is the passage behind [n] of a reply, for the side panel.
func (s *Server) citation(c *fiber.Ctx) error {
	n, err := strconv.Atoi(c.Params("n"))
	if err != nil || n < 1 || n > 999 {
		return invalid("n", "a citation number is a whole number from 1 to 999")
	}
	p, err := s.answer.Passage(c.UserContext(), workspaceOf(c).ID, chatOf(c).ID, c.Params("msg"), viewerOf(c), n)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// rateMessage records the caller's thumbs up or down on an answer.
func (s *Server) rateMessage(c *fiber.Ctx) error {
	var in struct {
		Rating string `json:"rating"`
		Note   string `json:"note"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	f, err := s.rating.Rate(c.UserContext(), workspaceOf(c).ID, chatOf(c).ID, c.Params("msg"), userOf(c).ID, feedback.Rating(in.Rating), in.Note)
	if err != nil {
		return err
	}
	return c.JSON(feedbackView(f))
}

// unrateMessage withdraws the caller's rating.
func (s *Server) unrateMessage(c *fiber.Ctx) error {
	if err := s.rating.Withdraw(c.UserContext(), workspaceOf(c).ID, chatOf(c).ID, c.Params("msg"), userOf(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type feedbackSummaryJSON struct {
	ByModel         []tallyJSON `json:"by_model"`
	ByKnowledgeBase []tallyJSON `json:"by_knowledge_base"`
	Notes           []noteJSON  `json:"notes"`
}

type tallyJSON struct {
	Name string `json:"name"` // "" for answers without a knowledge base
	Up   int    `json:"up"`
	Down int    `json:"down"`
}

type noteJSON struct {
	Rating    string    `json:"rating"`
	Note      string    `json:"note"`
	Model     string    `json:"model"`
	UserName  string    `json:"user_name"`
	UpdatedAt time.Time `json:"updated_at"`
}

func summaryView(sum *store.FeedbackSummary) feedbackSummaryJSON {
	tallies := func(ts []store.FeedbackTally) []tallyJSON {
		out := []tallyJSON{}
		for _, t := range ts {
			out = append(out, tallyJSON(t))
		}
		return out
	}
	out := feedbackSummaryJSON{ByModel: tallies(sum.ByModel), ByKnowledgeBase: tallies(sum.ByKnowledgeBase), Notes: []noteJSON{}}
	for _, n := range sum.Notes {
		r := feedback.Up
		if n.Rating < 0 {
			r = feedback.Down
		}
		out.Notes = append(out.Notes, noteJSON{string(r), n.Note, n.Model, n.UserName, n.UpdatedAt})
	}
	return out
}

// feedbackSummary is the workspace's answer ratings, for its admins.
func (s *Server) feedbackSummary(c *fiber.Ctx) error {
	sum, err := s.rating.Summary(c.UserContext(), workspaceOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(summaryView(sum))
}

// citeLink is a citation link as linkCitations writes it.
var citeLink = regexp.MustCompile(`<a class="cite" href="#" data-cite="(\d{1,3})">\[\d{1,3}\]</a>`)

// citedPage prepares a message for the transcript: only its cited sources,
// and each [n] a link to its source's passage on the same page (#src-<id>-n,
// which works without script, as on a public page); an [n] that names no
// source is left as text rather than a dead link.
func citedPage(m branchJSON) messagePage {
	p := messagePage{branchJSON: m}
	var all []chat.Source
	_ = json.Unmarshal(m.Citations, &all)
	cited := map[string]bool{}
	for _, src := range all {
		if src.Cited {
			p.Sources = append(p.Sources, src)
			cited[strconv.Itoa(src.N)] = true
		}
	}
	if m.ContentHTML != "" {
		p.ContentHTML = template.HTML(citeLink.ReplaceAllStringFunc(string(m.ContentHTML), func(a string) string {
			n := citeLink.FindStringSubmatch(a)[1]
			if !cited[n] {
				return "[" + n + "]"
			}
			return `<a class="cite" href="#src-` + m.ID + `-` + n + `" data-cite="` + n + `">[` + n + `]</a>`
		}))
	}
	return p
}

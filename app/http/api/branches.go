package api

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/chat"
	"quire/app/feedback"
	"quire/app/http/request"
	"quire/store"
)

// BranchJSON is a message of a chat's current path with its versions: the
// siblings an edit or a regeneration made, oldest first, to switch between.
type BranchJSON struct {
	MessageJSON
	SiblingCount int           `json:"sibling_count"`
	SiblingIndex int           `json:"sibling_index"` // 0-based place in sibling_ids
	SiblingIDs   []string      `json:"sibling_ids"`
	Feedback     *FeedbackJSON `json:"feedback,omitempty"` // the caller's rating of an answer
}

func BranchView(b *store.Branch) BranchJSON {
	return BranchJSON{MessageJSON: MessageView(&b.Message), SiblingCount: len(b.Siblings), SiblingIndex: b.Index, SiblingIDs: b.Siblings}
}

type FeedbackJSON struct {
	MessageID string    `json:"message_id"`
	Rating    string    `json:"rating"` // up or down
	Note      string    `json:"note"`
	UpdatedAt time.Time `json:"updated_at"`
}

func feedbackView(f *store.Feedback) *FeedbackJSON {
	r := feedback.Up
	if f.Rating < 0 {
		r = feedback.Down
	}
	return &FeedbackJSON{MessageID: f.MessageID, Rating: string(r), Note: f.Note, UpdatedAt: f.UpdatedAt}
}

// WithFeedback adds the caller's ratings to messages of the request's chat.
func (s *Handlers) WithFeedback(c *fiber.Ctx, msgs []BranchJSON) error {
	mine, err := s.Rating.Mine(c.UserContext(), request.Workspace(c).ID, request.Chat(c).ID, request.User(c).ID)
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

// SwitchBranch shows another version of a turn: the chat's current path goes
// through message {msg} down to its newest leaf.
func (s *Handlers) SwitchBranch(c *fiber.Ctx) error {
	ch, ws := request.Chat(c), request.Workspace(c)
	if err := s.Answer.Idle(ch.ID); err != nil {
		return err // the reply being written belongs to the branch shown
	}
	leaf, err := s.Store.SwitchBranch(c.UserContext(), ws.ID, ch.ID, c.Params("msg"))
	if errors.Is(err, store.ErrNotFound) {
		return request.NotFound("message")
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"current_leaf_id": leaf})
}

// Citation is the passage behind [n] of a reply, for the side panel.
func (s *Handlers) Citation(c *fiber.Ctx) error {
	n, err := strconv.Atoi(c.Params("n"))
	if err != nil || n < 1 || n > 999 {
		return request.Invalid("n", "a citation number is a whole number from 1 to 999")
	}
	p, err := s.Answer.Passage(c.UserContext(), request.Workspace(c).ID, request.Chat(c).ID, c.Params("msg"), request.Viewer(c), n)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// RateMessage records the caller's thumbs up or down on an answer.
func (s *Handlers) RateMessage(c *fiber.Ctx) error {
	var in struct {
		Rating string `json:"rating"`
		Note   string `json:"note"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	f, err := s.Rating.Rate(c.UserContext(), request.Workspace(c).ID, request.Chat(c).ID, c.Params("msg"), request.User(c).ID, feedback.Rating(in.Rating), in.Note)
	if err != nil {
		return err
	}
	return c.JSON(feedbackView(f))
}

// UnrateMessage withdraws the caller's rating.
func (s *Handlers) UnrateMessage(c *fiber.Ctx) error {
	if err := s.Rating.Withdraw(c.UserContext(), request.Workspace(c).ID, request.Chat(c).ID, c.Params("msg"), request.User(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type FeedbackSummaryJSON struct {
	ByModel         []TallyJSON `json:"by_model"`
	ByKnowledgeBase []TallyJSON `json:"by_knowledge_base"`
	Notes           []NoteJSON  `json:"notes"`
}

type TallyJSON struct {
	Name string `json:"name"` // "" for answers without a knowledge base
	Up   int    `json:"up"`
	Down int    `json:"down"`
}

type NoteJSON struct {
	Rating    string    `json:"rating"`
	Note      string    `json:"note"`
	Model     string    `json:"model"`
	UserName  string    `json:"user_name"`
	UpdatedAt time.Time `json:"updated_at"`
}

func SummaryView(sum *store.FeedbackSummary) FeedbackSummaryJSON {
	tallies := func(ts []store.FeedbackTally) []TallyJSON {
		out := []TallyJSON{}
		for _, t := range ts {
			out = append(out, TallyJSON(t))
		}
		return out
	}
	out := FeedbackSummaryJSON{ByModel: tallies(sum.ByModel), ByKnowledgeBase: tallies(sum.ByKnowledgeBase), Notes: []NoteJSON{}}
	for _, n := range sum.Notes {
		r := feedback.Up
		if n.Rating < 0 {
			r = feedback.Down
		}
		out.Notes = append(out.Notes, NoteJSON{string(r), n.Note, n.Model, n.UserName, n.UpdatedAt})
	}
	return out
}

// FeedbackSummary is the workspace's answer ratings, for its admins.
func (s *Handlers) FeedbackSummary(c *fiber.Ctx) error {
	sum, err := s.Rating.Summary(c.UserContext(), request.Workspace(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(SummaryView(sum))
}

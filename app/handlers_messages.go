package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/store"
)

func readContent(c *fiber.Ctx) (string, error) {
	var in struct {
		Content string `json:"content"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return "", err
	}
	content := strings.TrimSpace(in.Content)
	if content == "" {
		return "", invalid("content", "the message is empty")
	}
	if len([]rune(content)) > 100_000 {
		return "", invalid("content", "the message is longer than 100,000 characters")
	}
	return content, nil
}

// history returns the messages of the chat before sequence number seq.
func (s *Server) history(ctx context.Context, ch *store.Chat, seq int) ([]store.Message, error) {
	msgs, err := s.store.ListMessages(ctx, ch.WorkspaceID, ch.ID)
	if err != nil {
		return nil, err
	}
	var out []store.Message
	for _, m := range msgs {
		if m.SequenceNumber < seq {
			out = append(out, m)
		}
	}
	return out, nil
}

// postMessage stores the question first: whatever happens next (model down,
// quota), the person's message is kept.
func (s *Server) postMessage(c *fiber.Ctx) error {
	content, err := readContent(c)
	if err != nil {
		return err
	}
	ch, ws := chatOf(c), workspaceOf(c)
	if s.gens.get(ch.ID) != nil {
		return conflict("a reply is still being written in this chat; stop it or wait for it")
	}
	q, err := s.store.AddMessage(c.UserContext(), ws.ID, ch.ID, "user", content, "", "", store.MsgComplete)
	if err != nil {
		return err
	}
	return s.reply(c, ch, q)
}

// reply generates the answer to question q of chat ch and responds.
func (s *Server) reply(c *fiber.Ctx, ch *store.Chat, q *store.Message) error {
	model, info, err := s.prepare(c, ch)
	if err != nil {
		return err
	}
	hist, err := s.history(c.UserContext(), ch, q.SequenceNumber)
	if err != nil {
		return err
	}
	g, err := s.startReply(turn{ws: workspaceOf(c), user: userOf(c), chat: ch, question: q, history: hist}, model, info)
	if err != nil {
		return err
	}
	return s.respond(c, g, q)
}

// regenerate replaces the last assistant reply with a new one.
func (s *Server) regenerate(c *fiber.Ctx) error {
	ch, ws := chatOf(c), workspaceOf(c)
	if s.gens.get(ch.ID) != nil {
		return conflict("a reply is still being written in this chat; stop it or wait for it")
	}
	msgs, err := s.store.ListMessages(c.UserContext(), ws.ID, ch.ID)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return conflict("there is nothing to regenerate yet; ask a question first")
	}
	last := msgs[len(msgs)-1]
	q := last
	if last.Role == "assistant" {
		if len(msgs) < 2 || msgs[len(msgs)-2].Role != "user" {
			return conflict("the last reply has no question to answer again")
		}
		q = msgs[len(msgs)-2]
	}
	// Check the model before dropping the old reply, so a refusal loses nothing.
	if _, _, err := s.prepare(c, ch); err != nil {
		return err
	}
	if last.Role == "assistant" {
		if err := s.store.DeleteMessage(c.UserContext(), ws.ID, last.ID); err != nil {
			return err
		}
	}
	return s.reply(c, ch, &q)
}

// editMessage changes an earlier question, drops what followed it, and answers again.
func (s *Server) editMessage(c *fiber.Ctx) error {
	content, err := readContent(c)
	if err != nil {
		return err
	}
	ch, ws := chatOf(c), workspaceOf(c)
	if s.gens.get(ch.ID) != nil {
		return conflict("a reply is still being written in this chat; stop it or wait for it")
	}
	m, err := s.store.GetMessage(c.UserContext(), ws.ID, ch.ID, c.Params("msg"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("message")
	}
	if err != nil {
		return err
	}
	if m.Role != "user" {
		return invalid("msg", "only your own questions can be edited")
	}
	if err := s.store.EditMessage(c.UserContext(), ws.ID, ch.ID, m.ID, content); err != nil {
		return err
	}
	m.Content = content
	return s.reply(c, ch, m)
}

// stopChat stops the running reply; what was written so far is kept as "stopped".
func (s *Server) stopChat(c *fiber.Ctx) error {
	g := s.gens.get(chatOf(c).ID)
	if g == nil {
		return conflict("no reply is being written in this chat")
	}
	g.cancel()
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	final, err := g.wait(ctx)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"assistant_message": messageView(final)})
}

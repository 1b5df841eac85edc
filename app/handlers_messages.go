package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"quire/app/units"

	"github.com/gofiber/fiber/v2"

	"quire/app/answer"
	"quire/store"
)

// maxMessageBytes caps one question: long enough for pasted pages, short enough
// that a flood of posts cannot fill the disk or the transcripts others read.
const maxMessageBytes = 32 << 10

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
	if len(content) > maxMessageBytes {
		e := tooLarge("the message is %s; the limit is 32 KB (32,768 bytes) of text — attach long text as a document instead", units.Bytes(int64(len(content))))
		e.Field = "content"
		return "", e
	}
	return content, nil
}

// countPost takes one of the user's chat posts for this minute (429 with
// Retry-After when they are spent), before anything is stored.
func (s *Server) countPost(c *fiber.Ctx) error {
	ok, wait := s.chatPosts.Take("user:" + strconv.FormatInt(userOf(c).ID, 10))
	if ok {
		return nil
	}
	e := retryAfter(c, wait)
	e.Message = fmt.Sprintf("you have posted %d messages in the last minute, the most allowed; try again in %s", s.chatPosts.Max, humanSeconds(int(wait.Seconds()+0.999)))
	return e
}

// postMessage stores the question first: whatever happens next (model down,
// quota), the person's message is kept.
func (s *Server) postMessage(c *fiber.Ctx) error {
	content, err := readContent(c)
	if err != nil {
		return err
	}
	ch, ws := chatOf(c), workspaceOf(c)
	if err := s.answer.Idle(ch.ID); err != nil {
		return err
	}
	if err := s.countPost(c); err != nil {
		return err
	}
	q, err := s.store.AddMessage(c.UserContext(), ws.ID, ch.ID, "user", content, "", "", store.MsgComplete)
	if err != nil {
		return err
	}
	return s.reply(c, ch, q, "")
}

// reply asks for the answer to question q of chat ch and responds. A
// regenerated reply's predecessor (dropID) is deleted only once everything
// that can refuse (model, scheduler, quota) has agreed.
func (s *Server) reply(c *fiber.Ctx, ch *store.Chat, q *store.Message, dropID string) error {
	ws := workspaceOf(c)
	g, err := s.answer.Ask(c.UserContext(), answer.Turn{WorkspaceID: ws.ID, Viewer: viewerOf(c), Chat: ch, Question: q, DropID: dropID})
	if err != nil {
		return err
	}
	return s.respond(c, g, q)
}

// regenerate replaces the last assistant reply with a new one.
func (s *Server) regenerate(c *fiber.Ctx) error {
	ch, ws := chatOf(c), workspaceOf(c)
	if err := s.answer.Idle(ch.ID); err != nil {
		return err
	}
	if err := s.countPost(c); err != nil {
		return err
	}
	msgs, err := s.store.LatestMessages(c.UserContext(), ws.ID, ch.ID, math.MaxInt32, 2)
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
	drop := ""
	if last.Role == "assistant" {
		drop = last.ID
	}
	return s.reply(c, ch, &q, drop)
}

// editMessage changes an earlier question, drops what followed it, and answers again.
func (s *Server) editMessage(c *fiber.Ctx) error {
	content, err := readContent(c)
	if err != nil {
		return err
	}
	ch, ws := chatOf(c), workspaceOf(c)
	if err := s.answer.Idle(ch.ID); err != nil {
		return err
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
	if err := s.countPost(c); err != nil {
		return err
	}
	if err := s.store.EditMessage(c.UserContext(), ws.ID, ch.ID, m.ID, content); err != nil {
		return err
	}
	m.Content = content
	return s.reply(c, ch, m, "")
}

// stopChat stops the running reply; what was written so far is kept as "stopped".
func (s *Server) stopChat(c *fiber.Ctx) error {
	g := s.answer.Running(chatOf(c).ID)
	if g == nil {
		return conflict("no reply is being written in this chat")
	}
	g.Stop()
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	out, err := g.Wait(ctx)
	if err != nil {
		return err
	}
	if out.Message == nil { // refused before a reply was stored (the model cannot chat, quota)
		return conflict("no reply is being written in this chat")
	}
	return c.JSON(fiber.Map{"assistant_message": messageView(out.Message)})
}

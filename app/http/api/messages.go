package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/answer"
	"quire/app/http/request"
	"quire/app/units"
	"quire/store"
)

// maxMessageBytes caps one question: long enough for pasted pages, short enough
// that a flood of posts cannot fill the disk or the transcripts others read.
const maxMessageBytes = 32 << 10

func readContent(c *fiber.Ctx) (string, error) {
	var in struct {
		Content string `json:"content"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return "", err
	}
	content := strings.TrimSpace(in.Content)
	if content == "" {
		return "", request.Invalid("content", "the message is empty")
	}
	if len(content) > maxMessageBytes {
		e := request.TooLarge("the message is %s; the limit is 32 KB (32,768 bytes) of text — attach long text as a document instead", units.Bytes(int64(len(content))))
		e.Field = "content"
		return "", e
	}
	return content, nil
}

// countPost takes one of the user's chat posts for this minute (429 with
// Retry-After when they are spent), before anything is stored.
func (s *Handlers) countPost(c *fiber.Ctx) error {
	ok, wait := s.ChatPosts.Take("user:" + strconv.FormatInt(request.User(c).ID, 10))
	if ok {
		return nil
	}
	e := request.RetryAfter(c, wait)
	e.Message = fmt.Sprintf("you have posted %d messages in the last minute, the most allowed; try again in %s", s.ChatPosts.Max, request.HumanSeconds(int(wait.Seconds()+0.999)))
	return e
}

// postMessage stores the question first: whatever happens next (model down,
// quota), the person's message is kept.
func (s *Handlers) PostMessage(c *fiber.Ctx) error {
	content, err := readContent(c)
	if err != nil {
		return err
	}
	ch, ws := request.Chat(c), request.Workspace(c)
	if err := s.Answer.Idle(ch.ID); err != nil {
		return err
	}
	if err := s.countPost(c); err != nil {
		return err
	}
	q, err := s.Store.AddMessage(c.UserContext(), ws.ID, ch.ID, "user", content, "", "", store.MsgComplete)
	if err != nil {
		return err
	}
	return s.reply(c, ch, q, "")
}

// reply asks for the answer to question q of chat ch and responds. A
// regenerated reply's predecessor (dropID) is deleted only once everything
// that can refuse (model, scheduler, quota) has agreed.
func (s *Handlers) reply(c *fiber.Ctx, ch *store.Chat, q *store.Message, dropID string) error {
	ws := request.Workspace(c)
	g, err := s.Answer.Ask(c.UserContext(), answer.Turn{WorkspaceID: ws.ID, Viewer: request.Viewer(c), Chat: ch, Question: q, DropID: dropID})
	if err != nil {
		return err
	}
	return s.respond(c, g, q)
}

// regenerate replaces the last assistant reply with a new one.
func (s *Handlers) Regenerate(c *fiber.Ctx) error {
	ch, ws := request.Chat(c), request.Workspace(c)
	if err := s.Answer.Idle(ch.ID); err != nil {
		return err
	}
	if err := s.countPost(c); err != nil {
		return err
	}
	msgs, err := s.Store.LatestMessages(c.UserContext(), ws.ID, ch.ID, math.MaxInt32, 2)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return request.Conflict("there is nothing to regenerate yet; ask a question first")
	}
	last := msgs[len(msgs)-1]
	q := last
	if last.Role == "assistant" {
		if len(msgs) < 2 || msgs[len(msgs)-2].Role != "user" {
			return request.Conflict("the last reply has no question to answer again")
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
func (s *Handlers) EditMessage(c *fiber.Ctx) error {
	content, err := readContent(c)
	if err != nil {
		return err
	}
	ch, ws := request.Chat(c), request.Workspace(c)
	if err := s.Answer.Idle(ch.ID); err != nil {
		return err
	}
	m, err := s.Store.GetMessage(c.UserContext(), ws.ID, ch.ID, c.Params("msg"))
	if errors.Is(err, store.ErrNotFound) {
		return request.NotFound("message")
	}
	if err != nil {
		return err
	}
	if m.Role != "user" {
		return request.Invalid("msg", "only your own questions can be edited")
	}
	if err := s.countPost(c); err != nil {
		return err
	}
	if err := s.Store.EditMessage(c.UserContext(), ws.ID, ch.ID, m.ID, content); err != nil {
		return err
	}
	m.Content = content
	return s.reply(c, ch, m, "")
}

// stopChat stops the running reply; what was written so far is kept as "stopped".
func (s *Handlers) StopChat(c *fiber.Ctx) error {
	g := s.Answer.Running(request.Chat(c).ID)
	if g == nil {
		return request.Conflict("no reply is being written in this chat")
	}
	g.Stop()
	ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
	defer cancel()
	out, err := g.Wait(ctx)
	if err != nil {
		return err
	}
	if out.Message == nil { // refused before a reply was stored (the model cannot chat, quota)
		return request.Conflict("no reply is being written in this chat")
	}
	return c.JSON(fiber.Map{"assistant_message": MessageView(out.Message)})
}

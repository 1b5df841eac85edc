package api

import (
	"context"
	"fmt"
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

// PostMessage stores the question first: whatever happens next (model down,
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
	q, err := s.Store.AppendMessage(c.UserContext(), ws.ID, ch.ID, "user", content, "", store.MsgComplete)
	if err != nil {
		return err
	}
	t := s.turn(c)
	t.Question = q
	g, err := s.Answer.Ask(c.UserContext(), t)
	if err != nil {
		return err
	}
	return s.respond(c, g, q)
}

// turn is the chat of the request as the asker sees it.
func (s *Handlers) turn(c *fiber.Ctx) answer.Turn {
	return answer.Turn{WorkspaceID: request.Workspace(c).ID, Viewer: request.Viewer(c), Chat: request.Chat(c)}
}

// Regenerate answers the last question again; the earlier replies are kept
// as versions of this one.
func (s *Handlers) Regenerate(c *fiber.Ctx) error {
	if err := s.Answer.Idle(request.Chat(c).ID); err != nil {
		return err
	}
	if err := s.countPost(c); err != nil {
		return err
	}
	g, q, err := s.Answer.Regenerate(c.UserContext(), s.turn(c))
	if err != nil {
		return err
	}
	return s.respond(c, g, q)
}

// EditMessage stores a new version of an earlier question and answers it; the
// old version and what followed it stay one branch away.
func (s *Handlers) EditMessage(c *fiber.Ctx) error {
	content, err := readContent(c)
	if err != nil {
		return err
	}
	if err := s.Answer.Idle(request.Chat(c).ID); err != nil {
		return err
	}
	if err := s.countPost(c); err != nil {
		return err
	}
	g, q, err := s.Answer.Edit(c.UserContext(), s.turn(c), c.Params("msg"), content)
	if err != nil {
		return err
	}
	return s.respond(c, g, q)
}

// StopChat stops the running reply; what was written so far is kept as "stopped".
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

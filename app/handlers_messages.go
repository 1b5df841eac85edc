package app

import (
	"context"
	"fmt"
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
	q, err := s.store.AppendMessage(c.UserContext(), ws.ID, ch.ID, "user", content, "", store.MsgComplete)
	if err != nil {
		return err
	}
	t := s.turn(c)
	t.Question = q
	g, err := s.answer.Ask(c.UserContext(), t)
	if err != nil {
		return err
	}
	return s.respond(c, g, q)
}

// turn is the chat of the request as the asker sees it.
func (s *Server) turn(c *fiber.Ctx) answer.Turn {
	return answer.Turn{WorkspaceID: workspaceOf(c).ID, Viewer: viewerOf(c), Chat: chatOf(c)}
}

// regenerate answers the last question again; the earlier replies are kept
// as versions of this one.
func (s *Server) regenerate(c *fiber.Ctx) error {
	if err := s.answer.Idle(chatOf(c).ID); err != nil {
		return err
	}
	if err := s.countPost(c); err != nil {
		return err
	}
	g, q, err := s.answer.Regenerate(c.UserContext(), s.turn(c))
	if err != nil {
		return err
	}
	return s.respond(c, g, q)
}

// editMessage stores a new version of an earlier question and answers it; the
// old version and what followed it stay one branch away.
func (s *Server) editMessage(c *fiber.Ctx) error {
	content, err := readContent(c)
	if err != nil {
		return err
	}
	if err := s.answer.Idle(chatOf(c).ID); err != nil {
		return err
	}
	if err := s.countPost(c); err != nil {
		return err
	}
	g, q, err := s.answer.Edit(c.UserContext(), s.turn(c), c.Params("msg"), content)
	if err != nil {
		return err
	}
	return s.respond(c, g, q)
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
	return c.JSON(fiber.Map{"assistant_message": messageView(out.Message)})
}

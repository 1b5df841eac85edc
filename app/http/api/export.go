package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/chatexport"
	"quire/app/http/request"
)

// chatExport is the JSON download of a chat: the chat as GET returns it and
// every message in order (without the rendered HTML: the Markdown source is
// the content).
type chatExport struct {
	Chat       ChatJSON      `json:"chat"`
	Messages   []MessageJSON `json:"messages"`
	ExportedAt time.Time     `json:"exported_at"`
}

// ExportChat downloads the whole chat as Markdown (?format=md, the default)
// or JSON (?format=json).
func (s *Handlers) ExportChat(c *fiber.Ctx) error {
	format := c.Query("format", "md")
	if format != "md" && format != "json" {
		return request.Invalid("format", "format must be md or json")
	}
	ch, ws := request.Chat(c), request.Workspace(c)
	msgs, err := chatexport.Messages(c.UserContext(), s.Store, ws.ID, ch.ID)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	c.Attachment(chatexport.Filename(ch, format))
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	if format == "json" {
		out := chatExport{Chat: chatView(ch), Messages: make([]MessageJSON, len(msgs)), ExportedAt: now}
		for i := range msgs {
			out.Messages[i] = MessageView(&msgs[i])
			out.Messages[i].ContentHTML = ""
		}
		return c.JSON(out)
	}
	c.Set(fiber.HeaderContentType, "text/markdown; charset=utf-8")
	return c.Send(chatexport.Markdown(ch, msgs, now))
}

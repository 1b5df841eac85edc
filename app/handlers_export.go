package app

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/chatexport"
)

// chatExport is the JSON download of a chat: the chat as GET returns it and
// every message in order (without the rendered HTML: the Markdown source is
// the content).
type chatExport struct {
	Chat       chatJSON      `json:"chat"`
	Messages   []messageJSON `json:"messages"`
	ExportedAt time.Time     `json:"exported_at"`
}

// exportChat downloads the whole chat as Markdown (?format=md, the default)
// or JSON (?format=json).
func (s *Server) exportChat(c *fiber.Ctx) error {
	format := c.Query("format", "md")
	if format != "md" && format != "json" {
		return invalid("format", "format must be md or json")
	}
	ch, ws := chatOf(c), workspaceOf(c)
	msgs, err := chatexport.Messages(c.UserContext(), s.store, ws.ID, ch.ID)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	c.Attachment(chatexport.Filename(ch, format))
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	if format == "json" {
		out := chatExport{Chat: chatView(ch), Messages: make([]messageJSON, len(msgs)), ExportedAt: now}
		for i := range msgs {
			out.Messages[i] = messageView(&msgs[i])
			out.Messages[i].ContentHTML = ""
		}
		return c.JSON(out)
	}
	c.Set(fiber.HeaderContentType, "text/markdown; charset=utf-8")
	return c.Send(chatexport.Markdown(ch, msgs, now))
}

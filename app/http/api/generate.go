package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"quire/app/answer"
	"quire/app/http/request"
	"quire/store"
)

// respond answers a reply request: as SSE when the client asked for
// text/event-stream, else as JSON once the reply is stored.
func (s *Handlers) respond(c *fiber.Ctx, g *answer.Generation, question *store.Message) error {
	if !strings.Contains(c.Get(fiber.HeaderAccept), "text/event-stream") {
		out, err := g.Wait(c.UserContext())
		if err != nil {
			return err
		}
		if out.Failure != nil { // docs/API.md: model_unavailable answers 503; the question and the failed reply are kept
			return out.Failure
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"user_message": MessageView(question), "assistant_message": MessageView(out.Message)})
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		g.Follow(func(ev answer.Event) {
			data, _ := json.Marshal(eventView(ev))
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Name, data)
		}, w.Flush)
	}))
	return nil
}

// eventView is the data of a chat reply's SSE event (docs/API.md).
func eventView(ev answer.Event) any {
	switch ev.Name {
	case answer.EventUserMessage, answer.EventDone:
		return MessageView(ev.Message)
	case answer.EventCitations:
		return ev.Sources
	case answer.EventDelta:
		return fiber.Map{"content": ev.Delta}
	case answer.EventStep:
		return ev.Step
	case answer.EventError:
		ae := request.FaultError(ev.Err)
		return fiber.Map{"code": ae.Code, "message": ae.Message, "message_id": ev.MessageID}
	}
	return nil
}

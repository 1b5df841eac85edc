package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"quire/app/answer"
	"quire/store"
)

// respond answers a reply request: as SSE when the client asked for
// text/event-stream, else as JSON once the reply is stored.
func (s *Server) respond(c *fiber.Ctx, g *answer.Generation, question *store.Message) error {
	if !strings.Contains(c.Get(fiber.HeaderAccept), "text/event-stream") {
		out, err := g.Wait(c.UserContext())
		if err != nil {
			return err
		}
		if out.Failure != nil { // docs/API.md: model_unavailable answers 503; the question and the failed reply are kept
			return out.Failure
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"user_message": messageView(question), "assistant_message": messageView(out.Message)})
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		follow(g, func(ev answer.Event) {
			data, _ := json.Marshal(eventView(ev))
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Name, data)
		}, w.Flush)
	}))
	return nil
}

// follow hands each event of g to write, flushing after each batch, until
// the generation ends or flush fails (the client went away; the reply is
// still written and stored).
func follow(g *answer.Generation, write func(answer.Event), flush func() error) {
	cursor := 0
	for {
		evs, done, wake := g.Next(cursor)
		for _, ev := range evs {
			write(ev)
		}
		cursor += len(evs)
		if err := flush(); err != nil || done {
			return
		}
		<-wake
	}
}

// eventView is the data of a chat reply's SSE event (docs/API.md).
func eventView(ev answer.Event) any {
	switch ev.Name {
	case answer.EventUserMessage, answer.EventDone:
		return messageView(ev.Message)
	case answer.EventCitations:
		return ev.Sources
	case answer.EventDelta:
		return fiber.Map{"content": ev.Delta}
	case answer.EventError:
		ae := faultError(ev.Err)
		return fiber.Map{"code": ae.Code, "message": ae.Message, "message_id": ev.MessageID}
	}
	return nil
}

package ui

import (
	"github.com/gofiber/fiber/v2"

	"quire/app/http/api"
	"quire/app/http/request"
)

// PageFeedback shows a workspace's answer ratings to its admins.
func (s *Pages) PageFeedback(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	sum, err := s.Rating.Summary(c.UserContext(), ws.ID)
	if err != nil {
		return err
	}
	return s.render(c, "feedback", "Answer ratings · "+ws.Name, api.SummaryView(sum))
}

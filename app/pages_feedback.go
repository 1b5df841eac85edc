package app

import "github.com/gofiber/fiber/v2"

// pageFeedback shows a workspace's answer ratings to its admins.
func (s *Server) pageFeedback(c *fiber.Ctx) error {
	ws := workspaceOf(c)
	sum, err := s.rating.Summary(c.UserContext(), ws.ID)
	if err != nil {
		return err
	}
	return s.render(c, "feedback", "Answer ratings · "+ws.Name, summaryView(sum))
}

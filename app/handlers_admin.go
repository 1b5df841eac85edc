package app

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/settings"
	"quire/store"
)

// settingsJSON is the settings in effect, and which of them the configuration
// fixes (with where: "--ollama-url", "QUIRE_OLLAMA_URL", "config file").
type settingsJSON struct {
	Settings
	Locked map[string]string `json:"locked"`
}

func (s *Server) settingsView(st Settings) settingsJSON {
	return settingsJSON{st, s.settings.Locked()}
}

func (s *Server) getSettings(c *fiber.Ctx) error { return c.JSON(s.settingsView(s.currentSettings())) }

func (s *Server) patchSettings(c *fiber.Ctx) error {
	var in settings.Patch
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	old, st, err := s.settings.Apply(c.UserContext(), in)
	if err != nil {
		return err
	}
	if st.OllamaURL != old.OllamaURL {
		// Embeddings that waited for the old address are tried at the new one now,
		// not at their next scheduled retry.
		if err := s.knowledge.ResumeEmbedding(c.UserContext()); err != nil {
			s.log.Error("resume embedding", "err", err)
		}
	}
	if st.DefaultEmbeddingModel != old.DefaultEmbeddingModel {
		// Re-embed in the background; search uses only the new model's vectors meanwhile.
		if _, err := s.knowledge.Reindex(c.UserContext()); err != nil {
			s.log.Error("queue re-embedding", "err", err)
		}
	}
	return c.JSON(s.settingsView(st))
}

// reindex re-embeds every document with the current embedding model, in the background.
func (s *Server) reindex(c *fiber.Ctx) error {
	if s.currentSettings().DefaultEmbeddingModel == "" {
		return invalid("default_embedding_model", "Choose an embedding model first, in Administration → Models.")
	}
	n, err := s.knowledge.Reindex(c.UserContext())
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"queued": n})
}

func (s *Server) listUsers(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	after, err := intCursor(cursor)
	if err != nil {
		return err
	}
	rows, err := s.store.ListUsers(c.UserContext(), after, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(u *store.User) string { return strconv.FormatInt(u.ID, 10) }, userView))
}

func (s *Server) patchUser(c *fiber.Ctx) error {
	var in struct {
		IsAdmin  *bool `json:"is_admin"`
		Disabled *bool `json:"disabled"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return notFound("user")
	}
	u, err := s.store.UpdateUserAdmin(c.UserContext(), id, in.IsAdmin, in.Disabled)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("user")
	case errors.Is(err, store.ErrConflict):
		return conflict("Quire must keep at least one active administrator, so this change was not made. Make someone else an administrator first.")
	case err != nil:
		return err
	}
	return c.JSON(userView(u))
}

func (s *Server) listOutbox(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	before, err := intCursor(cursor)
	if err != nil {
		return err
	}
	rows, err := s.store.ListMail(c.UserContext(), before, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(m *store.Mail) string { return strconv.FormatInt(m.ID, 10) }, mailView))
}

package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/app/settings"
	"quire/store"
)

// SettingsJSON is the settings in effect, and which of them the configuration
// fixes (with where: "--ollama-url", "QUIRE_OLLAMA_URL", "config file").
type SettingsJSON struct {
	settings.Settings
	Locked map[string]string `json:"locked"`
}

func (s *Handlers) settingsView(st settings.Settings) SettingsJSON {
	return SettingsJSON{st, s.Settings.Locked()}
}

func (s *Handlers) GetSettings(c *fiber.Ctx) error { return c.JSON(s.settingsView(s.Settings.Get())) }

func (s *Handlers) PatchSettings(c *fiber.Ctx) error {
	var in settings.Patch
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	old, st, err := s.Settings.Apply(c.UserContext(), in)
	if err != nil {
		return err
	}
	if st.OllamaURL != old.OllamaURL {
		// Embeddings that waited for the old address are tried at the new one now,
		// not at their next scheduled retry.
		if err := s.Knowledge.ResumeEmbedding(c.UserContext()); err != nil {
			s.Log.Error("resume embedding", "err", err)
		}
	}
	if st.DefaultEmbeddingModel != old.DefaultEmbeddingModel {
		// Re-embed in the background; search uses only the new model's vectors meanwhile.
		if _, err := s.Knowledge.Reindex(c.UserContext()); err != nil {
			s.Log.Error("queue re-embedding", "err", err)
		}
	}
	return c.JSON(s.settingsView(st))
}

// Reindex re-embeds every document with the current embedding model, in the background.
func (s *Handlers) Reindex(c *fiber.Ctx) error {
	if s.Settings.Get().DefaultEmbeddingModel == "" {
		return request.Invalid("default_embedding_model", "Choose an embedding model first, in Administration → Models.")
	}
	n, err := s.Knowledge.Reindex(c.UserContext())
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"queued": n})
}

func (s *Handlers) ListUsers(c *fiber.Ctx) error {
	limit, after, err := intPaging(c)
	if err != nil {
		return err
	}
	rows, err := s.Store.ListUsers(c.UserContext(), after, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(u *store.User) string { return strconv.FormatInt(u.ID, 10) }, adminUserView))
}

func (s *Handlers) PatchUser(c *fiber.Ctx) error {
	var in struct {
		IsAdmin  *bool `json:"is_admin"`
		Disabled *bool `json:"disabled"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	id, err := userParam(c)
	if err != nil {
		return err
	}
	u, err := s.Account.AdminUpdate(c.UserContext(), request.User(c), id, in.IsAdmin, in.Disabled)
	if err != nil {
		return err
	}
	return c.JSON(adminUserView(u))
}

func (s *Handlers) ListOutbox(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	before, err := intCursor(cursor)
	if err != nil {
		return err
	}
	rows, err := s.Store.ListMail(c.UserContext(), before, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(m *store.Mail) string { return strconv.FormatInt(m.ID, 10) }, mailView))
}

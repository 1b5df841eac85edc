package api

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/config"
	"quire/app/http/request"
	"quire/app/settings"
	"quire/store"
)

func (s *Handlers) GetSettings(c *fiber.Ctx) error { return c.JSON(s.Settings.Current()) }

func (s *Handlers) PatchSettings(c *fiber.Ctx) error {
	var in struct {
		SignupPolicy          *string `json:"signup_policy"`
		DefaultChatModel      *string `json:"default_chat_model"`
		DefaultEmbeddingModel *string `json:"default_embedding_model"`
		OllamaURL             *string `json:"ollama_url"`
		AllowPublicChats      *bool   `json:"allow_public_chats"`
		AllowPrivateURLs      *bool   `json:"allow_private_urls"`
		MaxUploadMB           *int    `json:"max_upload_mb"`
		TokenLimit            *int64  `json:"token_limit"`
		CreditLimit           *string `json:"credit_limit"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	old, st, err := s.Settings.Update(c.UserContext(), func(st *settings.Settings) error {
		if v := in.SignupPolicy; v != nil {
			if *v != settings.SignupOpen && *v != settings.SignupInviteOnly && *v != settings.SignupClosed {
				return request.Invalid("signup_policy", "signup_policy must be \"open\", \"invite_only\" or \"closed\"")
			}
			st.SignupPolicy = *v
		}
		if v := in.OllamaURL; v != nil {
			if u, err := url.Parse(*v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return request.Invalid("ollama_url", "ollama_url must be an http(s) URL such as http://127.0.0.1:11434")
			}
			st.OllamaURL = *v
		}
		if v := in.MaxUploadMB; v != nil {
			if *v < 1 || *v > s.Config.MaxUploadMB {
				return request.Invalid("max_upload_mb", "max_upload_mb must be from 1 to %d (the server's configured cap)", s.Config.MaxUploadMB)
			}
			st.MaxUploadMB = *v
		}
		if v := in.TokenLimit; v != nil {
			if *v < 0 {
				return request.Invalid("token_limit", "token_limit must be 0 (unlimited) or more")
			}
			st.TokenLimit = *v
		}
		if v := in.CreditLimit; v != nil {
			m, err := config.Micros(*v)
			if err != nil {
				return request.Invalid("credit_limit", "credit_limit must be an amount like 25.00, or empty for unlimited")
			}
			st.CreditLimitMicros, st.CreditLimit = m, ""
			if m > 0 {
				st.CreditLimit = config.FormatMicros(m)
			}
		}
		for p, v := range map[*string]*string{&st.DefaultChatModel: in.DefaultChatModel, &st.DefaultEmbeddingModel: in.DefaultEmbeddingModel} {
			if v != nil {
				*p = *v
			}
		}
		for p, v := range map[*bool]*bool{&st.AllowPublicChats: in.AllowPublicChats, &st.AllowPrivateURLs: in.AllowPrivateURLs} {
			if v != nil {
				*p = *v
			}
		}
		return nil
	})
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
	return c.JSON(st)
}

// reindex re-embeds every document with the current embedding model, in the background.
func (s *Handlers) Reindex(c *fiber.Ctx) error {
	if s.Settings.Current().DefaultEmbeddingModel == "" {
		return request.Invalid("default_embedding_model", "choose an embedding model first (Administration → Models)")
	}
	n, err := s.Knowledge.Reindex(c.UserContext())
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"queued": n})
}

func (s *Handlers) ListUsers(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	after, err := intCursor(cursor)
	if err != nil {
		return err
	}
	rows, err := s.Store.ListUsers(c.UserContext(), after, limit+1)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(u *store.User) string { return strconv.FormatInt(u.ID, 10) }, userView))
}

func (s *Handlers) PatchUser(c *fiber.Ctx) error {
	var in struct {
		IsAdmin  *bool `json:"is_admin"`
		Disabled *bool `json:"disabled"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return request.NotFound("user")
	}
	u, err := s.Store.UpdateUserAdmin(c.UserContext(), id, in.IsAdmin, in.Disabled)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return request.NotFound("user")
	case errors.Is(err, store.ErrConflict):
		return request.Conflict("the instance must keep at least one active administrator")
	case err != nil:
		return err
	}
	return c.JSON(userView(u))
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

package app

import (
	"net/url"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/config"
	"quire/store"
)

func (s *Server) getSettings(c *fiber.Ctx) error { return c.JSON(s.currentSettings()) }

func (s *Server) patchSettings(c *fiber.Ctx) error {
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
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	old, st, err := s.updateSettings(c.UserContext(), func(st *Settings) error {
		if v := in.SignupPolicy; v != nil {
			if !slices.Contains(signupPolicies, *v) {
				return invalid("signup_policy", "signup_policy must be \"open\", \"approval\", \"invite_only\" or \"closed\"")
			}
			st.SignupPolicy = *v
		}
		if v := in.OllamaURL; v != nil {
			if u, err := url.Parse(*v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return invalid("ollama_url", "ollama_url must be an http(s) URL such as http://127.0.0.1:11434")
			}
			st.OllamaURL = *v
		}
		if v := in.MaxUploadMB; v != nil {
			if *v < 1 || *v > s.cfg.MaxUploadMB {
				return invalid("max_upload_mb", "max_upload_mb must be from 1 to %d (the server's configured cap)", s.cfg.MaxUploadMB)
			}
			st.MaxUploadMB = *v
		}
		if v := in.TokenLimit; v != nil {
			if *v < 0 {
				return invalid("token_limit", "token_limit must be 0 (unlimited) or more")
			}
			st.TokenLimit = *v
		}
		if v := in.CreditLimit; v != nil {
			m, err := config.Micros(*v)
			if err != nil {
				return invalid("credit_limit", "credit_limit must be an amount like 25.00, or empty for unlimited")
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
	return c.JSON(st)
}

// reindex re-embeds every document with the current embedding model, in the background.
func (s *Server) reindex(c *fiber.Ctx) error {
	if s.currentSettings().DefaultEmbeddingModel == "" {
		return invalid("default_embedding_model", "choose an embedding model first (Administration → Models)")
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
	return c.JSON(page(rows, limit, func(u *store.User) string { return strconv.FormatInt(u.ID, 10) }, adminUserView))
}

func (s *Server) patchUser(c *fiber.Ctx) error {
	var in struct {
		IsAdmin  *bool `json:"is_admin"`
		Disabled *bool `json:"disabled"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	id, err := userParam(c)
	if err != nil {
		return err
	}
	u, err := s.account.AdminUpdate(c.UserContext(), userOf(c), id, in.IsAdmin, in.Disabled)
	if err != nil {
		return err
	}
	return c.JSON(adminUserView(u))
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

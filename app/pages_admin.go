package app

import (
	"context"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"quire/app/settings"
	"quire/store"
)

// adminModelsData is what Administration → Models shows. Without Ollama
// there is no list to choose from, so the defaults are shown, not offered
// as a form: a form of empty choices would save both defaults as "none".
func (s *Server) adminModelsData(ctx context.Context) (fiber.Map, error) {
	st := s.currentSettings()
	data := fiber.Map{"ChatModel": st.DefaultChatModel, "EmbedModel": st.DefaultEmbeddingModel, "OllamaURL": s.llm.BaseURL(),
		"FixURL": "correct its URL in Settings"}
	if src := s.settings.Locked()["ollama_url"]; src != "" {
		data["FixURL"] = "correct its URL (" + settings.SourceText(src) + ")"
	}
	models, err := s.listModels(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.log.Warn("listing models for the admin page", "err", err)
		data["Unreachable"] = true
		return data, nil
	}
	data["Models"] = models
	// A default that is no longer installed stays chosen (and says so) rather
	// than falling back to "none" on the next save.
	installed := func(name string, ok func(modelJSON) bool) bool {
		for _, m := range models {
			if ok(m) && strings.TrimSuffix(m.Name, ":latest") == strings.TrimSuffix(name, ":latest") {
				return true
			}
		}
		return false
	}
	data["ChatMissing"] = st.DefaultChatModel != "" && !installed(st.DefaultChatModel, func(m modelJSON) bool { return m.Chat })
	data["EmbedMissing"] = st.DefaultEmbeddingModel != "" && !installed(st.DefaultEmbeddingModel, func(m modelJSON) bool { return m.Embedding })
	return data, nil
}

// outboxMail is a mail of the outbox with its body cut into text and links.
type outboxMail struct {
	store.Mail
	Parts []mailPart
}

// mailPart is plain text, or a link when URL is set.
type mailPart struct{ Text, URL string }

var urlInText = regexp.MustCompile(`https?://[^\s<>"']+`)

// mailParts makes the links in a mail body clickable, but only those to this
// instance (invitation, reset and verification links): names in a mail come
// from users, and a workspace called "https://phish.example/reset" must stay text.
func mailParts(body, publicURL string) []mailPart {
	var parts []mailPart
	last := 0
	for _, m := range urlInText.FindAllStringIndex(body, -1) {
		u := strings.TrimRight(body[m[0]:m[1]], ".,;:!?)]")
		end := m[0] + len(u)
		if !strings.HasPrefix(u, publicURL+"/") {
			continue
		}
		if m[0] > last {
			parts = append(parts, mailPart{Text: body[last:m[0]]})
		}
		parts = append(parts, mailPart{URL: u})
		last = end
	}
	if last < len(body) {
		parts = append(parts, mailPart{Text: body[last:]})
	}
	return parts
}

func (s *Server) outboxView(mail []store.Mail) []outboxMail {
	out := make([]outboxMail, len(mail))
	for i, m := range mail {
		out[i] = outboxMail{m, mailParts(m.Body, s.cfg.PublicURL())}
	}
	return out
}

// lastWorkspaceCookie remembers the workspace of the last workspace page, so
// that pages outside any workspace (Administration) keep it in the sidebar
// instead of falling back to "Choose a workspace…".
const lastWorkspaceCookie = "quire_ws"

// layoutWorkspace is the workspace the layout shows: the page's own, or on an
// admin page the one remembered, if the user is still a member of it (mine
// lists only the user's workspaces, so a forged cookie selects nothing).
func (s *Server) layoutWorkspace(c *fiber.Ctx, page string, mine []store.Workspace) *store.Workspace {
	if ws := workspaceOf(c); ws != nil {
		if c.Cookies(lastWorkspaceCookie) != ws.ID {
			c.Cookie(&fiber.Cookie{Name: lastWorkspaceCookie, Value: ws.ID, Path: "/", HTTPOnly: true,
				SameSite: fiber.CookieSameSiteLaxMode, Secure: strings.HasPrefix(s.cfg.PublicURL(), "https://")})
		}
		return ws
	}
	if !strings.HasPrefix(page, "admin_") {
		return nil
	}
	id := c.Cookies(lastWorkspaceCookie)
	for i := range mine {
		if id != "" && mine[i].ID == id {
			return &mine[i]
		}
	}
	return nil
}

package ui

import (
	"context"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/api"
	"quire/app/http/request"
	"quire/app/settings"
	"quire/store"
)

// adminModelsData is what Administration → Models shows. Without Ollama
// there is no api.List to choose from, so the defaults are shown, not offered
// as a form: a form of empty choices would save both defaults as "none".
func (s *Pages) adminModelsData(ctx context.Context) (fiber.Map, error) {
	st := s.Settings.Get()
	data := fiber.Map{"ChatModel": st.DefaultChatModel, "EmbedModel": st.DefaultEmbeddingModel, "OllamaURL": s.LLM.BaseURL(),
		"FixURL": "correct its URL in Settings"}
	if src := s.Settings.Locked()["ollama_url"]; src != "" {
		data["FixURL"] = "correct its URL (" + settings.SourceText(src) + ")"
	}
	models, err := s.api.ListModels(ctx) // asks every host, so their status below is fresh
	data["Hosts"] = s.api.OllamaHostViews()
	if src := s.Settings.PoolLocked(); src != "" {
		data["PoolLocked"] = settings.SourceText(src)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.Log.Warn("listing models for the admin page", "err", err)
		data["Unreachable"] = true
		return data, nil
	}
	data["Models"] = models
	// A default that is no longer installed stays chosen (and says so) rather
	// than falling back to "none" on the next save.
	installed := func(name string, ok func(api.ModelJSON) bool) bool {
		for _, m := range models {
			if ok(m) && strings.TrimSuffix(m.Name, ":latest") == strings.TrimSuffix(name, ":latest") {
				return true
			}
		}
		return false
	}
	data["ChatMissing"] = st.DefaultChatModel != "" && !installed(st.DefaultChatModel, func(m api.ModelJSON) bool { return m.Chat })
	data["EmbedMissing"] = st.DefaultEmbeddingModel != "" && !installed(st.DefaultEmbeddingModel, func(m api.ModelJSON) bool { return m.Embedding })
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

func (s *Pages) outboxView(mail []store.Mail) []outboxMail {
	out := make([]outboxMail, len(mail))
	for i, m := range mail {
		out[i] = outboxMail{m, mailParts(m.Body, s.Config.PublicURL())}
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
func (s *Pages) layoutWorkspace(c *fiber.Ctx, page string, mine []store.Workspace) *store.Workspace {
	if ws := request.Workspace(c); ws != nil {
		if c.Cookies(lastWorkspaceCookie) != ws.ID {
			c.Cookie(&fiber.Cookie{Name: lastWorkspaceCookie, Value: ws.ID, Path: "/", HTTPOnly: true,
				SameSite: fiber.CookieSameSiteLaxMode, Secure: strings.HasPrefix(s.Config.PublicURL(), "https://")})
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

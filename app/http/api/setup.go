package api

import (
	"context"
	"slices"

	"github.com/gofiber/fiber/v2"

	"quire/app/account"
	"quire/app/http/request"
	"quire/app/settings"
)

// SetupChoices is what the setup form offers: installed models by kind, and
// the ones preselected (the current default, else the only one of its kind).
type SetupChoices struct {
	Chat, Embedding           []string
	ChatDefault, EmbedDefault string
	OllamaDown                bool
}

func (s *Handlers) SetupChoices(ctx context.Context) SetupChoices {
	var ch SetupChoices
	models, err := s.ListModels(ctx)
	if err != nil {
		ch.OllamaDown = true
		return ch
	}
	for _, m := range models {
		switch {
		case m.Embedding:
			ch.Embedding = append(ch.Embedding, m.Name)
		case m.Chat:
			ch.Chat = append(ch.Chat, m.Name)
		}
	}
	pick := func(current string, names []string) string {
		if slices.Contains(names, current) {
			return current
		}
		if len(names) == 1 {
			return names[0]
		}
		return ""
	}
	st := s.Settings.Get()
	ch.ChatDefault, ch.EmbedDefault = pick(st.DefaultChatModel, ch.Chat), pick(st.DefaultEmbeddingModel, ch.Embedding)
	return ch
}

// PostSetup makes the first administrator with the setup link's token and
// saves the choices of the setup form. Models must be ones Ollama has, of the
// right kind; they are checked before the token is used, so a wrong choice
// leaves the link working.
func (s *Handlers) PostSetup(c *fiber.Ctx) error {
	var in struct {
		Token                 string `json:"token"`
		Email                 string `json:"email"`
		Name                  string `json:"name"`
		Password              string `json:"password"`
		DefaultChatModel      string `json:"default_chat_model"`
		DefaultEmbeddingModel string `json:"default_embedding_model"`
		SignupPolicy          string `json:"signup_policy"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := s.Account.CheckSetupToken(ctx, in.Token); err != nil {
		return err // before asking Ollama anything for a caller without the link
	}
	if in.SignupPolicy != "" && !slices.Contains(account.SignupPolicies, in.SignupPolicy) {
		return request.Invalid("signup_policy", "signup_policy must be \"open\", \"approval\", \"invite_only\" or \"closed\"")
	}
	if in.DefaultChatModel != "" || in.DefaultEmbeddingModel != "" {
		ch := s.SetupChoices(ctx)
		var ok bool
		if in.DefaultChatModel, ok = installed(ch.Chat, in.DefaultChatModel); !ok {
			return request.Invalid("default_chat_model", "%q is not a chat model installed on Ollama; choose one of the List, or none for now", in.DefaultChatModel)
		}
		if in.DefaultEmbeddingModel, ok = installed(ch.Embedding, in.DefaultEmbeddingModel); !ok {
			return request.Invalid("default_embedding_model", "%q is not an embedding model installed on Ollama; choose one of the List, or none for now", in.DefaultEmbeddingModel)
		}
	}
	out, err := s.Account.Setup(ctx, account.SetupInput{Token: in.Token, Email: in.Email, Name: in.Name, Password: in.Password})
	if err != nil {
		return err
	}
	if _, _, err := s.Settings.Update(ctx, func(st *settings.Settings) error {
		if in.SignupPolicy != "" {
			st.SignupPolicy = in.SignupPolicy
		}
		if in.DefaultChatModel != "" {
			st.DefaultChatModel = in.DefaultChatModel
		}
		if in.DefaultEmbeddingModel != "" {
			st.DefaultEmbeddingModel = in.DefaultEmbeddingModel
		}
		return nil
	}); err != nil {
		return err
	}
	s.setSession(c, out.Session)
	return c.Status(fiber.StatusCreated).JSON(authResponse{userView(out.User), out.Session.Secret})
}

// installed finds name among Ollama's names, which carry a tag ("llama3.2"
// is listed as "llama3.2:latest"); "" is no choice, always fine.
func installed(names []string, name string) (string, bool) {
	if name == "" {
		return "", true
	}
	for _, n := range names {
		if n == name || n == name+":latest" {
			return n, true
		}
	}
	return name, false
}

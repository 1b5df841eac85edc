package app

import (
	"context"
	"strings"
	"sync"
	"testing"

	"quire/app/config"
	"quire/app/http/api"
	"quire/app/http/request"
	"quire/app/llm/ollamatest"
	"quire/app/llm/tinymodel"
	"quire/store"
)

func setupBody(token, email string) map[string]string {
	return map[string]string{"token": token, "email": email, "password": testPassword, "name": "Root"}
}

func admins(t *testing.T, ts *testServer) []store.User {
	t.Helper()
	users, err := ts.store.ListUsers(context.Background(), 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.User
	for _, u := range users {
		if u.IsAdmin {
			out = append(out, u)
		}
	}
	return out
}

// On a fresh instance nobody becomes administrator by signing up first: a
// signup is refused until the setup link made the first admin, and the link
// works once, only with this start's token.
func TestSetupFirstAdminOnlyThroughTheLink(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()

	res := ts.must(403, req{method: "POST", path: "/api/auth/signup", body: map[string]string{"email": uniqueEmail("early"), "password": testPassword}})
	if !strings.Contains(string(res.Body), "not set up") {
		t.Fatalf("refusal does not say why: %s", res.Body)
	}
	if n, _ := ts.store.UserCount(ctx); n != 0 {
		t.Fatalf("a refused signup left %d accounts", n)
	}
	if page := ts.must(200, req{method: "GET", path: "/signup"}); !strings.Contains(string(page.Body), `id="not-set-up"`) || strings.Contains(string(page.Body), `data-api="/api/auth/signup"`) {
		t.Fatal("the signup page offers a form on an instance that is not set up")
	}

	stale, err := ts.srv.SetupToken(ctx)
	if err != nil || stale == "" {
		t.Fatalf("no setup token on a fresh instance: %q %v", stale, err)
	}
	token, _ := ts.srv.SetupToken(ctx) // a restart: the old link dies
	if token == stale {
		t.Fatal("the token was not regenerated")
	}
	for name, bad := range map[string]string{
		"empty": "", "stale": stale, "wrong": strings.Repeat("A", len(token)), "prefix": token[:len(token)-1],
		"control characters": token + "\x00\r\n", "long": strings.Repeat(token, 40),
	} {
		res := ts.do(req{method: "POST", path: "/api/setup", body: setupBody(bad, uniqueEmail("root"))})
		if res.Status != 403 || res.errField() != "token" {
			t.Errorf("%s token: status %d field %q, want 403 on token: %s", name, res.Status, res.errField(), res.Body)
		}
		if page := ts.do(req{method: "GET", path: "/setup?token=" + strings.NewReplacer("\x00", "%00", "\r", "%0D", "\n", "%0A").Replace(bad)}); page.Status != 403 {
			t.Errorf("%s token: setup page %d, want 403", name, page.Status)
		}
	}
	// An oversized body is refused unread.
	if res := ts.do(req{method: "POST", path: "/api/setup", body: map[string]string{"token": token, "email": "root@example.com", "password": strings.Repeat("p", 1<<20), "name": "Root"}}); res.Status != 413 {
		t.Fatalf("a 1 MB setup body: %d", res.Status)
	}
	// A mistake in the form does not use the link up.
	ts.must(400, req{method: "POST", path: "/api/setup", body: map[string]string{"token": token, "email": "root@example.com", "password": "short", "name": "Root"}})
	ts.must(400, req{method: "POST", path: "/api/setup", body: map[string]string{"token": token, "email": "root@example.com", "password": testPassword, "name": "Root", "signup_policy": "everyone"}})
	// Ollama does not answer here, so no model can be chosen.
	if res := ts.must(400, req{method: "POST", path: "/api/setup", body: map[string]string{"token": token, "email": "root@example.com", "password": testPassword, "name": "Root", "default_chat_model": "llama3.2"}}); res.errField() != "default_chat_model" {
		t.Fatalf("field %q", res.errField())
	}
	if len(admins(t, ts)) != 0 {
		t.Fatal("a refused setup made an admin")
	}

	ts.must(200, req{method: "GET", path: "/setup?token=" + token})
	body := setupBody(token, "root@example.com")
	body["signup_policy"] = "approval"
	res = ts.must(201, req{method: "POST", path: "/api/setup", body: body})
	var out struct {
		User  api.UserJSON
		Token string
	}
	res.json(&out)
	if !out.User.IsAdmin || !out.User.EmailVerified {
		t.Fatalf("the setup's account is not a verified admin: %+v", out.User)
	}
	if !strings.Contains(res.Header.Get("Set-Cookie"), request.SessionCookie+"=") {
		t.Fatal("the new admin is not signed in")
	}
	var me api.UserJSON
	ts.must(200, req{method: "GET", path: "/api/me", token: out.Token}).json(&me)
	if !me.IsAdmin {
		t.Fatal("the session is not an admin's")
	}
	if ts.srv.currentSettings().SignupPolicy != "approval" {
		t.Fatalf("signup policy %q, want the one chosen at setup", ts.srv.currentSettings().SignupPolicy)
	}

	// Used: the link is gone for good, and no new one is issued.
	if res := ts.must(410, req{method: "POST", path: "/api/setup", body: setupBody(token, uniqueEmail("again"))}); res.errCode() != "gone" {
		t.Fatalf("code %q", res.errCode())
	}
	ts.must(410, req{method: "GET", path: "/setup?token=" + token})
	ts.must(410, req{method: "GET", path: "/setup"})
	if again, _ := ts.srv.SetupToken(ctx); again != "" {
		t.Fatal("a setup token was issued on an instance that has an admin")
	}
	if len(admins(t, ts)) != 1 {
		t.Fatalf("%d admins", len(admins(t, ts)))
	}
}

// Many setups racing with the same link make exactly one administrator.
func TestSetupRaceMakesOneAdmin(t *testing.T) {
	ts := newTestServer(t)
	token, err := ts.srv.SetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = ts.do(req{method: "POST", path: "/api/setup", body: setupBody(token, uniqueEmail("racer"))}).Status
		}()
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case 201:
			won++
		case 403, 410:
		default:
			t.Errorf("a racing setup got %d", c)
		}
	}
	if won != 1 || len(admins(t, ts)) != 1 {
		t.Fatalf("%d setups won, %d admins (codes %v), want exactly one", won, len(admins(t, ts)), codes)
	}
}

// An admin made with the CLI (quire admin create-user --admin) while the
// server runs kills the link the server printed.
func TestSetupLinkDiesWhenTheCLIMadeAnAdmin(t *testing.T) {
	ts := newTestServer(t)
	token, _ := ts.srv.SetupToken(context.Background())
	if _, err := ts.srv.account.CreateUser(context.Background(), "cli@example.com", "CLI", testPassword, true); err != nil {
		t.Fatal(err)
	}
	ts.must(410, req{method: "POST", path: "/api/setup", body: setupBody(token, uniqueEmail("late"))})
	ts.must(410, req{method: "GET", path: "/setup?token=" + token})
	if len(admins(t, ts)) != 1 {
		t.Fatal("the setup made a second admin")
	}
}

// The setup form preselects the obvious models: with exactly one chat and one
// embedding model installed both are chosen; with two chat models the admin
// chooses. The choice is stored as the instance defaults.
func TestSetupPreselectsTheOnlyModels(t *testing.T) {
	o := ollamatest.Start(t) // its own Ollama: the shared one gains models from other tests
	ts := newTestServer(t, func(c *config.Config) { c.OllamaURL = o.URL })
	ctx := context.Background()
	token, _ := ts.srv.SetupToken(ctx)
	// The names as Ollama lists them (with their tag).
	listed := func() (chat, embed []string) {
		models, err := (&api.Handlers{Deps: ts.srv.deps()}).ListModels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range models {
			if m.Embedding {
				embed = append(embed, m.Name)
			} else if m.Chat {
				chat = append(chat, m.Name)
			}
		}
		return chat, embed
	}
	chat, embed := listed()
	if len(chat) != 1 || len(embed) != 1 {
		t.Fatalf("the test's own Ollama has chat models %v and embedding models %v, want one of each", chat, embed)
	}
	page := string(ts.must(200, req{method: "GET", path: "/setup?token=" + token}).Body)
	for _, m := range []string{chat[0], embed[0]} {
		if !strings.Contains(page, `<option value="`+m+`" selected>`) {
			t.Errorf("the only installed model %s is not preselected:\n%s", m, page)
		}
	}
	if err := o.CreateChatModel(ctx, "second-chat", tinymodel.ChatOptions{}); err != nil {
		t.Fatal(err)
	}
	chat, _ = listed()
	page = string(ts.must(200, req{method: "GET", path: "/setup?token=" + token}).Body)
	for _, m := range chat {
		if !strings.Contains(page, `<option value="`+m+`" >`) {
			t.Errorf("with two chat models, %s is preselected or not offered:\n%s", m, page)
		}
	}
	if !strings.Contains(page, `<option value="`+embed[0]+`" selected>`) {
		t.Error("the only embedding model is no longer preselected")
	}
	// An embedding model is not a chat model.
	bad := setupBody(token, "root@example.com")
	bad["default_chat_model"] = o.EmbedModel
	ts.must(400, req{method: "POST", path: "/api/setup", body: bad})
	body := setupBody(token, "root@example.com")
	body["default_chat_model"], body["default_embedding_model"] = o.ChatModel, o.EmbedModel
	ts.must(201, req{method: "POST", path: "/api/setup", body: body})
	if st := ts.srv.currentSettings(); st.DefaultChatModel != o.ChatModel+":latest" || st.DefaultEmbeddingModel != embed[0] {
		t.Fatalf("defaults %q %q, want the chosen models", st.DefaultChatModel, st.DefaultEmbeddingModel)
	}
}

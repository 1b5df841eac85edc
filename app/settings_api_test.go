package app

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"quire/app/config"
	"quire/app/settings"
	"quire/store"
)

// saveSettings replaces the settings as a whole, without the side effects of
// PATCH /api/admin/settings: tests set models and URLs up with it.
func (s *Server) saveSettings(ctx context.Context, st settings.Settings) error {
	_, _, err := s.settings.Update(ctx, func(cur *settings.Settings) error { *cur = st; return nil })
	return err
}

// Two admins change different settings at the same moment: both changes stay
// (the read-modify-write of the settings is one step).
func TestParallelSettingsPatchesKeepBothFields(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("admin")
	for round := range 20 {
		limit := int64(1000 + round)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, body := range []map[string]any{
			{"token_limit": limit},
			{"allow_public_chats": round%2 == 0},
		} {
			wg.Go(func() {
				statuses[i] = ts.do(req{method: "PATCH", path: "/api/admin/settings", token: admin.token, body: body}).Status
			})
		}
		wg.Wait()
		if statuses[0] != 200 || statuses[1] != 200 {
			t.Fatalf("round %d: statuses %v", round, statuses)
		}
		var got settings.Settings
		ts.must(200, req{method: "GET", path: "/api/admin/settings", token: admin.token}).json(&got)
		if got.TokenLimit != limit || got.AllowPublicChats != (round%2 == 0) {
			t.Fatalf("round %d: a change was lost: token_limit %d (want %d), allow_public_chats %v", round, got.TokenLimit, limit, got.AllowPublicChats)
		}
	}
}

// Changing the Ollama URL makes the embeddings that wait for the model server
// due at once instead of at their next retry.
func TestOllamaURLChangeResumesEmbedding(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("admin")
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	id, err := ts.store.EnqueueTask(ctx, store.NewTask{Kind: store.TaskEmbed, RunAfter: later})
	if err != nil {
		t.Fatal(err)
	}
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: admin.token, body: map[string]string{"signup_policy": "open"}})
	if task, _ := ts.store.GetTask(ctx, id); !task.RunAfter.After(time.Now()) {
		t.Fatalf("another setting's change made the task due: run_after %v", task.RunAfter)
	}
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: admin.token, body: map[string]string{"ollama_url": "http://127.0.0.1:2"}})
	task, err := ts.store.GetTask(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if task.RunAfter.After(time.Now()) {
		t.Fatalf("the waiting embed task is still due at %v", task.RunAfter)
	}
}

// The admin saved the settings form (which sends the Ollama URL it shows),
// then Quire restarts with --ollama-url: the flag's URL is used, shown
// read-only with its source, and the API refuses to change it.
func TestExplicitOllamaURLWinsOverSavedSettingsAfterRestart(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("admin")
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: admin.token,
		body: map[string]any{"ollama_url": ts.cfg.OllamaURL, "signup_policy": "invite_only", "allow_public_chats": true}})

	const flagged = "http://127.0.0.1:2"
	cfg, err := config.Load(flag.NewFlagSet("serve", flag.ContinueOnError), []string{"--data-dir", ts.cfg.DataDir, "--ollama-url", flagged})
	if err != nil {
		t.Fatal(err)
	}
	if ts.srv, err = New(t.Context(), cfg, ts.store, os.DirFS("../web"), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	var got struct {
		settings.Settings
		Locked map[string]string `json:"locked"`
	}
	ts.must(200, req{method: "GET", path: "/api/admin/settings", token: admin.token}).json(&got)
	if got.OllamaURL != flagged || got.Locked["ollama_url"] != "--ollama-url" || got.SignupPolicy != "invite_only" {
		t.Fatalf("after the restart: %+v", got)
	}
	if u := ts.srv.llm.BaseURL(); !strings.Contains(u, "127.0.0.1:2") {
		t.Fatalf("the model client talks to %s", u)
	}
	res := ts.must(400, req{method: "PATCH", path: "/api/admin/settings", token: admin.token, body: map[string]string{"ollama_url": "http://127.0.0.1:3"}})
	if res.errField() != "ollama_url" || !strings.Contains(string(res.Body), "--ollama-url") {
		t.Fatalf("changing the locked URL: %s", res.Body)
	}
	// The form saved again, with the URL it shows: accepted, and other fields change.
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: admin.token, body: map[string]any{"ollama_url": flagged, "signup_policy": "open"}})
	page := string(ts.must(200, req{method: "GET", path: "/admin/settings", token: admin.token}).Body)
	if !strings.Contains(page, `value="`+flagged+`" readonly`) || !strings.Contains(page, "set by --ollama-url") {
		t.Fatalf("the settings page does not show the URL as fixed by the flag:\n%s", page)
	}
}

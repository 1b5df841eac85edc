package settings

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"quire/app/fault"
	"quire/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func load(t *testing.T, cfg Config) *Service {
	t.Helper()
	s, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// An admin's saved URL is used while the configuration leaves the URL at its
// default; a URL set explicitly wins after a restart, is shown as locked, and
// the admin's own URL comes back once the configuration stops setting one.
func TestExplicitOllamaURLWinsOverStored(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	const dflt, admins, flagged = "http://127.0.0.1:11434", "http://admins-choice:11434", "http://from-flag:11434"

	s := load(t, Config{Store: st, OllamaURL: dflt, MaxUploadMB: 50})
	if _, _, err := s.Apply(ctx, Patch{OllamaURL: ptr(admins), SignupPolicy: ptr("invite_only")}); err != nil {
		t.Fatal(err)
	}
	if got := load(t, Config{Store: st, OllamaURL: dflt, MaxUploadMB: 50}).Get().OllamaURL; got != admins {
		t.Fatalf("with the default configured, the admin's URL is lost on restart: %q", got)
	}

	s = load(t, Config{Store: st, OllamaURL: flagged, OllamaURLSource: "--ollama-url", MaxUploadMB: 50})
	if got := s.Get(); got.OllamaURL != flagged || got.SignupPolicy != "invite_only" {
		t.Fatalf("restarted with --ollama-url: %+v", got)
	}
	if l := s.Locked(); l["ollama_url"] != "--ollama-url" {
		t.Fatalf("locked %v", l)
	}
	_, _, err := s.Apply(ctx, Patch{OllamaURL: ptr("http://elsewhere:11434")})
	if f, ok := fault.As(err); !ok || f.Kind != fault.Invalid || f.Field != "ollama_url" || !strings.Contains(f.Message, "set by --ollama-url") {
		t.Fatalf("changing a locked URL: %v", err)
	}
	if s.Get().OllamaURL != flagged {
		t.Fatalf("a refused change took effect: %q", s.Get().OllamaURL)
	}
	// The settings form sends the URL it shows; the same value is no change.
	if _, got, err := s.Apply(ctx, Patch{OllamaURL: ptr(flagged), AllowPublicChats: ptr(false)}); err != nil || got.AllowPublicChats || got.OllamaURL != flagged {
		t.Fatalf("saving the form with the locked URL: %+v, %v", got, err)
	}

	if got := load(t, Config{Store: st, OllamaURL: dflt, MaxUploadMB: 50}).Get(); got.OllamaURL != admins || got.AllowPublicChats {
		t.Fatalf("without the flag again: %+v (want the admin's URL back and the later change kept)", got)
	}
}

func TestSourceText(t *testing.T) {
	for src, want := range map[string]string{"--ollama-url": "set by --ollama-url", "QUIRE_OLLAMA_URL": "set by QUIRE_OLLAMA_URL", "config file": "set in the config file"} {
		if got := SourceText(src); got != want {
			t.Errorf("SourceText(%q) = %q, want %q", src, got, want)
		}
	}
}

// Concurrent changes of different fields all survive: each update reads and
// writes under one lock.
func TestConcurrentUpdatesKeepEveryField(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	s := load(t, Config{Store: st, OllamaURL: "http://127.0.0.1:11434", MaxUploadMB: 50})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			var err error
			switch i % 4 {
			case 0:
				_, _, err = s.Apply(ctx, Patch{TokenLimit: ptr(int64(1000))})
			case 1:
				_, _, err = s.Apply(ctx, Patch{CreditLimit: ptr("25")})
			case 2:
				_, _, err = s.Apply(ctx, Patch{DefaultChatModel: ptr("llama3.2")})
			case 3:
				_, _, err = s.Apply(ctx, Patch{MaxUploadMB: ptr(7)})
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, got := range []Settings{s.Get(), load(t, Config{Store: st, OllamaURL: "http://127.0.0.1:11434", MaxUploadMB: 50}).Get()} {
		if got.TokenLimit != 1000 || got.CreditLimit != "25.000000" || got.CreditLimitMicros != 25_000_000 || got.DefaultChatModel != "llama3.2" || got.MaxUploadMB != 7 {
			t.Fatalf("a change was lost: %+v", got)
		}
	}
}

// What an admin (or a stolen admin session) may send that must not be stored.
func TestHostileValuesAreRefusedAndNothingChanges(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	s := load(t, Config{Store: st, OllamaURL: "http://127.0.0.1:11434", MaxUploadMB: 50})
	if _, _, err := s.Apply(ctx, Patch{DefaultChatModel: ptr("llama3.2"), DefaultEmbeddingModel: ptr("nomic-embed-text")}); err != nil {
		t.Fatal(err)
	}
	before := s.Get()
	for _, c := range []struct {
		name  string
		p     Patch
		field string
	}{
		{"javascript URL", Patch{OllamaURL: ptr("javascript:alert(1)")}, "ollama_url"},
		{"file URL", Patch{OllamaURL: ptr("file:///etc/passwd")}, "ollama_url"},
		{"control character in URL", Patch{OllamaURL: ptr("http://127.0.0.1:11434/\x00x")}, "ollama_url"},
		{"URL without host", Patch{OllamaURL: ptr("http://")}, "ollama_url"},
		{"oversized URL", Patch{OllamaURL: ptr("http://h/" + strings.Repeat("a", 3000))}, "ollama_url"},
		{"model with a newline", Patch{DefaultChatModel: ptr("llama3.2\nX-Injected: 1")}, "default_chat_model"},
		{"model with a control character", Patch{DefaultEmbeddingModel: ptr("nomic\x1b[31m")}, "default_embedding_model"},
		{"oversized model", Patch{DefaultChatModel: ptr(strings.Repeat("m", 201))}, "default_chat_model"},
		{"unknown signup policy", Patch{SignupPolicy: ptr("everyone")}, "signup_policy"},
		{"upload above the configured cap", Patch{MaxUploadMB: ptr(51)}, "max_upload_mb"},
		{"zero upload", Patch{MaxUploadMB: ptr(0)}, "max_upload_mb"},
		{"negative token limit", Patch{TokenLimit: ptr(int64(-1))}, "token_limit"},
		{"credit with 7 decimals", Patch{CreditLimit: ptr("1.0000001")}, "credit_limit"},
		{"negative credit", Patch{CreditLimit: ptr("-5")}, "credit_limit"},
		// A valid field with an invalid one: the whole patch is refused.
		{"valid and invalid together", Patch{TokenLimit: ptr(int64(5)), SignupPolicy: ptr("nope")}, "signup_policy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := s.Apply(ctx, c.p)
			f, ok := fault.As(err)
			if !ok || f.Kind != fault.Invalid || f.Field != c.field {
				t.Fatalf("got %v, want an invalid %s", err, c.field)
			}
			if m := f.Message; m == "" || m[0] < 'A' || m[0] > 'Z' || !strings.HasSuffix(m, ".") {
				t.Errorf("message %q is not a sentence", m)
			}
			if s.Get() != before {
				t.Fatalf("a refused patch changed the settings: %+v", s.Get())
			}
		})
	}
	if got := load(t, Config{Store: st, OllamaURL: "http://127.0.0.1:11434", MaxUploadMB: 50}).Get(); got != before {
		t.Fatalf("a refused patch was stored: %+v", got)
	}
}

// A URL the model client refuses is not stored.
func TestModelClientRefusalKeepsTheURL(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	refuse := errors.New("The Ollama URL is not usable.")
	s := load(t, Config{Store: st, OllamaURL: "http://127.0.0.1:11434", MaxUploadMB: 50, SetOllamaURL: func(string) error { return refuse }})
	if _, _, err := s.Apply(ctx, Patch{OllamaURL: ptr("http://other:11434")}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("got %v", err)
	}
	if got := s.Get().OllamaURL; got != "http://127.0.0.1:11434" {
		t.Fatalf("url %q", got)
	}
}

// The configured upload cap bounds a stored value that was saved under a higher cap.
func TestLoweredCapBoundsStoredUpload(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	s := load(t, Config{Store: st, OllamaURL: "http://127.0.0.1:11434", MaxUploadMB: 100})
	if _, _, err := s.Apply(ctx, Patch{MaxUploadMB: ptr(80)}); err != nil {
		t.Fatal(err)
	}
	if got := load(t, Config{Store: st, OllamaURL: "http://127.0.0.1:11434", MaxUploadMB: 20}).Get().MaxUploadMB; got != 20 {
		t.Fatalf("max upload %d under a cap of 20", got)
	}
}

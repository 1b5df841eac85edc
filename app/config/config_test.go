package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPrecedenceFileEnvFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "quire.toml")
	os.WriteFile(file, []byte(`
listen = "127.0.0.1:9000"
data_dir = "/from/file"
session_ttl = "2h"
[smtp]
host = "mail.example.com"
from = "quire@example.com"
`), 0o600)
	t.Setenv("QUIRE_DATA_DIR", "/from/env")
	t.Setenv("QUIRE_SMTP_PORT", "2525")
	cfg, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), []string{"--config", file, "--listen", "127.0.0.1:9100"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9100" || cfg.DataDir != "/from/env" || cfg.SMTP.Port != 2525 || cfg.SMTP.Host != "mail.example.com" || cfg.SessionTTL.Duration != 2*time.Hour {
		t.Fatalf("precedence wrong: %+v", cfg)
	}
	if cfg.OllamaURL != "http://127.0.0.1:11434" {
		t.Fatalf("default lost: %q", cfg.OllamaURL)
	}
}

func TestExampleConfigIsValidAndComplete(t *testing.T) {
	cfg, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), []string{"--config", "../../config.example.toml"})
	if err != nil {
		t.Fatalf("config.example.toml does not load: %v", err)
	}
	cfg.sources = nil // every option is set in the example; only the values must be the defaults
	if !reflect.DeepEqual(cfg, Default()) {
		t.Fatalf("config.example.toml does not state the defaults:\n%+v\n%+v", cfg, Default())
	}
}

func TestValidationMessages(t *testing.T) {
	for _, c := range []struct{ env, value, want string }{
		{"QUIRE_LISTEN", "8080", "listen \"8080\": want host:port"},
		{"QUIRE_OLLAMA_URL", "localhost:11434", "ollama_url"},
		{"QUIRE_MAX_UPLOAD_MB", "lots", "want a whole number"},
		{"QUIRE_SESSION_TTL", "1s", "session_ttl"},
		{"QUIRE_LOG_LEVEL", "loud", "log_level"},
		{"QUIRE_STRIPE_SECRET_KEY", "sk_test_x", "stripe.webhook_secret is required"},
		{"QUIRE_REQUIRE_EMAIL_VERIFICATION", "true", "needs smtp.host"},
		{"QUIRE_REPLICA_URL", "ftp://nas/quire", `scheme "ftp" is not supported`},
		{"QUIRE_REPLICA_URL", "file://relative/path", "want file:///absolute/path"},
		{"QUIRE_REPLICA_URL", "file:///", "want file:///absolute/path"},
		{"QUIRE_REPLICA_URL", "sftp://host/path", "want sftp://user@host"},
		{"QUIRE_REPLICA_URL", "sftp://u:pw@h/p\x01", "replica.url is not a URL"},
	} {
		t.Run(c.env, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			_, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want mention of %q", err, c.want)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(file, []byte("lisen = \"x\"\n"), 0o600)
	if _, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), []string{"--config", file}); err == nil || !strings.Contains(err.Error(), `unknown option "lisen"`) {
		t.Fatalf("typo in config file: %v", err)
	}
}

// A replica URL's password and query values never reach a message.
func TestReplicaSecretsAreRedacted(t *testing.T) {
	for _, raw := range []string{"sftp://quire:hunter2-pw@nas:2222/backups", "gopher://quire:hunter2-pw@nas/x?key=hunter2-pw",
		"s3://quire:hunter2-pw@nas/x?sseCustomerKey=hunter2-pw&endpoint=http://hunter2-pw@minio"} {
		t.Setenv("QUIRE_REPLICA_URL", raw)
		_, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil)
		got := RedactURL(raw)
		if strings.Contains(got, "hunter2-pw") || (err != nil && strings.Contains(err.Error(), "hunter2-pw")) {
			t.Fatalf("%q shown as %q / %v", raw, got, err)
		}
		if !strings.Contains(got, "quire:xxxxx@nas") {
			t.Fatalf("redacted %q lost its user and host: %q", raw, got)
		}
	}
	t.Setenv("QUIRE_REPLICA_URL", "sftp://quire@nas/x")
	t.Setenv("QUIRE_REPLICA_RETENTION", "10m")
	t.Setenv("QUIRE_REPLICA_SYNC_INTERVAL", "10ms")
	_, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil)
	if err == nil || !strings.Contains(err.Error(), "replica.retention") || !strings.Contains(err.Error(), "replica.sync_interval") {
		t.Fatalf("short retention and interval: %v", err)
	}
}

func TestMoneyIsExact(t *testing.T) {
	for in, want := range map[string]int64{"2.50": 2_500_000, "0.000001": 1, "10": 10_000_000, "": 0} {
		if got, err := Micros(in); err != nil || got != want {
			t.Errorf("Micros(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"1.0000001", "-1", "abc", "1e3"} {
		if _, err := Micros(bad); err == nil {
			t.Errorf("Micros(%q) accepted", bad)
		}
	}
	if s := FormatMicros(2_500_001); s != "2.500001" {
		t.Fatalf("FormatMicros = %s", s)
	}
}

// Each explicitly set option names where it came from, the last source
// winning; options left at their default name none, so stored settings may
// replace them.
func TestSourceNamesWhereAnOptionWasSet(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "quire.toml")
	os.WriteFile(file, []byte("ollama_url = \"http://file:11434\"\nbase_url = \"https://q.example.com\"\n[smtp]\nhost = \"mail.example.com\"\nfrom = \"q@example.com\"\n"), 0o600)
	t.Setenv("QUIRE_SMTP_PORT", "2525")
	t.Setenv("QUIRE_BASE_URL", "https://env.example.com")
	load := func(args ...string) Config {
		t.Helper()
		cfg, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), args)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := load("--config", file)
	for option, want := range map[string]string{"ollama_url": "config file", "smtp.host": "config file", "smtp.port": "QUIRE_SMTP_PORT", "base_url": "QUIRE_BASE_URL", "listen": "", "max_upload_mb": ""} {
		if got := cfg.Source(option); got != want {
			t.Errorf("file+env: Source(%q) = %q, want %q", option, got, want)
		}
	}
	t.Setenv("QUIRE_OLLAMA_URL", "http://env:11434")
	if cfg := load("--config", file); cfg.Source("ollama_url") != "QUIRE_OLLAMA_URL" || cfg.OllamaURL != "http://env:11434" {
		t.Errorf("env over file: %q from %q", cfg.OllamaURL, cfg.Source("ollama_url"))
	}
	if cfg := load("--config", file, "--ollama-url", "http://flag:11434"); cfg.Source("ollama_url") != "--ollama-url" || cfg.OllamaURL != "http://flag:11434" {
		t.Errorf("flag over env: %q from %q", cfg.OllamaURL, cfg.Source("ollama_url"))
	}
	if d := Default(); d.Source("ollama_url") != "" {
		t.Errorf("the default names a source: %q", d.Source("ollama_url"))
	}
}

func TestPriceCurrency(t *testing.T) {
	load := func(toml string) (Config, error) {
		file := filepath.Join(t.TempDir(), "prices.toml")
		os.WriteFile(file, []byte(toml), 0o600)
		return Load(flag.NewFlagSet("t", flag.ContinueOnError), []string{"--config", file})
	}
	cfg, err := load("[prices.\"big\"]\ninput_per_million = \"2.50\"\ncurrency = \"EUR\"\n[prices.\"small\"]\ninput_per_million = \"0.10\"\ncurrency = \"EUR\"\n")
	if err != nil || cfg.Currency() != "EUR" {
		t.Fatalf("currency %q, %v", cfg.Currency(), err)
	}
	if cfg, _ := load("[prices.\"big\"]\ninput_per_million = \"2.50\"\n"); cfg.Currency() != "USD" {
		t.Fatalf("a price without a currency is in %q, want USD", cfg.Currency())
	}
	if Default().Currency() != "" {
		t.Fatal("with no price table there is no currency to show")
	}
	for toml, want := range map[string]string{
		"[prices.\"a\"]\ncurrency = \"EUR\"\n[prices.\"b\"]\ncurrency = \"USD\"\n": "same currency",
		"[prices.\"a\"]\ncurrency = \"euro\"\n":                                    "ISO 4217",
		"[prices.\"a\"]\ncurrency = \"<b>\"\n":                                     "ISO 4217",
	} {
		if _, err := load(toml); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want mention of %q", toml, err, want)
		}
	}
}

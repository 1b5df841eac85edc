// Package config loads Quire's configuration: defaults, then a TOML file, then
// QUIRE_* environment variables, then command-line flags, and validates the result
// with messages that say what to fix.
package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is every option. The `env` tag names the environment override.
type Config struct {
	Listen   string `toml:"listen" env:"QUIRE_LISTEN"`
	DataDir  string `toml:"data_dir" env:"QUIRE_DATA_DIR"`
	BaseURL  string `toml:"base_url" env:"QUIRE_BASE_URL"`
	LogLevel string `toml:"log_level" env:"QUIRE_LOG_LEVEL"`
	LogJSON  bool   `toml:"log_json" env:"QUIRE_LOG_JSON"`

	OllamaURL string `toml:"ollama_url" env:"QUIRE_OLLAMA_URL"`
	// A pool of Ollama hosts instead of one (ollama.go): URLs (the
	// environment's comma-separated) and/or entries with a weight and a label.
	OllamaURLs []string     `toml:"ollama_urls" env:"QUIRE_OLLAMA_URLS"`
	Ollama     []OllamaHost `toml:"ollama"`

	MaxBodyKB           int      `toml:"max_body_kb" env:"QUIRE_MAX_BODY_KB"`
	MaxUploadMB         int      `toml:"max_upload_mb" env:"QUIRE_MAX_UPLOAD_MB"`
	SessionTTL          Duration `toml:"session_ttl" env:"QUIRE_SESSION_TTL"`
	RequireVerification bool     `toml:"require_email_verification" env:"QUIRE_REQUIRE_EMAIL_VERIFICATION"`
	ShutdownTimeout     Duration `toml:"shutdown_timeout" env:"QUIRE_SHUTDOWN_TIMEOUT"`
	InvitationTTL       Duration `toml:"invitation_ttl" env:"QUIRE_INVITATION_TTL"`
	Workers             int      `toml:"workers" env:"QUIRE_WORKERS"`
	// Each document is parsed in a worker process with these limits.
	ParseTimeout  Duration `toml:"parse_timeout" env:"QUIRE_PARSE_TIMEOUT"`
	ParseMemoryMB int      `toml:"parse_memory_mb" env:"QUIRE_PARSE_MEMORY_MB"`
	// ReadTimeout bounds reading one whole request (slowloris); uploads must fit in it.
	ReadTimeout Duration `toml:"read_timeout" env:"QUIRE_READ_TIMEOUT"`
	// The in-memory vector search indexes: their total memory (0 = off, vec0
	// only) and how long one stays loaded without a search.
	VectorIndexMB   int      `toml:"vector_index_mb" env:"QUIRE_VECTOR_INDEX_MB"`
	VectorIndexIdle Duration `toml:"vector_index_idle" env:"QUIRE_VECTOR_INDEX_IDLE"`

	// Operations: scheduled backups into data_dir/backups (0 = off) and /metrics.
	BackupInterval Duration `toml:"backup_interval" env:"QUIRE_BACKUP_INTERVAL"`
	BackupKeep     int      `toml:"backup_keep" env:"QUIRE_BACKUP_KEEP"`
	MetricsPublic  bool     `toml:"metrics_public" env:"QUIRE_METRICS_PUBLIC"`
	// Audit log rows older than this many days are pruned hourly (0 keeps them all).
	AuditRetentionDays int `toml:"audit_retention_days" env:"QUIRE_AUDIT_RETENTION_DAYS"`

	// The OpenAI-compatible /v1 API: the browser origins allowed to call it
	// (comma-separated; "*" any; "" none) and requests per API key per minute (0 = no limit).
	V1CORSOrigins       string `toml:"v1_cors_origins" env:"QUIRE_V1_CORS_ORIGINS"`
	V1RequestsPerMinute int    `toml:"v1_requests_per_minute" env:"QUIRE_V1_REQUESTS_PER_MINUTE"`

	// Prices per model, for cost accounting; models not listed cost nothing (local models).
	Prices map[string]Price `toml:"prices"`

	Login      Login      `toml:"login"`
	Generation Generation `toml:"generation"`
	SMTP       SMTP       `toml:"smtp"`
	Stripe     Stripe     `toml:"stripe"`
	OIDC       []OIDC     `toml:"oidc"` // single sign-on providers (identity.go)
	LDAP       LDAP       `toml:"ldap"` // the directory (identity.go)
	Replica    Replica    `toml:"replica"`

	// sources says where each explicitly set option came from, by its TOML
	// name ("ollama_url", "smtp.host"); options left at their default are absent.
	sources map[string]string
}

// Source tells where the option with this TOML name was set: "--ollama-url"
// for a flag, the variable's name (QUIRE_OLLAMA_URL) for the environment,
// "config file" for TOML, or "" when it has its default. Settings that an
// admin may also store at run time give way to an explicit source.
func (c *Config) Source(option string) string { return c.sources[option] }

func (c *Config) setSource(option, source string) {
	if c.sources == nil {
		c.sources = map[string]string{}
	}
	c.sources[option] = source
}

// Price is what a model costs per million tokens, as decimal strings in the
// instance's currency (e.g. "2.50"): money is never a float.
type Price struct {
	InputPerMillion  string `toml:"input_per_million"`
	OutputPerMillion string `toml:"output_per_million"`
	// Currency is the ISO 4217 code the amounts are in ("" = USD); every
	// price must use the same one, since costs are added up across models.
	Currency string `toml:"currency"`
}

// Currency is the price table's currency: "" when no price is set (every
// model is free), otherwise its ISO 4217 code.
func (c Config) Currency() string {
	for _, p := range c.Prices {
		return cmp.Or(p.Currency, "USD")
	}
	return ""
}

// Micros parses a decimal amount like "2.50" into micro-units (2500000).
func Micros(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 6 {
		return 0, fmt.Errorf("%q has more than 6 decimals", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > 1_000_000_000 {
		return 0, fmt.Errorf("%q is not an amount like 2.50", s)
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt((frac + "000000")[:6], 10, 64); err != nil || f < 0 {
			return 0, fmt.Errorf("%q is not an amount like 2.50", s)
		}
	}
	return w*1_000_000 + f, nil
}

// FormatMicros renders micro-units as a decimal string with 6 places.
func FormatMicros(m int64) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%06d", sign, m/1_000_000, m%1_000_000)
}

// Login throttling: after MaxFailures failed logins within Window for one email
// or one client address, further attempts get 429 until the window passes.
type Login struct {
	MaxFailures int      `toml:"max_failures" env:"QUIRE_LOGIN_MAX_FAILURES"`
	Window      Duration `toml:"window" env:"QUIRE_LOGIN_WINDOW"`
}

// Generation shares the model server fairly: replies (and /v1 calls) at once
// per user and per workspace before 429, model calls in flight to Ollama in
// total (queued round-robin across workspaces), and chat posts per user per minute.
type Generation struct {
	PerUser        int `toml:"per_user" env:"QUIRE_GENERATION_PER_USER"`
	PerWorkspace   int `toml:"per_workspace" env:"QUIRE_GENERATION_PER_WORKSPACE"`
	InFlight       int `toml:"in_flight" env:"QUIRE_GENERATION_IN_FLIGHT"`
	PostsPerMinute int `toml:"posts_per_minute" env:"QUIRE_GENERATION_POSTS_PER_MINUTE"`
	// AgentMaxSteps and AgentTimeout bound an agent-mode reply: its model
	// calls, and its whole time (tools included).
	AgentMaxSteps int      `toml:"agent_max_steps" env:"QUIRE_GENERATION_AGENT_MAX_STEPS"`
	AgentTimeout  Duration `toml:"agent_timeout" env:"QUIRE_GENERATION_AGENT_TIMEOUT"`
}

// SMTP is the outgoing mail server; without Host, mail only goes to the outbox.
type SMTP struct {
	Host     string `toml:"host" env:"QUIRE_SMTP_HOST"`
	Port     int    `toml:"port" env:"QUIRE_SMTP_PORT"`
	Username string `toml:"username" env:"QUIRE_SMTP_USERNAME"`
	Password string `toml:"password" env:"QUIRE_SMTP_PASSWORD"`
	From     string `toml:"from" env:"QUIRE_SMTP_FROM"`
}

// Stripe billing is on exactly when SecretKey is set.
type Stripe struct {
	SecretKey     string `toml:"secret_key" env:"QUIRE_STRIPE_SECRET_KEY"`
	WebhookSecret string `toml:"webhook_secret" env:"QUIRE_STRIPE_WEBHOOK_SECRET"`
	APIURL        string `toml:"api_url" env:"QUIRE_STRIPE_API_URL"`
	// TrialDays is the free trial of a customer's first subscription (0 = none).
	TrialDays int `toml:"trial_days" env:"QUIRE_STRIPE_TRIAL_DAYS"`
}

// Replica is continuous replication of the database and the files folder to
// a second location (package replica); off while URL is empty.
type Replica struct {
	// URL is file:///path (a local folder or a NAS mount), sftp://user[:password]@host[:port]/path
	// or s3://bucket[/prefix].
	URL string `toml:"url" env:"QUIRE_REPLICA_URL"`
	// SyncInterval is how often changes are shipped: the most a lost disk loses.
	SyncInterval Duration `toml:"sync_interval" env:"QUIRE_REPLICA_SYNC_INTERVAL"`
	// Retention is how far back a point-in-time restore can go.
	Retention Duration `toml:"retention" env:"QUIRE_REPLICA_RETENTION"`
	// SFTP only: the private key to log in with, and the server's public key
	// (an authorized_keys line) to check it against.
	SSHKeyPath string `toml:"ssh_key_path" env:"QUIRE_REPLICA_SSH_KEY_PATH"`
	SSHHostKey string `toml:"ssh_host_key" env:"QUIRE_REPLICA_SSH_HOST_KEY"`
	// S3 only (s3://bucket/prefix); each may also be an URL query value
	// (endpoint, region, forcePathStyle), which wins. Keys left empty fall
	// back to AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, as in Litestream.
	S3Endpoint        string `toml:"s3_endpoint" env:"QUIRE_REPLICA_S3_ENDPOINT"`
	S3Region          string `toml:"s3_region" env:"QUIRE_REPLICA_S3_REGION"`
	S3AccessKeyID     string `toml:"s3_access_key_id" env:"QUIRE_REPLICA_S3_ACCESS_KEY_ID"`
	S3SecretAccessKey string `toml:"s3_secret_access_key" env:"QUIRE_REPLICA_S3_SECRET_ACCESS_KEY"`
	S3PathStyle       bool   `toml:"s3_path_style" env:"QUIRE_REPLICA_S3_PATH_STYLE"`
}

// ReplicaSchemes are the replica targets Quire can write to.
var ReplicaSchemes = []string{"file", "sftp", "s3"}

// Duration reads "30s", "12h" and the like from TOML and the environment.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s or 12h", b)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default is the configuration of `quire` started with nothing else.
func Default() Config {
	return Config{
		Listen:              "127.0.0.1:8080",
		V1CORSOrigins:       "*",
		V1RequestsPerMinute: 600,
		DataDir:             "./data",
		LogLevel:            "info",
		OllamaURL:           "http://127.0.0.1:11434",
		MaxBodyKB:           1024,
		MaxUploadMB:         50,
		SessionTTL:          Duration{30 * 24 * time.Hour},
		ShutdownTimeout:     Duration{30 * time.Second},
		InvitationTTL:       Duration{7 * 24 * time.Hour},
		Workers:             2,
		ParseTimeout:        Duration{2 * time.Minute},
		ParseMemoryMB:       1024,
		ReadTimeout:         Duration{30 * time.Second},
		VectorIndexMB:       4096,
		VectorIndexIdle:     Duration{30 * time.Minute},
		BackupKeep:          7,
		AuditRetentionDays:  365,
		Login:               Login{MaxFailures: 5, Window: Duration{15 * time.Minute}},
		Generation:          Generation{PerUser: 2, PerWorkspace: 4, InFlight: 4, PostsPerMinute: 20, AgentMaxSteps: 6, AgentTimeout: Duration{time.Minute}},
		SMTP:                SMTP{Port: 587},
		Stripe:              Stripe{TrialDays: 14},
		Replica:             Replica{SyncInterval: Duration{time.Second}, Retention: Duration{24 * time.Hour}},
	}
}

// Load builds the configuration for a command from its arguments: `--config FILE`
// and the option flags registered here. It returns the remaining arguments.
func Load(fs *flag.FlagSet, args []string) (Config, error) {
	cfg := Default()
	file := fs.String("config", os.Getenv("QUIRE_CONFIG"), "TOML configuration file")
	listen := fs.String("listen", "", "address to serve on (host:port)")
	dataDir := fs.String("data-dir", "", "folder for the database and files")
	ollama := fs.String("ollama-url", "", "Ollama server URL")
	baseURL := fs.String("base-url", "", "public URL of this instance, used in mailed links")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if *file != "" {
		md, err := toml.DecodeFile(*file, &cfg)
		if err != nil {
			return cfg, fmt.Errorf("config file %s: %w", *file, err)
		}
		if un := md.Undecoded(); len(un) > 0 {
			return cfg, fmt.Errorf("config file %s: unknown option %q (see config.example.toml)", *file, un[0].String())
		}
		for _, k := range md.Keys() {
			cfg.setSource(k.String(), "config file")
		}
	}
	if err := applyEnv(&cfg, reflect.ValueOf(&cfg).Elem(), ""); err != nil {
		return cfg, err
	}
	for _, f := range []struct {
		p            *string
		v            string
		option, flag string
	}{
		{&cfg.Listen, *listen, "listen", "--listen"},
		{&cfg.DataDir, *dataDir, "data_dir", "--data-dir"},
		{&cfg.OllamaURL, *ollama, "ollama_url", "--ollama-url"},
		{&cfg.BaseURL, *baseURL, "base_url", "--base-url"},
	} {
		if f.v != "" {
			*f.p = f.v
			cfg.setSource(f.option, f.flag)
		}
	}
	if err := cfg.usePool(); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// applyEnv overrides fields from their `env` variables and records them as
// the fields' source; prefix is the TOML path of the struct v ("smtp.").
func applyEnv(cfg *Config, v reflect.Value, prefix string) error {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[Duration]() {
			if err := applyEnv(cfg, fv, prefix+f.Tag.Get("toml")+"."); err != nil {
				return err
			}
			continue
		}
		name := f.Tag.Get("env")
		raw, ok := os.LookupEnv(name)
		if name == "" || !ok {
			continue
		}
		cfg.setSource(prefix+f.Tag.Get("toml"), name)
		bad := func(want string) error { return fmt.Errorf("environment %s=%q: want %s", name, raw, want) }
		switch p := fv.Addr().Interface().(type) {
		case *string:
			*p = raw
		case *[]string:
			*p = nil
			for part := range strings.SplitSeq(raw, ",") {
				if part = strings.TrimSpace(part); part != "" {
					*p = append(*p, part)
				}
			}
		case *int:
			n, err := strconv.Atoi(raw)
			if err != nil {
				return bad("a whole number")
			}
			*p = n
		case *bool:
			b, err := strconv.ParseBool(raw)
			if err != nil {
				return bad("true or false")
			}
			*p = b
		case *Duration:
			if err := p.UnmarshalText([]byte(raw)); err != nil {
				return bad("a duration like 30s or 12h")
			}
		}
	}
	return nil
}

// Validate checks every option and reports all problems at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		bad("listen %q: want host:port, e.g. 127.0.0.1:8080", c.Listen)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir is empty: set the folder for the database and files")
	}
	for name, u := range map[string]string{"ollama_url": c.OllamaURL, "base_url": c.BaseURL, "stripe.api_url": c.Stripe.APIURL} {
		if u == "" && name != "ollama_url" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad("%s %q: want an http(s) URL such as http://127.0.0.1:11434", name, u)
		}
	}
	errs = append(errs, c.validateOllamaHosts()...)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.MaxBodyKB < 1 {
		bad("max_body_kb must be at least 1")
	}
	if c.MaxUploadMB < 1 {
		bad("max_upload_mb must be at least 1")
	}
	if c.SessionTTL.Duration < time.Minute {
		bad("session_ttl %s is too short: use at least 1m", c.SessionTTL)
	}
	if c.Workers < 1 || c.Workers > 64 {
		bad("workers %d: want 1 to 64 document-processing workers", c.Workers)
	}
	if c.ParseTimeout.Duration < time.Second {
		bad("parse_timeout %s is too short: use at least 1s", c.ParseTimeout)
	}
	if c.VectorIndexMB < 0 || c.VectorIndexIdle.Duration < 0 {
		bad("vector_index_mb and vector_index_idle cannot be negative")
	}
	if c.ParseMemoryMB < 64 {
		bad("parse_memory_mb %d is too small: use at least 64", c.ParseMemoryMB)
	}
	if c.InvitationTTL.Duration < time.Hour {
		bad("invitation_ttl %s is too short: use at least 1h", c.InvitationTTL)
	}
	if c.ReadTimeout.Duration < 100*time.Millisecond {
		bad("read_timeout %s is too short: use at least 1s", c.ReadTimeout)
	}
	if d := c.BackupInterval.Duration; d != 0 && d < time.Minute {
		bad("backup_interval %s is too short: use 0 (off) or at least 1m, e.g. 24h", c.BackupInterval)
	}
	if c.BackupKeep < 1 {
		bad("backup_keep must be at least 1 (the number of scheduled backups kept)")
	}
	if c.AuditRetentionDays < 0 || c.AuditRetentionDays > 36500 {
		bad("audit_retention_days %d: want 0 (keep everything) to 36500", c.AuditRetentionDays)
	}
	if g := c.Generation; g.PerUser < 1 || g.PerWorkspace < g.PerUser || g.InFlight < 1 || g.PostsPerMinute < 1 {
		bad("generation: want per_user ≥ 1, per_workspace ≥ per_user, in_flight ≥ 1 and posts_per_minute ≥ 1")
	}
	// Zero takes the defaults (6 steps, 1m).
	if g := c.Generation; g.AgentMaxSteps < 0 || g.AgentMaxSteps > 50 || g.AgentTimeout.Duration < 0 || (g.AgentTimeout.Duration > 0 && g.AgentTimeout.Duration < time.Second) {
		bad("generation: want agent_max_steps from 1 to 50 and agent_timeout of at least 1s")
	}
	if c.Login.MaxFailures < 1 || c.Login.Window.Duration <= 0 {
		bad("login.max_failures and login.window must be positive")
	}
	if c.SMTP.Host != "" {
		if c.SMTP.From == "" {
			bad("smtp.from is required when smtp.host is set")
		}
		if c.SMTP.Port < 1 || c.SMTP.Port > 65535 {
			bad("smtp.port %d is not a TCP port", c.SMTP.Port)
		}
	}
	if c.RequireVerification && c.SMTP.Host == "" {
		bad("require_email_verification needs smtp.host: without mail nobody could verify")
	}
	currencies := map[string]bool{}
	for model, p := range c.Prices {
		cur := cmp.Or(p.Currency, "USD")
		if len(cur) != 3 || strings.ToUpper(cur) != cur || strings.Trim(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			bad("prices.%q.currency %q: want an ISO 4217 code such as USD or EUR", model, p.Currency)
		}
		currencies[cur] = true
		for what, v := range map[string]string{"input_per_million": p.InputPerMillion, "output_per_million": p.OutputPerMillion} {
			if _, err := Micros(v); err != nil {
				bad("prices.%q.%s: %v", model, what, err)
			}
		}
	}
	if len(currencies) > 1 {
		bad("prices: every model's price must be in the same currency (costs are added up across models)")
	}
	if c.Stripe.SecretKey != "" && c.Stripe.WebhookSecret == "" {
		bad("stripe.webhook_secret is required when stripe.secret_key is set")
	}
	if c.Stripe.TrialDays < 0 || c.Stripe.TrialDays > 730 {
		bad("stripe.trial_days %d: want 0 (no trial) to 730", c.Stripe.TrialDays)
	}
	c.validateIdentity(bad)
	errs = append(errs, c.Replica.validate()...)
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  %w", joinIndented(errs))
	}
	return nil
}

func joinIndented(errs []error) error {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Error()
	}
	return errors.New(strings.Join(parts, "\n  "))
}

// DBPath is the SQLite database inside the data dir.
func (c *Config) DBPath() string { return filepath.Join(c.DataDir, "quire.db") }

// FilesDir holds uploaded originals.
func (c *Config) FilesDir() string { return filepath.Join(c.DataDir, "files") }

// BackupsDir holds scheduled, manual and pre-upgrade backups.
func (c *Config) BackupsDir() string { return filepath.Join(c.DataDir, "backups") }

// PublicURL is where people reach this instance, for links in mail.
func (c *Config) PublicURL() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	return "http://" + c.Listen
}

// BillingEnabled reports whether Stripe is configured.
func (c *Config) BillingEnabled() bool { return c.Stripe.SecretKey != "" }

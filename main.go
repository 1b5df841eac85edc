// Command quire is the Quire appliance: one binary that serves the web UI and the
// JSON API over one SQLite database and a files folder.
//
//	quire [serve] [--config FILE] [--listen ADDR] [--data-dir DIR] [--ollama-url URL] [--base-url URL]
//	quire migrate [up|down|version]
//	quire admin create-user --email E [--name N] [--password P] [--admin]
//	quire admin reset-password --email E [--password P]
//	quire health [--listen ADDR]   (exit 0 when the local server answers /api/health; for container health checks)
//	quire stripe sync   (first import of the Stripe catalogue and subscriptions; webhooks keep it current)
//	quire backup FILE    (online backup: database snapshot + files, one .tar.gz; safe while serving)
//	quire restore FILE   (into an empty --data-dir only)
//	quire restore --from-replica URL [--timestamp T]   (from continuous replication, into an empty --data-dir)
//	quire doctor [--full] (checks data dir, database, migrations, Ollama, disk, backups; exit 1 on failure)
//	quire bench retrieval [--chunks N] [--dim D] [--scope-fraction F] [--queries Q] [--json]   (search speed on this machine)
//	quire version
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"quire/app"
	"quire/app/account"
	"quire/app/config"
	"quire/app/ingest"
	"quire/store"
)

func main() {
	// First of all: the server re-executes this binary to parse documents
	// out of process (a hostile file can kill a Go process).
	ingest.RunWorkerIfRequested()
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quire:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stdout)
	case "migrate":
		return migrateCmd(args, stdout)
	case "admin":
		if len(args) == 0 {
			return errors.New("usage: quire admin create-user|reset-password [flags]")
		}
		switch args[0] {
		case "create-user":
			return createUser(args[1:], stdin, stdout)
		case "reset-password":
			return resetPassword(args[1:], stdin, stdout)
		}
		return fmt.Errorf("unknown admin command %q: want create-user or reset-password", args[0])
	case "stripe":
		if len(args) == 0 || args[0] != "sync" {
			return errors.New("usage: quire stripe sync [--config FILE]: imports products, prices, features and subscriptions from Stripe")
		}
		return stripeSync(args[1:], stdout)
	case "health":
		return healthCmd(args, stdout)
	case "backup":
		return backupCmd(args, stdout)
	case "restore":
		return restoreCmd(args, stdout)
	case "doctor":
		return doctorCmd(args, stdout)
	case "bench":
		return benchCmd(args, stdout)
	case "audit":
		return auditCmd(args, stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "quire", app.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: quire [serve|migrate|admin create-user|admin reset-password|stripe sync|backup FILE|restore FILE|doctor|bench retrieval|audit verify|version] [flags]; quire serve -h lists flags")
		return nil
	}
	return fmt.Errorf("unknown command %q (try: quire help)", cmd)
}

func newLogger(cfg config.Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// openStore loads the configuration and opens (and migrates) the database.
func openStore(fs *flag.FlagSet, args []string) (config.Config, *store.Store, error) {
	cfg, err := config.Load(fs, args)
	if err != nil {
		return cfg, nil, err
	}
	if err := os.MkdirAll(cfg.FilesDir(), 0o750); err != nil {
		return cfg, nil, fmt.Errorf("data_dir %s is not writable: %w", cfg.DataDir, err)
	}
	// An older database is backed up before it is migrated (main_ops.go).
	if err := backupBeforeMigrate(cfg); err != nil {
		return cfg, nil, err
	}
	st, err := store.Open(context.Background(), cfg.DBPath())
	return cfg, st, err
}

func serve(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, st, err := openStore(fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	log := newLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := app.New(ctx, cfg, st, webFS(), log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	log.Info("quire is serving", "url", "http://"+ln.Addr().String(), "data_dir", cfg.DataDir, "version", app.Version)
	if err := printSetupLink(ctx, srv, cfg, ln.Addr(), log, stdout); err != nil {
		return err
	}
	errc := make(chan error, 1)
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("start document processing: %w", err)
	}
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	if err := srv.Shutdown(cfg.ShutdownTimeout.Duration); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("stopped cleanly")
	return nil
}

// printSetupLink shows the one-time setup link while the instance has no
// administrator: once in the log, and on the console when a person started
// the server in a terminal (under systemd or Docker both streams go to the
// same journal, which gets it once). A new token is made at every start, so a
// link from an older log does not work. The token appears nowhere else:
// request logs carry paths without query strings.
func printSetupLink(ctx context.Context, srv *app.Server, cfg config.Config, addr net.Addr, log *slog.Logger, stdout io.Writer) error {
	token, err := srv.SetupToken(ctx)
	if err != nil || token == "" {
		return err
	}
	base := cfg.BaseURL
	if base == "" {
		host, port, _ := net.SplitHostPort(addr.String())
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	link := strings.TrimRight(base, "/") + "/setup?token=" + token
	log.Warn("no administrator yet: open the setup link to create one (it works once; signups are refused until then)", "url", link)
	if f, ok := stdout.(*os.File); !ok || !isTerminal(f) {
		return nil
	}
	fmt.Fprintf(stdout, "\nQuire has no administrator yet. To set it up, open:\n\n    open %s\n\nor run: quire admin create-user --admin --email you@example.com\n\n", link)
	return nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// healthCmd asks the local server for /api/health; distroless images have no curl.
func healthCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	cfg, err := config.Load(fs, args)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/api/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: HTTP %d", resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

func migrateCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dir := "up"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	_, st, err := openStore(fs, args) // Open migrates up
	if err != nil {
		return err
	}
	defer st.Close()
	if dir == "down" {
		if err := st.MigrateDown(); err != nil {
			return err
		}
	} else if dir != "up" && dir != "version" {
		return fmt.Errorf("unknown migrate direction %q: want up, down or version", dir)
	}
	v, dirty, err := st.SchemaVersion()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema version %d (dirty: %v)\n", v, dirty)
	return nil
}

// readPassword takes the password from the flag, else from QUIRE_PASSWORD, else
// from the first line of standard input (so it stays out of shell history).
func readPassword(flagValue string, stdin io.Reader) (string, error) {
	pw := flagValue
	if pw == "" {
		pw = os.Getenv("QUIRE_PASSWORD")
	}
	if pw == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("give the password with --password, QUIRE_PASSWORD or on standard input")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if len([]rune(pw)) < 8 {
		return "", errors.New("the password must be at least 8 characters")
	}
	return pw, nil
}

func createUser(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin create-user", flag.ContinueOnError)
	email := fs.String("email", "", "email address (required)")
	name := fs.String("name", "", "display name")
	password := fs.String("password", "", "password (else QUIRE_PASSWORD or stdin)")
	admin := fs.Bool("admin", false, "make the user an instance administrator")
	_, st, err := openStore(fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	if *email == "" {
		return errors.New("--email is required")
	}
	pw, err := readPassword(*password, stdin)
	if err != nil {
		return err
	}
	u, err := account.New(account.Config{Store: st}).CreateUser(context.Background(), *email, *name, pw, *admin)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("an account with email %s already exists", *email)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %d <%s> admin=%v\n", u.ID, u.Email, u.IsAdmin)
	return nil
}

func resetPassword(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin reset-password", flag.ContinueOnError)
	email := fs.String("email", "", "email address (required)")
	password := fs.String("password", "", "new password (else QUIRE_PASSWORD or stdin)")
	_, st, err := openStore(fs, args)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	u, err := st.UserByEmail(ctx, strings.TrimSpace(*email))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no account uses email %q", *email)
	}
	if err != nil {
		return err
	}
	pw, err := readPassword(*password, stdin)
	if err != nil {
		return err
	}
	if err := account.New(account.Config{Store: st}).SetPassword(ctx, u.ID, pw); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password of <%s> reset; their sessions were signed out at %s\n", u.Email, time.Now().Format(time.RFC3339))
	return nil
}

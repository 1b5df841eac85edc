package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"quire/app"
	"quire/app/config"
	"quire/app/ops"
	"quire/app/replica"
	"quire/store"
)

// fileArg takes the one positional FILE of `quire backup|restore FILE [flags]`
// from before or after the flags, so both orders work.
func fileArg(fs *flag.FlagSet, args []string, usage string) (config.Config, string, error) {
	file := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	cfg, err := config.Load(fs, args)
	if err != nil {
		return cfg, "", err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" || fs.NArg() > 1 {
		return cfg, "", errors.New(usage)
	}
	return cfg, file, nil
}

// backupCmd writes an online backup; a running server keeps serving meanwhile.
func backupCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	cfg, file, err := fileArg(fs, args, "usage: quire backup FILE.tar.gz [--data-dir DIR | --config FILE]")
	if err != nil {
		return err
	}
	st, err := store.OpenExisting(cfg.DBPath())
	if err != nil {
		return fmt.Errorf("%w (is --data-dir right?)", err)
	}
	defer st.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	recordCLI(st, "backup.created", map[string]any{"file": file}) // before the snapshot, so the backup holds it
	res, err := ops.Create(ctx, ops.Source{Store: st, FilesDir: cfg.FilesDir(), Version: app.Version}, file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written: %s (%d bytes, schema %d, %d files, %s)\n",
		res.Path, res.Size, res.Manifest.SchemaVersion, res.Files, res.Took.Round(1e6))
	return nil
}

// restoreCmd unpacks a backup into an empty data dir and checks it.
func restoreCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	from := fs.String("from-replica", "", "restore from a replica (file:///path or sftp://user@host/path) instead of a backup FILE")
	at := fs.String("timestamp", "", "with --from-replica: the point in time to restore (RFC 3339, e.g. 2026-01-02T15:04:05Z); the newest state when absent")
	if usesFlag(args, "from-replica") {
		return restoreFromReplica(fs, args, from, at, stdout)
	}
	cfg, file, err := fileArg(fs, args, "usage: quire restore FILE.tar.gz --data-dir EMPTY_DIR | quire restore --from-replica URL [--timestamp T] --data-dir EMPTY_DIR")
	if err != nil {
		return err
	}
	if *at != "" {
		return errors.New("--timestamp goes with --from-replica: a backup FILE holds one moment")
	}
	m, err := ops.Restore(context.Background(), file, cfg.DataDir, store.LatestSchemaVersion())
	if err != nil {
		return err
	}
	recordRestore(cfg, file, m.CreatedAt)
	fmt.Fprintf(stdout, "restored into %s: backup of %s by Quire %s, schema %d; integrity_check ok. Start it with: quire serve --data-dir %s\n",
		cfg.DataDir, m.CreatedAt.Format("2006-01-02 15:04:05 MST"), m.Version, m.SchemaVersion, cfg.DataDir)
	return nil
}

// doctorCmd diagnoses an installation; exit status 1 when a check fails.
func doctorCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	full := fs.Bool("full", false, "run the full PRAGMA integrity_check (slower on big databases) instead of quick_check")
	cfg, err := config.Load(fs, args)
	if err != nil {
		return err
	}
	checks := ops.Doctor(context.Background(), ops.DoctorInput{
		DataDir: cfg.DataDir, DBPath: cfg.DBPath(), BackupsDir: cfg.BackupsDir(), OllamaURL: cfg.OllamaURL, OllamaURLSource: cfg.Source("ollama_url"),
		OllamaHosts:    cfg.OllamaHosts(),
		BackupInterval: cfg.BackupInterval.Duration, FullIntegrity: *full,
	})
	checks = append(checks, replica.Doctor(context.Background(), replica.OptionsFromConfig(cfg, nil))...)
	if ops.Report(stdout, checks) {
		return errors.New("doctor found problems")
	}
	return nil
}

// backupBeforeMigrate backs up a database that this binary is about to migrate,
// into data_dir/backups, so an upgrade can be undone with `quire restore`.
func backupBeforeMigrate(cfg config.Config) error {
	path, err := ops.PrepareUpgrade(context.Background(), cfg.DBPath(), cfg.FilesDir(), cfg.BackupsDir(), app.Version)
	if err != nil {
		return fmt.Errorf("before migrating: %w", err)
	}
	if path != "" {
		fmt.Fprintf(os.Stderr, "quire: the database is older than this binary; backed it up before migrating: %s\n", path)
	}
	return nil
}

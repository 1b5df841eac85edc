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
	"time"

	"quire/app/config"
	"quire/app/replica"
	"quire/store"
)

// usesFlag tells whether args set the flag name (-name, --name, --name=v).
func usesFlag(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// restoreFromReplica rebuilds an empty data dir from a replica: `quire
// restore --from-replica URL [--timestamp T] --data-dir EMPTY`. SSH key and
// host key come from the [replica] section, as for the server.
func restoreFromReplica(fs *flag.FlagSet, args []string, from, at *string, stdout io.Writer) error {
	cfg, err := config.Load(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 || *from == "" {
		return errors.New("usage: quire restore --from-replica URL [--timestamp T] --data-dir EMPTY_DIR (no backup FILE with it)")
	}
	var when time.Time
	if *at != "" {
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return fmt.Errorf("--timestamp %q: want RFC 3339 such as 2026-01-02T15:04:05Z", *at)
		}
	}
	t := replica.TargetFromConfig(cfg.Replica)
	t.URL = *from
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := replica.Restore(ctx, t, cfg.DataDir, when, store.LatestSchemaVersion(), newLogger(cfg))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored into %s from %s: the state of %s, schema %d, %d originals; integrity_check ok. Start it with: quire serve --data-dir %s\n",
		cfg.DataDir, t, res.At.UTC().Format(time.RFC3339), res.Schema, res.Files, cfg.DataDir)
	return nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"quire/app/audit"
	"quire/app/config"
	"quire/store"
)

// auditCmd is `quire audit verify`: it walks the audit log's hash chain and
// prints the first broken row (exit 1), or how many rows hold (exit 0). It
// only reads, so it is safe while the server runs.
func auditCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: quire audit verify [--data-dir DIR | --config FILE]")
	}
	cfg, err := config.Load(flag.NewFlagSet("audit verify", flag.ContinueOnError), args[1:])
	if err != nil {
		return err
	}
	st, err := store.OpenExisting(cfg.DBPath())
	if err != nil {
		return fmt.Errorf("%w (is --data-dir right?)", err)
	}
	defer st.Close()
	v, err := st.VerifyAudit(context.Background())
	var brk *store.AuditBreak
	if errors.As(err, &brk) {
		fmt.Fprintf(stdout, "audit log BROKEN at %s (%d rows before it verified)\n", brk.Error(), v.Rows)
		return errors.New("the audit log does not verify: it was changed outside Quire")
	}
	if err != nil {
		return err
	}
	if v.Rows == 0 {
		fmt.Fprintln(stdout, "audit log ok: empty")
		return nil
	}
	head, err := st.ListAudit(context.Background(), store.AuditFilter{AllWorkspaces: true, Limit: 1})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit log ok: %d rows, %d to %d", v.Rows, v.FirstID, v.LastID)
	if v.AnchoredAt > 0 {
		fmt.Fprintf(stdout, " (rows up to %d were pruned by retention)", v.AnchoredAt)
	}
	// The head lets an operator notice later that the newest rows were cut
	// off, which leaves a shorter chain that is valid in itself.
	fmt.Fprintf(stdout, "; head %s\n", head[0].Hash)
	return nil
}

// recordCLI appends what a quire subcommand did to the audit log of st at
// once (the process ends right after, so nothing is queued). A database
// older than the audit log (migration 0009) has nowhere to write it: that is
// said, and the command goes on.
func recordCLI(st *store.Store, action string, details map[string]any) {
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: audit.KindCLI})
	if err := audit.Append(ctx, st, audit.Event{Action: action, Details: details}); err != nil {
		fmt.Fprintf(os.Stderr, "quire: not recorded in the audit log (%s): %v\n", action, err)
	}
}

// recordRestore notes in the restored database's own log where it came from.
func recordRestore(cfg config.Config, file string, createdAt time.Time) {
	st, err := store.OpenExisting(cfg.DBPath())
	if err != nil {
		fmt.Fprintf(os.Stderr, "quire: not recorded in the audit log (backup.restored): %v\n", err)
		return
	}
	defer st.Close()
	recordCLI(st, "backup.restored", map[string]any{"file": file, "backup_created_at": createdAt})
}

package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"quire/app/audit"
	"quire/store"
)

// `quire audit verify` passes on an untouched log and names the first broken
// row, exiting non-zero, after a row is edited directly in SQLite.
func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"auth.login", "document.uploaded", "document.deleted"} {
		if err := audit.Append(context.Background(), st, audit.Event{Action: action, Workspace: "ws"}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	var out bytes.Buffer
	if err := run([]string{"audit", "verify", "--data-dir", dir}, nil, &out); err != nil || !strings.Contains(out.String(), "audit log ok: 3 rows") {
		t.Fatalf("verify: %v: %s", err, out.String())
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET action = 'document.viewed' WHERE id = 3"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	out.Reset()
	err = run([]string{"audit", "verify", "--data-dir", dir}, nil, &out)
	if err == nil || !strings.Contains(out.String(), "BROKEN at row 3") || !strings.Contains(out.String(), "edited") {
		t.Fatalf("after an edit: %v: %s", err, out.String())
	}
	if err := run([]string{"audit"}, nil, &out); err == nil {
		t.Fatal("quire audit without verify")
	}
}

// `quire backup` records itself before the snapshot, so the backup holds
// the entry, and `quire restore` records itself in the restored database,
// whose log still verifies.
func TestBackupAndRestoreCommandsAreAudited(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.Append(context.Background(), st, audit.Event{Action: "auth.login"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	file := filepath.Join(t.TempDir(), "b.tar.gz")
	var out bytes.Buffer
	if err := run([]string{"backup", file, "--data-dir", dir}, nil, &out); err != nil {
		t.Fatalf("backup: %v %s", err, out.String())
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if err := run([]string{"restore", file, "--data-dir", restored}, nil, &out); err != nil {
		t.Fatalf("restore: %v %s", err, out.String())
	}
	rs, err := store.OpenExisting(filepath.Join(restored, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	rows, err := rs.ListAudit(context.Background(), store.AuditFilter{AllWorkspaces: true})
	if err != nil || len(rows) != 3 || rows[0].Action != "backup.restored" || rows[1].Action != "backup.created" || rows[0].ActorKind != audit.KindCLI {
		t.Fatalf("restored log %+v %v", rows, err)
	}
	if _, err := rs.VerifyAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

package replica

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
}

// Originals are copied once, staging files (dot names) never, and a deleted
// original stays on the target until the retention has passed.
func TestFilesSyncCopiesNewAndDeletesAfterRetention(t *testing.T) {
	local, remote := t.TempDir(), t.TempDir()
	write(t, filepath.Join(local, "ws1", "doc1"), "one")
	write(t, filepath.Join(local, "ws1", ".upload-123"), "half an upload")
	f := &filesSync{dir: local, to: dirBlobs{root: remote}, keepDeleted: 200 * time.Millisecond, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	if err := f.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(remote, "ws1", "doc1")); err != nil || string(b) != "one" {
		t.Fatalf("not copied: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(remote, "ws1", ".upload-123")); err == nil {
		t.Fatal("a staging file was copied")
	}
	// Copied once: a changed mtime with the same size is not copied again.
	st, _ := os.Stat(filepath.Join(remote, "ws1", "doc1"))
	write(t, filepath.Join(local, "ws2", "doc2"), "two")
	if err := f.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(filepath.Join(remote, "ws1", "doc1")); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("an unchanged original was copied again")
	}
	if pending, err := f.status(); pending != 0 || err != nil {
		t.Errorf("status after a round: %d pending, %v", pending, err)
	}

	os.Remove(filepath.Join(local, "ws1", "doc1"))
	f.sync(ctx)
	if _, err := os.Stat(filepath.Join(remote, "ws1", "doc1")); err != nil {
		t.Fatal("a deleted original left the target before the retention passed")
	}
	time.Sleep(250 * time.Millisecond)
	f.sync(ctx)
	if _, err := os.Stat(filepath.Join(remote, "ws1", "doc1")); err == nil {
		t.Fatal("a deleted original is still on the target after the retention")
	}
	if _, err := os.Stat(filepath.Join(remote, "ws2", "doc2")); err != nil {
		t.Fatal("a live original was removed")
	}
}

// A target is not trusted: a restore copies only plain files with names the
// files folder could hold; links, dot-files and escapes are left behind.
func TestRestoreCopiesOnlyPlainOriginals(t *testing.T) {
	remote, outside, dest := t.TempDir(), t.TempDir(), t.TempDir()
	write(t, filepath.Join(remote, "ws", "doc"), "ok")
	write(t, filepath.Join(remote, "ws", ".partial-doc"), "half")
	write(t, filepath.Join(outside, "secret"), "not yours")
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(remote, "ws", "link"))
	os.Symlink(outside, filepath.Join(remote, "dirlink"))
	n, err := copyFiles(context.Background(), dirBlobs{root: remote}, dest)
	if err != nil || n != 1 {
		t.Fatalf("copied %d, %v", n, err)
	}
	entries, _ := os.ReadDir(filepath.Join(dest, "ws"))
	if len(entries) != 1 || entries[0].Name() != "doc" {
		t.Fatalf("restored %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dest, "dirlink")); err == nil {
		t.Fatal("a linked folder was followed")
	}
	for _, bad := range []string{"", "../x", "/etc/passwd", "a/../../b", ".hidden", "ws/.x", "a//b", `a\b`, "a/"} {
		if validRel(bad) {
			t.Errorf("validRel(%q) = true", bad)
		}
	}
	if !validRel("ws/doc") {
		t.Error("a plain original path is refused")
	}
}

// An unreachable SFTP target fails fast with the address, never the password.
func TestUnreachableSFTPFailsFast(t *testing.T) {
	tg := Target{URL: "sftp://quire:hunter2-pw@127.0.0.1:1/replica"}
	_, b, err := tg.clients()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = b.list(context.Background())
	if err == nil || time.Since(began) > dialTimeout {
		t.Fatalf("list on a closed port: %v after %v", err, time.Since(began))
	}
	if s := tg.String(); s != "sftp://quire:xxxxx@127.0.0.1:1/replica" {
		t.Errorf("shown as %q", s)
	}
}

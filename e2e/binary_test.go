package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"quire/store"
)

func TestServeCreatesDataDirAndStopsCleanly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fresh", "data")
	in := start(t, dir)
	t.Logf("start → first 200 on /api/health: %v", in.ready)
	for _, p := range []string{"quire.db", "files"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("data dir lacks %s: %v", p, err)
		}
	}
	var health struct{ Status, Version string }
	if in.api("GET", "/api/health", "", nil, &health) != 200 || health.Status != "ok" {
		t.Fatalf("health %+v", health)
	}
	var ready map[string]string
	if in.api("GET", "/api/ready", "", nil, &ready) != 200 || ready["database"] != "ok" || ready["ollama"] != "unreachable" {
		t.Fatalf("ready %+v", ready)
	}
	in.setupAdmin("a@example.com", "password-1", "A")
	if err := in.stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if in.logLine("stopped cleanly") == "" {
		t.Fatalf("no clean-stop log line:\n%s", in.logs.String())
	}
	// The database is intact and holds what was committed.
	st, err := store.Open(context.Background(), filepath.Join(dir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, _ := st.UserCount(context.Background()); n != 1 {
		t.Fatalf("%d users after restart", n)
	}
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(binary, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("", "version"); err != nil || !strings.HasPrefix(out, "quire ") {
		t.Fatalf("version: %q %v", out, err)
	}
	if out, err := run("", "migrate", "--data-dir", dir); err != nil || !strings.Contains(out, fmt.Sprintf("schema version %d (dirty: false)", store.LatestSchemaVersion())) {
		t.Fatalf("migrate: %q %v", out, err)
	}
	if out, err := run("secret-password\n", "admin", "create-user", "--data-dir", dir, "--email", "Root@Example.com", "--name", "Root", "--admin"); err != nil || !strings.Contains(out, "admin=true") {
		t.Fatalf("create-user: %q %v", out, err)
	}
	if out, err := run("", "admin", "create-user", "--data-dir", dir, "--email", "root@example.com", "--password", "another-password"); err == nil || !strings.Contains(out, "already exists") {
		t.Fatalf("duplicate create-user: %q %v", out, err)
	}
	if out, err := run("short\n", "admin", "reset-password", "--data-dir", dir, "--email", "root@example.com"); err == nil || !strings.Contains(out, "at least 8") {
		t.Fatalf("short reset: %q %v", out, err)
	}
	if out, err := run("", "admin", "reset-password", "--data-dir", dir, "--email", "root@example.com", "--password", "new-password-9"); err != nil {
		t.Fatalf("reset-password: %q %v", out, err)
	}
	// The new password signs in on the real server.
	in := start(t, dir)
	if code := in.api("POST", "/api/auth/login", "", map[string]string{"email": "root@example.com", "password": "new-password-9"}, nil); code != 200 {
		t.Fatalf("login after CLI reset: %d", code)
	}
	if out, err := run("", "serve", "--data-dir", dir, "--listen", "nonsense"); err == nil || !strings.Contains(out, "want host:port") {
		t.Fatalf("bad listen: %q %v", out, err)
	}
	if out, err := run("", "frobnicate"); err == nil || !strings.Contains(out, "unknown command") {
		t.Fatalf("unknown command: %q %v", out, err)
	}
}

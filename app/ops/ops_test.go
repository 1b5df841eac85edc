package ops

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quire/store"
)

// instance is a store with a user, a workspace and one uploaded file.
func instance(t *testing.T) (dir string, st *store.Store, wsID string) {
	t.Helper()
	dir = t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, err := st.CreateUser(ctx, "o@example.com", "O", "x", true)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.CreateWorkspace(ctx, u.ID, "Team")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "files", ws.ID), 0o750)
	if err := os.WriteFile(filepath.Join(dir, "files", ws.ID, "doc1"), []byte("hello original"), 0o640); err != nil {
		t.Fatal(err)
	}
	return dir, st, ws.ID
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir, st, wsID := instance(t)
	dest := filepath.Join(t.TempDir(), "b.tar.gz")
	res, err := Create(ctx, Source{Store: st, FilesDir: filepath.Join(dir, "files"), Version: "test"}, dest)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 || res.Size == 0 || res.Manifest.SchemaVersion != store.LatestSchemaVersion() || res.Manifest.DatabaseSHA256 == "" {
		t.Fatalf("result %+v", res)
	}
	if _, err := Create(ctx, Source{Store: st, FilesDir: filepath.Join(dir, "files")}, dest); err == nil {
		t.Fatal("a backup overwrote an existing file")
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left next to the backup: %v", leftovers)
	}

	target := filepath.Join(t.TempDir(), "restored")
	m, err := Restore(ctx, dest, target, store.LatestSchemaVersion())
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "test" {
		t.Fatalf("manifest %+v", m)
	}
	if b, err := os.ReadFile(filepath.Join(target, "files", wsID, "doc1")); err != nil || string(b) != "hello original" {
		t.Fatalf("file: %q %v", b, err)
	}
	rs, err := store.Open(ctx, filepath.Join(target, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if n, _ := rs.UserCount(ctx); n != 1 {
		t.Fatalf("%d users restored", n)
	}

	// Not into a non-empty folder, and not a newer schema.
	if _, err := Restore(ctx, dest, target, store.LatestSchemaVersion()); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a non-empty dir: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "x")
	if _, err := Restore(ctx, dest, empty, 0); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("restore of a newer schema: %v", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) > 0 {
		t.Fatalf("a refused restore left %d entries", len(entries))
	}
}

// hostileArchive builds a tar.gz with a valid manifest and the given extra entries.
func hostileArchive(t *testing.T, extra ...*tar.Header) string {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	raw, _ := json.Marshal(Manifest{Format: FormatVersion, SchemaVersion: 1})
	tw.WriteHeader(&tar.Header{Name: manifestName, Size: int64(len(raw)), Mode: 0o600, Typeflag: tar.TypeReg})
	tw.Write(raw)
	for _, h := range extra {
		if h.Typeflag == tar.TypeReg {
			h.Size = 4
		}
		tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("evil"))
		}
	}
	tw.Close()
	gz.Close()
	p := filepath.Join(t.TempDir(), "hostile.tar.gz")
	os.WriteFile(p, buf.Bytes(), 0o600)
	return p
}

func TestRestoreRefusesHostileEntries(t *testing.T) {
	for _, h := range []*tar.Header{
		{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o600},
		{Name: "files/../../evil", Typeflag: tar.TypeReg, Mode: 0o600},
		{Name: "/etc/evil", Typeflag: tar.TypeReg, Mode: 0o600},
		{Name: "files/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		{Name: "elsewhere.txt", Typeflag: tar.TypeReg, Mode: 0o600},
	} {
		root := t.TempDir()
		target := filepath.Join(root, "data")
		_, err := Restore(context.Background(), hostileArchive(t, h), target, 1)
		if err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("%s: %v", h.Name, err)
		}
		if _, err := os.Stat(filepath.Join(root, "evil")); err == nil {
			t.Errorf("%s escaped the data dir", h.Name)
		}
	}
	// A truncated archive is an error, never a half-restored instance.
	_, st, _ := instance(t)
	dest := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := Create(context.Background(), Source{Store: st, FilesDir: t.TempDir()}, dest); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(dest)
	os.WriteFile(dest, raw[:len(raw)/2], 0o600)
	target := filepath.Join(t.TempDir(), "data")
	if _, err := Restore(context.Background(), dest, target, 1); err == nil {
		t.Fatal("restored a truncated archive")
	}
	if entries, _ := os.ReadDir(target); len(entries) > 0 {
		t.Fatalf("a failed restore left %d entries", len(entries))
	}
}

func TestBackupNames(t *testing.T) {
	good := NewName(KindAuto, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if good != "quire-auto-20250102T030405.000Z.tar.gz" || !ValidName(good) {
		t.Fatalf("NewName %q", good)
	}
	for _, bad := range []string{"", "../quire-auto-20250102T030405Z.tar.gz", "quire-auto-20250102T030405Z.tar.gz/..", "/etc/passwd",
		"quire-auto-20250102T030405Z.tar", "..", "quire-../../x-20250102T030405Z.tar.gz", "quire-auto-20250102T030405Z.tar.gz\x00", ".quire-auto-20250102T030405Z.tar.gz.partial-1"} {
		if ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
}

func TestRunListPrune(t *testing.T) {
	dir, st, _ := instance(t)
	b := &Backups{Dir: filepath.Join(dir, "backups"), Source: Source{Store: st, FilesDir: filepath.Join(dir, "files")}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for range 3 {
		if _, err := b.Run(context.Background(), KindAuto); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // distinct names and mtimes
	}
	if _, err := b.Run(context.Background(), KindManual); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(b.Dir, ".quire-auto-x.tar.gz.partial-9"), []byte("half"), 0o600)
	all, _ := b.List()
	if len(all) != 4 || all[0].Kind != KindManual {
		t.Fatalf("list %+v", all)
	}
	removed, err := b.Prune(1)
	if err != nil || len(removed) != 2 {
		t.Fatalf("prune removed %v %v", removed, err)
	}
	all, _ = b.List()
	if len(all) != 2 {
		t.Fatalf("after prune %+v", all)
	}
	if _, err := b.Path("../quire.db"); err == nil {
		t.Fatal("Path accepted a traversal")
	}
	if p, err := b.Path(all[0].Name); err != nil || filepath.Dir(p) != b.Dir {
		t.Fatalf("Path %q %v", p, err)
	}
	// One at a time.
	b.mu.Lock()
	if _, err := b.Run(context.Background(), KindManual); !errors.Is(err, ErrBusy) {
		t.Fatalf("concurrent run: %v", err)
	}
	b.mu.Unlock()
	// The schedule resumes one interval after the newest scheduled backup.
	if d := b.firstDelay(time.Hour, time.Now()); d < 59*time.Minute {
		t.Fatalf("first delay %v after a fresh backup", d)
	}
	if d := b.firstDelay(time.Hour, time.Now().Add(3*time.Hour)); d != time.Minute {
		t.Fatalf("overdue first delay %v", d)
	}
}

func TestBackupBeforeMigrate(t *testing.T) {
	backedUp := 0
	plan := func(v uint, dirty bool) UpgradePlan {
		return UpgradePlan{Latest: 3,
			Current: func() (uint, bool, error) { return v, dirty, nil },
			Backup:  func(from uint) (string, error) { backedUp++; return fmt.Sprintf("pre-%d", from), nil }}
	}
	if p, err := BackupBeforeMigrate(plan(2, false)); err != nil || p != "pre-2" || backedUp != 1 {
		t.Fatalf("older schema: %q %v backups=%d", p, err, backedUp)
	}
	for _, v := range []uint{0, 3} {
		if p, err := BackupBeforeMigrate(plan(v, false)); err != nil || p != "" {
			t.Fatalf("schema %d: %q %v", v, p, err)
		}
	}
	if _, err := BackupBeforeMigrate(plan(2, true)); err == nil || !strings.Contains(err.Error(), "dirty") {
		t.Fatalf("dirty: %v", err)
	}
	if _, err := BackupBeforeMigrate(plan(4, false)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("newer: %v", err)
	}
	if backedUp != 1 {
		t.Fatalf("%d backups taken", backedUp)
	}
	failing := plan(1, false)
	failing.Backup = func(uint) (string, error) { return "", errors.New("disk full") }
	if _, err := BackupBeforeMigrate(failing); err == nil || !strings.Contains(err.Error(), "nothing was migrated") {
		t.Fatalf("failed backup: %v", err)
	}
	// The real thing on an up-to-date database takes no backup.
	dir, st, _ := instance(t)
	st.Close()
	if p, err := PrepareUpgrade(context.Background(), filepath.Join(dir, "quire.db"), filepath.Join(dir, "files"), filepath.Join(dir, "backups"), "t"); err != nil || p != "" {
		t.Fatalf("PrepareUpgrade: %q %v", p, err)
	}
}

func TestMetricsExposition(t *testing.T) {
	m := NewMetrics()
	m.ObserveRequest("/api/workspaces/:ws", "GET", 200, 30*time.Millisecond)
	m.ObserveRequest("/api/workspaces/:ws", "GET", 200, 2*time.Second)
	m.ObserveOllama("chat", 3*time.Second, nil)
	m.ObserveOllama("embed", time.Second, errors.New("x"))
	var buf bytes.Buffer
	if err := m.Write(&buf, `v"1`, Gauge{"quire_tasks", "Tasks.", []Sample{{Labels: []string{"status", "queued"}, Value: 4}}}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`quire_http_requests_total{route="/api/workspaces/:ws",method="GET",status="200"} 2`,
		`quire_http_request_duration_seconds_bucket{route="/api/workspaces/:ws",method="GET",le="0.05"} 1`,
		`quire_http_request_duration_seconds_bucket{route="/api/workspaces/:ws",method="GET",le="+Inf"} 2`,
		`quire_http_request_duration_seconds_count{route="/api/workspaces/:ws",method="GET"} 2`,
		`quire_ollama_call_duration_seconds_count{kind="chat",outcome="ok"} 1`,
		`quire_ollama_call_duration_seconds_count{kind="embed",outcome="error"} 1`,
		`quire_tasks{status="queued"} 4`,
		`quire_build_info{version="v\"1"`,
		"# TYPE quire_http_request_duration_seconds histogram",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	// Every non-comment line is "name{labels} value".
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "#") && len(strings.Fields(line)) < 2 {
			t.Errorf("malformed line %q", line)
		}
	}
}

func TestDoctor(t *testing.T) {
	dir, st, _ := instance(t)
	os.Chmod(dir, 0o750)
	ctx := context.Background()
	if err := st.PutSetting(ctx, "instance", map[string]string{"default_chat_model": "tiny", "default_embedding_model": "embed:v1"}); err != nil {
		t.Fatal(err)
	}
	ollama := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"models":[{"name":"tiny:latest"}]}`)
	}))
	defer ollama.Close()
	in := DoctorInput{DataDir: dir, DBPath: filepath.Join(dir, "quire.db"), BackupsDir: filepath.Join(dir, "backups"), OllamaURL: ollama.URL, FullIntegrity: true}
	checks := Doctor(ctx, in)
	got := map[string]Status{}
	for _, c := range checks {
		got[c.Name] = c.Status
	}
	want := map[string]Status{"data dir": OK, "database integrity (integrity_check)": OK, "migrations": OK, "ollama": OK,
		"chat model": OK, "embedding model": Fail, "backups": Warn}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v (%+v)", k, got[k], v, checks)
		}
	}
	var buf bytes.Buffer
	if !Report(&buf, checks) || !strings.Contains(buf.String(), "ollama pull embed:v1") {
		t.Fatalf("report:\n%s", buf.String())
	}
	// Huge thresholds make the disk check fail; no database fails the run.
	in.WarnFreeBytes, in.FailFreeBytes = 1<<62, 1<<61
	in.OllamaURL = "http://127.0.0.1:1"
	os.Chmod(dir, 0o757)
	st.PutSetting(ctx, "instance", map[string]string{})
	for _, c := range Doctor(ctx, in) {
		if (c.Name == "disk space" && c.Status != Fail) || (c.Name == "data dir" && c.Status != Warn) || (c.Name == "ollama" && c.Status != Warn) {
			t.Errorf("%+v", c)
		}
	}
	in.DBPath = filepath.Join(t.TempDir(), "missing.db")
	if !Report(io.Discard, Doctor(ctx, in)) {
		t.Fatal("doctor passed without a database")
	}
}

// Doctor checks the Ollama URL the server would use: one set explicitly (here
// by --ollama-url) wins over the admin's stored URL, and the report says where
// the URL comes from; without an explicit one the stored URL is checked.
func TestDoctorChecksTheOllamaURLInEffect(t *testing.T) {
	dir, st, _ := instance(t)
	ctx := context.Background()
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"models":[{"name":"tiny:latest"}]}`)
	}))
	defer live.Close()
	if err := st.PutSetting(ctx, "instance", map[string]string{"ollama_url": "http://127.0.0.1:1", "default_chat_model": "tiny"}); err != nil {
		t.Fatal(err)
	}
	ollama := func(in DoctorInput) Check {
		in.DataDir, in.DBPath, in.BackupsDir = dir, filepath.Join(dir, "quire.db"), filepath.Join(dir, "backups")
		for _, c := range Doctor(ctx, in) {
			if c.Name == "ollama" {
				return c
			}
		}
		t.Fatal("no ollama check")
		return Check{}
	}
	if c := ollama(DoctorInput{OllamaURL: live.URL, OllamaURLSource: "--ollama-url"}); c.Status != OK || !strings.Contains(c.Detail, live.URL) || !strings.Contains(c.Detail, "set by --ollama-url") {
		t.Errorf("explicit URL: %+v", c)
	}
	if c := ollama(DoctorInput{OllamaURL: live.URL}); c.Status != Fail || !strings.Contains(c.Detail, "127.0.0.1:1") || !strings.Contains(c.Detail, "Administration → Settings") {
		t.Errorf("default URL under a stored one: %+v", c)
	}
	if c := ollama(DoctorInput{OllamaURL: "http://127.0.0.1:1", OllamaURLSource: "QUIRE_OLLAMA_URL"}); c.Status != Fail || !strings.Contains(c.Fix, "set by QUIRE_OLLAMA_URL") {
		t.Errorf("explicit dead URL: %+v", c)
	}
}

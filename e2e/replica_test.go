package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"quire/store"
)

// replicaLag reads quire_replica_lag_seconds from /metrics.
func replicaLag(t *testing.T, in *instance, token string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", in.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^quire_replica_lag_seconds ([0-9.e+-]+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no quire_replica_lag_seconds:\n%s", body)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// missing counts the listed folders absent from a stopped instance's database.
func missing(t *testing.T, dataDir, wsID string, ids []int64) int {
	t.Helper()
	st, err := store.OpenExisting(filepath.Join(dataDir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	for _, id := range ids {
		if _, err := st.GetFolder(context.Background(), wsID, id); err != nil {
			n++
		}
	}
	return n
}

// The figure the replica exists for: the server is killed (-9) while eight
// clients write through the API, and an empty data dir restored from the
// file replica loses only the writes of the last sync interval or so. A CLI
// backup taken while replicating is sound too (Litestream and VACUUM INTO
// share the WAL), and a point-in-time restore brings back an older state.
func TestReplicaKill9LosesSeconds(t *testing.T) {
	target := t.TempDir()
	url := "file://" + target
	const interval = time.Second
	in := start(t, "", "QUIRE_REPLICA_URL="+url, "QUIRE_REPLICA_SYNC_INTERVAL="+interval.String())
	token, wsID := owner(t, in)
	original := filepath.Join(in.DataDir, "files", wsID, "00000000-doc")
	os.MkdirAll(filepath.Dir(original), 0o750)
	os.WriteFile(original, []byte("an uploaded original"), 0o640)

	w := startWriters(t, in, token, wsID, 8)
	time.Sleep(1500 * time.Millisecond)
	backupAt := time.Now()
	archive := filepath.Join(t.TempDir(), "during.tar.gz")
	if out, err := quire("backup", archive, "--data-dir", in.DataDir); err != nil {
		t.Fatalf("backup while replicating: %v\n%s", err, out)
	}
	time.Sleep(1500 * time.Millisecond)
	pitAt := time.Now()
	// Past the check's 3-interval margin, however quickly doctor answers below,
	// so writes acknowledged after the point in time exist.
	time.Sleep(4 * interval)
	if lag := replicaLag(t, in, token); lag > 3*interval.Seconds() {
		t.Errorf("replica lag %.1fs under load with a %s interval", lag, interval)
	}
	if out, err := quire("doctor", "--data-dir", in.DataDir, "--ollama-url", "http://127.0.0.1:1",
		"--config", writeConfig(t, url, interval)); !strings.Contains(out, "ok    replica ") || !strings.Contains(out, "originals on the replica") {
		t.Errorf("doctor while replicating: %v\n%s", err, out)
	}

	killed, acked := w.killMidLoad(t, in)

	restored := filepath.Join(t.TempDir(), "restored")
	out, err := quire("restore", "--from-replica", url, "--data-dir", restored)
	if err != nil || !strings.Contains(out, "integrity_check ok") {
		t.Fatalf("restore from the replica: %v\n%s", err, out)
	}
	lost := missing(t, restored, wsID, acked)
	// The window lost: from the oldest lost acknowledgement to the kill.
	window := time.Duration(0)
	for _, back := range []time.Duration{50, 100, 250, 500, 1000, 1500, 2000, 3000} {
		if lost > 0 && missing(t, restored, wsID, w.ackedBefore(killed.Add(-back*time.Millisecond))) == 0 {
			window = back * time.Millisecond
			break
		}
	}
	t.Logf("sync_interval %s: kill -9 after %d acknowledged writes; the restore lost %d (%.2f%%), all acknowledged within the last %v",
		interval, len(acked), lost, 100*float64(lost)/float64(len(acked)), window)
	if len(acked) < 100 {
		t.Fatalf("only %d writes acknowledged: the load did not run", len(acked))
	}
	// What was acknowledged more than a few intervals before the kill is on the replica.
	if n := missing(t, restored, wsID, w.ackedBefore(killed.Add(-3*interval))); n > 0 {
		t.Errorf("%d writes acknowledged over %s before the kill are missing", n, 3*interval)
	}
	if b, err := os.ReadFile(filepath.Join(restored, "files", wsID, "00000000-doc")); err != nil || string(b) != "an uploaded original" {
		t.Errorf("the original was not restored: %q %v", b, err)
	}

	// The backup taken while Litestream held the WAL restores soundly.
	fromBackup := filepath.Join(t.TempDir(), "from-backup")
	if out, err := quire("restore", archive, "--data-dir", fromBackup); err != nil {
		t.Fatalf("restore the backup taken while replicating: %v\n%s", err, out)
	}
	checkDB(t, fromBackup, wsID, w.ackedBefore(backupAt))

	// Point in time: everything acknowledged well before it, nothing from well after it.
	pit := filepath.Join(t.TempDir(), "pit")
	out, err = quire("restore", "--from-replica", url, "--timestamp", pitAt.UTC().Format(time.RFC3339), "--data-dir", pit)
	if err != nil {
		t.Fatalf("point-in-time restore: %v\n%s", err, out)
	}
	// RFC 3339 in the command has whole seconds.
	cut := pitAt.Truncate(time.Second)
	if n := missing(t, pit, wsID, w.ackedBefore(cut.Add(-3*interval))); n > 0 {
		t.Errorf("point-in-time restore lacks %d writes acknowledged before it", n)
	}
	later := len(acked) - len(w.ackedBefore(cut.Add(3*interval)))
	if later == 0 {
		t.Fatal("no writes after the point in time: the check below proves nothing")
	}
	var after []int64
	for _, id := range acked {
		if !contains(w.ackedBefore(cut.Add(3*interval)), id) {
			after = append(after, id)
		}
	}
	if n := missing(t, pit, wsID, after); n != len(after) {
		t.Errorf("point-in-time restore holds %d of the %d writes acknowledged after it", len(after)-n, len(after))
	}

	// The restored instance serves.
	re := start(t, restored)
	var got struct{ Items []any }
	if code := re.api("GET", "/api/workspaces/"+wsID+"/folders", token, nil, &got); code != 200 || len(got.Items) < len(acked)-lost {
		t.Fatalf("restored instance: %d, %d folders", code, len(got.Items))
	}
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// writeConfig writes a config file with a [replica] section (doctor reads it).
func writeConfig(t *testing.T, url string, interval time.Duration) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "quire.toml")
	body := fmt.Sprintf("[replica]\nurl = %q\nsync_interval = %q\n", url, interval.String())
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A graceful stop ships what the interval had not yet: with a one-hour sync
// interval nothing but the shutdown flush can bring the last writes over.
func TestReplicaShutdownFlushes(t *testing.T) {
	target := t.TempDir()
	url := "file://" + target
	in := start(t, "", "QUIRE_REPLICA_URL="+url, "QUIRE_REPLICA_SYNC_INTERVAL=1h")
	token, wsID := owner(t, in)
	w := startWriters(t, in, token, wsID, 4)
	time.Sleep(time.Second)
	w.halt()
	if err := in.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	restored := filepath.Join(t.TempDir(), "r")
	if out, err := quire("restore", "--from-replica", url, "--data-dir", restored); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	acked := w.ackedBefore(time.Now())
	if len(acked) == 0 {
		t.Fatal("no write acknowledged")
	}
	if n := missing(t, restored, wsID, acked); n > 0 {
		t.Fatalf("a graceful stop left %d of %d writes off the replica", n, len(acked))
	}
}

// Hostile and broken targets: an unknown scheme stops the start with a clear
// message; an unreachable one does not stop serving (doctor and /metrics say
// so, and its password appears nowhere); restores refuse a corrupt replica, a
// time before the first snapshot and a non-empty data dir, leaving the data
// dir empty.
func TestReplicaHostile(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--listen", freePort(t), "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "QUIRE_REPLICA_URL=ftp://nas.example/quire")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `scheme "ftp" is not supported`) {
		t.Fatalf("unknown scheme: %v\n%s", err, out)
	}

	const secret = "s3cret-Pw"
	down := "sftp://quire:" + secret + "@" + freePort(t) + "/replica"
	in := start(t, "", "QUIRE_REPLICA_URL="+down, "QUIRE_REPLICA_SYNC_INTERVAL=200ms")
	token, wsID := owner(t, in)
	var f struct{ ID int64 }
	if code := in.api("POST", "/api/workspaces/"+wsID+"/folders", token, map[string]string{"name": "still serving"}, &f); code != 201 {
		t.Fatalf("write with the replica down: %d", code)
	}
	time.Sleep(600 * time.Millisecond)
	if lag := replicaLag(t, in, token); lag < 0.5 {
		t.Errorf("lag %.2fs while the target was never reached", lag)
	}
	out2, err := quire("doctor", "--data-dir", in.DataDir, "--ollama-url", "http://127.0.0.1:1", "--config", writeConfig(t, down, 200*time.Millisecond))
	if err == nil || !strings.Contains(out2, "FAIL  replica") || !strings.Contains(out2, "unreachable") {
		t.Errorf("doctor with the replica down: %v\n%s", err, out2)
	}
	for what, text := range map[string]string{"doctor": out2, "server log": in.logs.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("the %s shows the replica password", what)
		}
	}
	if !strings.Contains(in.logs.String(), "replica unreachable") {
		t.Errorf("the log does not say the replica is unreachable:\n%s", in.logs.String())
	}

	// A good replica, then restores that must fail cleanly.
	target := t.TempDir()
	url := "file://" + target
	good := start(t, "", "QUIRE_REPLICA_URL="+url)
	owner(t, good)
	good.stop()

	dest := filepath.Join(t.TempDir(), "dest")
	if out, err := quire("restore", "--from-replica", url, "--timestamp", "2001-01-01T00:00:00Z", "--data-dir", dest); err == nil || !strings.Contains(out, "before its oldest restore point") {
		t.Errorf("timestamp before the first snapshot: %v\n%s", err, out)
	}
	assertEmpty(t, dest)
	if out, err := quire("restore", "--from-replica", url, "--timestamp", "yesterday", "--data-dir", dest); err == nil || !strings.Contains(out, "RFC 3339") {
		t.Errorf("malformed timestamp: %v\n%s", err, out)
	}
	if out, err := quire("restore", "--from-replica", "file://"+t.TempDir(), "--data-dir", dest); err == nil || !strings.Contains(out, "holds no database") {
		t.Errorf("empty replica: %v\n%s", err, out)
	}
	assertEmpty(t, dest)
	busy := t.TempDir()
	os.WriteFile(filepath.Join(busy, "keep.txt"), []byte("x"), 0o640)
	if out, err := quire("restore", "--from-replica", url, "--data-dir", busy); err == nil || !strings.Contains(out, "not empty") {
		t.Errorf("non-empty data dir: %v\n%s", err, out)
	}

	// Damage every LTX file in the middle (past its header): Litestream's
	// checksums must refuse it.
	filepath.WalkDir(filepath.Join(target, "db"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".ltx") {
			b, _ := os.ReadFile(p)
			for i := len(b) / 2; i < len(b)/2+64 && i < len(b); i++ {
				b[i] ^= 0xff
			}
			os.WriteFile(p, b, 0o640)
		}
		return nil
	})
	out3, err := quire("restore", "--from-replica", url, "--data-dir", dest)
	if err == nil || !strings.Contains(out3, "could not be restored") {
		t.Errorf("corrupt replica: %v\n%s", err, out3)
	}
	assertEmpty(t, dest)
}

// assertEmpty: a failed restore leaves the data dir absent or empty.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) > 0 {
		t.Errorf("a failed restore left %s in %s", entries[0].Name(), dir)
	}
}

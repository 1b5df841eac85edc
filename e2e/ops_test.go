package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"quire/store"
)

// owner sets up the instance's first user (its admin) and makes a workspace.
func owner(t *testing.T, in *instance) (token, wsID string) {
	t.Helper()
	token = in.setupAdmin("ops@example.com", "password-1", "Ops")
	var ws struct{ ID string }
	if code := in.api("POST", "/api/workspaces", token, map[string]string{"name": "Ops"}, &ws); code != 201 {
		t.Fatalf("workspace: %d", code)
	}
	return token, ws.ID
}

// writer keeps creating folders through the API and remembers each one the
// server acknowledged with a 2xx, with when the acknowledgement arrived.
type writer struct {
	mu    sync.Mutex
	acked map[int64]time.Time
	fails int
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startWriters(t *testing.T, in *instance, token, wsID string, n int) *writer {
	w := &writer{acked: map[int64]time.Time{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	for g := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for i := 0; i < 100000; i++ { // bounded; stopped long before
				select {
				case <-w.stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"name":"g%d-%d"}`, g, i)
				req, _ := http.NewRequest("POST", in.URL+"/api/workspaces/"+wsID+"/folders", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					w.mu.Lock()
					w.fails++
					w.mu.Unlock()
					continue
				}
				var f struct{ ID int64 }
				ok := resp.StatusCode == 201 && decode(resp.Body, &f) == nil
				resp.Body.Close()
				w.mu.Lock()
				if ok {
					w.acked[f.ID] = time.Now()
				} else {
					w.fails++
				}
				w.mu.Unlock()
			}
		}()
	}
	return w
}

func (w *writer) halt() { close(w.stop); w.wg.Wait() }

// killMidLoad fails the test if any write failed so far, kills the server
// with kill -9 while the writers still write, stops them and returns when it
// died and the writes acknowledged before that.
func (w *writer) killMidLoad(t *testing.T, in *instance) (killed time.Time, acked []int64) {
	t.Helper()
	w.mu.Lock()
	failed := w.fails
	w.mu.Unlock()
	if failed > 0 {
		t.Errorf("%d writes failed while replicating", failed)
	}
	in.cmd.Process.Kill()
	<-in.done
	killed = time.Now()
	w.halt()
	return killed, w.ackedBefore(killed)
}

// ackedBefore lists the folders acknowledged before t.
func (w *writer) ackedBefore(t time.Time) []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []int64
	for id, at := range w.acked {
		if at.Before(t) {
			ids = append(ids, id)
		}
	}
	return ids
}

// checkDB opens a stopped instance's database: integrity_check must pass and
// every listed folder must be there.
func checkDB(t *testing.T, dataDir, wsID string, want []int64) {
	t.Helper()
	st, err := store.OpenExisting(filepath.Join(dataDir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if p, err := st.IntegrityCheck(ctx, false); err != nil || len(p) > 0 {
		t.Fatalf("integrity_check: %v %v", p, err)
	}
	missing := 0
	for _, id := range want {
		if _, err := st.GetFolder(ctx, wsID, id); err != nil {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes are missing", missing, len(want))
	}
}

func quire(args ...string) (string, error) {
	out, err := exec.Command(binary, args...).CombinedOutput()
	return string(out), err
}

// A backup taken by the CLI while the server takes writes restores into a
// sound instance holding every write acknowledged before the backup began.
func TestOnlineBackupWhileWriting(t *testing.T) {
	in := start(t, "")
	token, wsID := owner(t, in)
	os.WriteFile(filepath.Join(in.DataDir, "files", "original.txt"), []byte("an uploaded original"), 0o640)
	w := startWriters(t, in, token, wsID, 8)
	time.Sleep(700 * time.Millisecond)
	began := time.Now()
	archive := filepath.Join(t.TempDir(), "live.tar.gz")
	out, err := quire("backup", archive, "--data-dir", in.DataDir)
	took := time.Since(began)
	time.Sleep(300 * time.Millisecond)
	w.halt()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	during := len(w.ackedBefore(began.Add(took))) - len(w.ackedBefore(began))
	fi, _ := os.Stat(archive)
	t.Logf("backup of %d acknowledged writes took %v, %d bytes; %d writes acknowledged while it ran; %s", len(w.ackedBefore(began)), took, fi.Size(), during, strings.TrimSpace(out))
	if during == 0 {
		t.Error("no write was acknowledged while the backup ran: the backup blocked the server")
	}
	if w.fails > 0 {
		t.Errorf("%d writes failed during the backup", w.fails)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if out, err := quire("restore", archive, "--data-dir", restored); err != nil || !strings.Contains(out, "integrity_check ok") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if out, err := quire("restore", archive, "--data-dir", restored); err == nil || !strings.Contains(out, "not empty") {
		t.Fatalf("restore into a non-empty dir: %v\n%s", err, out)
	}
	checkDB(t, restored, wsID, w.ackedBefore(began))
	if b, err := os.ReadFile(filepath.Join(restored, "files", "original.txt")); err != nil || string(b) != "an uploaded original" {
		t.Fatalf("files folder not restored: %q %v", b, err)
	}
	// The restored instance serves the same data.
	re := start(t, restored)
	var got struct{ Items []any }
	if code := re.api("GET", "/api/workspaces/"+wsID+"/folders", token, nil, &got); code != 200 || len(got.Items) < len(w.ackedBefore(began)) {
		t.Fatalf("restored folders: %d, %d items", code, len(got.Items))
	}
	if out, err := quire("doctor", "--data-dir", restored, "--ollama-url", "http://127.0.0.1:1", "--full"); !strings.Contains(out, "ok    database integrity (integrity_check)") {
		t.Errorf("doctor on the restored instance: %v\n%s", err, out)
	}
}

// The admin API makes, lists and serves backups, to instance admins only, and
// no backup name reaches outside the backups folder.
func TestBackupAPI(t *testing.T) {
	in := start(t, "")
	token, wsID := owner(t, in)
	var other struct{ Token string }
	in.api("POST", "/api/auth/signup", "", map[string]string{"email": "member@example.com", "password": "password-1"}, &other)
	w := startWriters(t, in, token, wsID, 4)
	var made struct {
		Name string
		Size int64
	}
	code := in.api("POST", "/api/admin/backups", token, nil, &made)
	w.halt()
	if code != 201 || made.Size == 0 {
		t.Fatalf("create: %d %+v", code, made)
	}
	var list []struct{ Name, Kind string }
	if in.api("GET", "/api/admin/backups", token, nil, &list) != 200 || len(list) != 1 || list[0].Name != made.Name || list[0].Kind != "manual" {
		t.Fatalf("list: %+v", list)
	}
	for _, who := range []string{other.Token, ""} {
		if code := in.api("GET", "/api/admin/backups", who, nil, nil); code != 403 && code != 401 {
			t.Fatalf("list as non-admin: %d", code)
		}
	}
	get := func(name string) (int, []byte, http.Header) {
		req, _ := http.NewRequest("GET", in.URL+"/api/admin/backups/"+name, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	code, body, h := get(made.Name)
	if code != 200 || int64(len(body)) != made.Size || !strings.Contains(h.Get("Content-Disposition"), made.Name) {
		t.Fatalf("download: %d, %d bytes, %v", code, len(body), h)
	}
	for _, evil := range []string{"..%2Fquire.db", "%2E%2E%2Fquire.db", "..%2F..%2Fetc%2Fpasswd", "quire.db", "%2Fetc%2Fpasswd", ".." + made.Name} {
		if code, body, _ := get(evil); code != 404 {
			t.Errorf("GET backups/%s: %d %q", evil, code, body)
		}
	}
	// The backups page lists it.
	req, _ := http.NewRequest("GET", in.URL+"/admin/backups", nil)
	req.AddCookie(&http.Cookie{Name: "quire_session", Value: token})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), made.Name) || !strings.Contains(string(page), "Create a backup now") {
		t.Fatalf("backups page: %d\n%s", resp.StatusCode, page)
	}
}

func TestMetrics(t *testing.T) {
	in := start(t, "")
	token, wsID := owner(t, in)
	in.api("GET", "/api/workspaces/"+wsID+"/members", token, nil, nil)
	in.api("GET", "/no/such/thing", "", nil, nil)
	if code := in.api("GET", "/metrics", "", nil, nil); code != 401 {
		t.Fatalf("anonymous /metrics: %d", code)
	}
	req, _ := http.NewRequest("GET", in.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`quire_http_requests_total{route="/api/workspaces/:ws/members",method="GET",status="200"} 1`,
		`quire_http_requests_total{route="unmatched",method="GET",status="404"} 1`,
		`quire_http_request_duration_seconds_bucket{route="/api/workspaces",method="POST",le="+Inf"} 1`,
		`quire_document_tasks{status="queued"} 0`,
		`quire_database_bytes{file="db"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	if strings.Contains(string(body), wsID) {
		t.Error("/metrics labels carry raw paths (a workspace id)")
	}
	pub := start(t, "", "QUIRE_METRICS_PUBLIC=true")
	if code := pub.api("GET", "/metrics", "", nil, nil); code != 200 {
		t.Fatalf("public /metrics: %d", code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	in := start(t, "")
	for _, path := range []string{"/login", "/api/health", "/api/me"} {
		resp, err := http.Get(in.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s (%d): security headers missing: %v", path, resp.StatusCode, h)
		}
	}
}

func TestOversizedBodies(t *testing.T) {
	in := start(t, "", "QUIRE_MAX_BODY_KB=1", "QUIRE_MAX_UPLOAD_MB=1")
	big := map[string]string{"email": "a@example.com", "password": strings.Repeat("x", 4096)}
	var e struct{ Error struct{ Code string } }
	if code := in.api("POST", "/api/auth/signup", "", big, &e); code != 413 || e.Error.Code != "payload_too_large" {
		t.Fatalf("4 KB JSON body with max_body_kb=1: %d %+v", code, e)
	}
	// Over max_body_kb on a route that takes no upload: refused by its declared size, unread (app/bodies.go).
	resp, err := http.Post(in.URL+"/api/auth/login", "application/json", strings.NewReader(strings.Repeat(" ", 3<<20)))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("3 MB body: %d", resp.StatusCode)
		}
	} // else: the server closed the connection mid-upload, which is also a refusal
	if code := in.api("GET", "/api/health", "", nil, nil); code != 200 {
		t.Fatal("server unhealthy after oversized bodies")
	}
}

// A client that sends its headers slowly is cut off after read_timeout.
func TestSlowlorisIsCutOff(t *testing.T) {
	in := start(t, "", "QUIRE_READ_TIMEOUT=1s")
	conn, err := net.Dial("tcp", strings.TrimPrefix(in.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	begin := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		io.Copy(io.Discard, bufio.NewReader(conn)) // returns when the server hangs up
		closed <- time.Since(begin)
	}()
	fmt.Fprint(conn, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	for i := 0; i < 50; i++ { // at most 10 s of dribbling
		select {
		case d := <-closed:
			if d > 4*time.Second {
				t.Fatalf("cut off only after %v with read_timeout=1s", d)
			}
			t.Logf("slow client cut off after %v", d.Round(time.Millisecond))
			// Other clients are served meanwhile.
			if code := in.api("GET", "/api/health", "", nil, nil); code != 200 {
				t.Fatal("health after slowloris")
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := fmt.Fprintf(conn, "X-Slow-%d: a\r\n", i); err != nil {
			continue // the server closed; the reader reports it
		}
	}
	t.Fatal("a client dribbling headers for 10 s was never cut off")
}

func TestDoctorCLI(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o750)
	in := start(t, dir)
	in.stop()
	out, err := quire("doctor", "--data-dir", dir, "--ollama-url", "http://127.0.0.1:1")
	if err != nil || !strings.Contains(out, "ok    migrations") || !strings.Contains(out, "no failures") {
		t.Fatalf("doctor on a healthy dir: %v\n%s", err, out)
	}
	out, err = quire("doctor", "--data-dir", filepath.Join(dir, "nope"))
	if err == nil || !strings.Contains(out, "FAIL  data dir") {
		t.Fatalf("doctor on a missing dir: %v\n%s", err, out)
	}
}

func decode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

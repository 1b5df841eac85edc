// Package e2e drives the real quire binary: built once per test run, started as
// a child process on loopback with its own data dir, and used through HTTP and a
// real headless Chromium.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"quire/app/llm/ollamatest"
)

var binary string // path of the quire binary under test

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "quire-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "quire")
	build := exec.Command("go", "build", "-o", binary, "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build quire: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	ollamatest.StopShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one running quire process.
type instance struct {
	t       *testing.T
	URL     string
	DataDir string
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan error
	started time.Time
	ready   time.Duration // from exec to the first 200 on /api/health
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs `quire serve` on a free loopback port over dataDir ("" = new temp dir).
func start(t *testing.T, dataDir string, env ...string) *instance {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	addr := freePort(t)
	in := &instance{t: t, URL: "http://" + addr, DataDir: dataDir, logs: &syncBuffer{}, done: make(chan error, 1)}
	args := []string{"serve", "--listen", addr, "--data-dir", dataDir}
	// Nothing listens on port 1, so Ollama is down unless the test passes
	// QUIRE_OLLAMA_URL; the flag would win over that variable.
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "QUIRE_OLLAMA_URL=") }) {
		args = append(args, "--ollama-url", "http://127.0.0.1:1")
	}
	in.cmd = exec.Command(binary, args...)
	in.cmd.Env = append(os.Environ(), env...)
	in.cmd.Stdout, in.cmd.Stderr = in.logs, in.logs
	in.started = time.Now()
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.done <- in.cmd.Wait() }()
	t.Cleanup(func() {
		if in.cmd.ProcessState == nil {
			in.cmd.Process.Kill()
			<-in.done
		}
		if t.Failed() {
			t.Logf("quire logs:\n%s", in.logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(in.URL + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				in.ready = time.Since(in.started)
				return in
			}
		}
		select {
		case err := <-in.done:
			t.Fatalf("quire exited before serving: %v\n%s", err, in.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("quire not healthy after 20s:\n%s", in.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() error {
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-in.done:
		return err
	case <-time.After(40 * time.Second):
		in.cmd.Process.Kill()
		return fmt.Errorf("quire did not stop within 40s")
	}
}

// api calls the JSON API with an optional bearer token and decodes the reply into out.
func (in *instance) api(method, path, token string, body any, out any) int {
	in.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, in.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			in.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// logLine returns the first log line containing s, or "".
func (in *instance) logLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(in.logs.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			return sc.Text()
		}
	}
	return ""
}

// loginAs signs in through the login form and waits for a workspace page.
func loginAs(t *testing.T, ctx context.Context, in *instance, email, pw string) {
	t.Helper()
	run(t, ctx, "login "+email,
		chromedp.Navigate(in.URL+"/login"),
		chromedp.SendKeys(`main input[name=email]`, email),
		chromedp.SendKeys(`main input[name=password]`, pw),
		chromedp.Click(`main button[type=submit]`),
		waitPath(ctx, func(p string) bool { return strings.HasPrefix(p, "/w/") }),
	)
}

// setupURL is the one-time setup link the instance printed at its start.
func (in *instance) setupURL() string {
	in.t.Helper()
	// The link is logged just after "quire is serving", which start waits for.
	var link string
	for deadline := time.Now().Add(10 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		link = setupLinkRe.FindString(in.logLine("/setup?token="))
	}
	if link == "" {
		in.t.Fatalf("no setup link in the log:\n%s", in.logs.String())
	}
	return link
}

var setupLinkRe = regexp.MustCompile(`https?://[^\s"]+/setup\?token=[A-Za-z0-9_-]+`)

// setupAdmin makes the instance's first administrator through the setup
// link, as its operator would, and returns their session token. Nobody can
// sign up before that.
func (in *instance) setupAdmin(email, password, name string) string {
	in.t.Helper()
	_, token, _ := strings.Cut(in.setupURL(), "token=")
	var su struct{ Token string }
	if code := in.api("POST", "/api/setup", "", map[string]string{"token": token, "email": email, "password": password, "name": name}, &su); code != 201 {
		in.t.Fatalf("setup: %d", code)
	}
	return su.Token
}

// startWithOllama runs quire against the shared real Ollama with the tiny models
// and makes the first account, an instance admin (through the setup link), with
// the chat model as default.
func startWithOllama(t *testing.T) (*instance, *ollamatest.Server, string) {
	o := ollamatest.StartShared(t)
	in := start(t, "", "QUIRE_OLLAMA_URL="+o.URL)
	token := in.setupAdmin("ada@example.com", "analytical-engine", "Ada")
	if code := in.api("PATCH", "/api/admin/settings", token, map[string]string{"ollama_url": o.URL, "default_chat_model": o.ChatModel, "default_embedding_model": o.EmbedModel}, nil); code != 200 {
		t.Fatalf("settings %d", code)
	}
	return in, o, token
}

// afterReload runs act (a click that saves a form) and waits until the page has
// reloaded, as forms of the UI do after saving: acting on the old page while
// the new one loads would lose what is typed.
func afterReload(act chromedp.Action) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var before float64
		if err := chromedp.Evaluate(`performance.timeOrigin`, &before).Do(ctx); err != nil {
			return err
		}
		if err := act.Do(ctx); err != nil {
			return err
		}
		var state string // where the page is and the errors its forms show, for the failure
		for {
			var now float64
			if err := chromedp.Evaluate(`performance.timeOrigin`, &now).Do(ctx); err == nil && now != before {
				return chromedp.WaitReady(`body`).Do(ctx)
			}
			_ = chromedp.Evaluate(`location.pathname + ' ' + [...document.querySelectorAll('.form-error:not([hidden])')].map((e) => JSON.stringify(e.textContent)).join(' ')`, &state).Do(ctx)
			select {
			case <-ctx.Done():
				return fmt.Errorf("the page did not reload (at %s): %w", state, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// desktop ends a phone or dark emulation and waits two frames, so the next
// click lands where the desktop layout put its target, not the phone's.
func desktop() chromedp.Action {
	return chromedp.Tasks{
		emulation.ClearDeviceMetricsOverride(),
		emulation.SetEmulatedMedia(),
		chromedp.Evaluate(`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, nil, awaitPromise),
	}
}

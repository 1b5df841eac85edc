// Package stripemocktest runs Stripe's own API mock, stripe-mock, for tests:
// a child process on free loopback ports, stopped when the test ends. Install
// it with scripts/install-stripe-mock.sh. Without it tests skip, except when
// CI=true, where a missing stripe-mock fails them.
package stripemocktest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the stripe-mock release the tests are written against.
const Version = "v0.203.0"

// Binary finds stripe-mock on PATH or in Go's bin folder.
func Binary() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("GOPATH"); d != "" {
		dirs = append(dirs, filepath.Join(strings.Split(d, string(os.PathListSeparator))[0], "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, "stripe-mock"); isExec(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("stripe-mock is not installed (run scripts/install-stripe-mock.sh, i.e. go install github.com/stripe/stripe-mock@%s)", Version)
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Start runs stripe-mock for the test and returns its HTTP base URL.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	// Both addresses are given: with only one, stripe-mock also listens on all
	// interfaces for the other protocol.
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	var out lockedBuffer
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	cmd.Stdout, cmd.Stderr = &out, &out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + httpAddr
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/products", nil)
		req.SetBasicAuth("sk_test_quire", "")
		if res, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not start on %s: %s", httpAddr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Call is one request that reached Stripe (the mock).
type Call struct {
	Method, Path string
	Form         url.Values
}

// Recorder is an http.Client transport that remembers what was sent to Stripe,
// so tests assert on Quire's requests rather than on the mock's fixed answers.
type Recorder struct {
	mu    sync.Mutex
	calls []Call
}

// Client returns an HTTP client that records through r.
func (r *Recorder) Client() *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: r}
}

func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	c := Call{Method: req.Method, Path: req.URL.Path, Form: req.URL.Query()}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if f, err := url.ParseQuery(string(body)); err == nil && len(f) > 0 {
			c.Form = f
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// Last returns the most recent call to method and path ("" when none).
func (r *Recorder) Last(method, path string) (Call, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.calls) - 1; i >= 0; i-- {
		if c := r.calls[i]; c.Method == method && c.Path == path {
			return c, true
		}
	}
	return Call{}, false
}

// Count counts the calls to method and path.
func (r *Recorder) Count(method, path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c.Method == method && c.Path == path {
			n++
		}
	}
	return n
}

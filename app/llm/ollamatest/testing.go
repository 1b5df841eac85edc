package ollamatest

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds server startup, model creation and warm-up (normally
// well under a second).
const startTimeout = 2 * time.Minute

// Start launches a server owned by t and stops it in t.Cleanup. Prefer
// StartShared unless the test needs a server of its own (e.g. to stop it).
//
// If the ollama binary is missing, the test is skipped — or failed when the
// environment has CI=true, so CI cannot silently skip these tests.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := requireBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	began := time.Now()
	s, err := Launch(ctx, Config{Bin: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("ollamatest: %v", err)
	}
	t.Logf("ollamatest: server %s ready with models in %v", s.URL, time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ollamatest: server log (%s):\n%s", s.LogPath(), tail(s.Logs(), 8000))
		}
		if err := s.Stop(); err != nil {
			t.Errorf("ollamatest: stop: %v", err)
		}
	})
	return s
}

var shared struct {
	mu     sync.Mutex
	server *Server
	err    error // a failed start is not retried
}

// StartShared returns the test binary's shared server, launching it on first
// use. Tests must not stop it or rely on state other tests change (models
// they create stay visible to others). Stop it from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		ollamatest.StopShared()
//		os.Exit(code)
//	}
//
// Without StopShared the server is still terminated when the test binary
// exits (on Linux, via the parent-death signal), but its temp dir remains.
// Missing binary: see Start.
func StartShared(t testing.TB) *Server {
	t.Helper()
	bin := requireBinary(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.server == nil && shared.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		began := time.Now()
		shared.server, shared.err = Launch(ctx, Config{Bin: bin})
		if shared.err == nil {
			t.Logf("ollamatest: shared server %s ready with models in %v", shared.server.URL, time.Since(began).Round(time.Millisecond))
		}
	}
	if shared.err != nil {
		t.Fatalf("ollamatest: shared server: %v", shared.err)
	}
	return shared.server
}

// StopShared stops the shared server if one was started. Call it from
// TestMain after m.Run.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.server != nil {
		_ = shared.server.Stop()
		shared.server = nil
	}
}

// requireBinary finds ollama or skips (fails under CI=true) the test.
func requireBinary(t testing.TB) string {
	t.Helper()
	bin, err := FindBinary()
	if err == nil {
		return bin
	}
	if errors.Is(err, ErrNotBuilt) && os.Getenv("CI") != "true" {
		t.Skip(err.Error())
	}
	t.Fatalf("ollamatest: %v", err)
	return ""
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Main runs a package's tests and then stops the shared server:
//
//	func TestMain(m *testing.M) { ollamatest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// Package ollamatest runs a real Ollama server with the project's tiny
// synthetic models (see package tinymodel), for tests and local development.
//
// In tests, use Start (one server per test) or StartShared (one server per
// test binary, stopped by StopShared from TestMain). Both skip the test when
// the ollama binary is missing, and fail it when CI=true. Build the binary
// with scripts/build-ollama.sh.
//
// The server is real — HTTP API, NDJSON streaming, templates, tokenizers,
// runners — but the models are fake: the chat model always answers
// tinymodel.DefaultSentence, and the embedding model returns mean-of-words
// vectors (texts sharing words are similar).
package ollamatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ollama/ollama/api"

	"quire/app/llm/tinymodel"
)

// Names and shapes of the models every server registers.
const (
	ChatModel  = "quire-tiny-chat"
	EmbedModel = "quire-tiny-embed"
	EmbedDim   = 384
)

// ErrNotBuilt reports that no ollama binary was found.
var ErrNotBuilt = errors.New("ollama not built: run scripts/build-ollama.sh")

// Server is a running `ollama serve` with the tiny models registered.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:40123 (what OLLAMA_HOST or
	// Quire's Ollama URL setting expects).
	URL        string
	ChatModel  string // always answers ChatSentence
	EmbedModel string
	EmbedDim   int
	// ChatSentence is the chat model's fixed answer.
	ChatSentence string
	// Client is an official API client for URL.
	Client *api.Client
	// Dir holds the server's state (models, home) and its log.
	Dir string

	cmd       *exec.Cmd
	exited    chan struct{} // closed when the process has exited
	waitErr   error
	logPath   string
	removeDir bool
	stopOnce  sync.Once
	stopErr   error
}

// Config configures Launch. The zero value is ready to use.
type Config struct {
	// Bin is the ollama binary (default: FindBinary).
	Bin string
	// Dir keeps the server's state; default a fresh temp dir removed by Stop.
	Dir string
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// Log also receives the server's output (it always goes to Dir/ollama.log).
	Log io.Writer
	// EmbedDim is the embedding model's dimension (default EmbedDim).
	EmbedDim int
	// NoWarmup skips loading both models before Launch returns. Loading takes
	// ~0.3 s per model; warm models make the first request as fast as the rest.
	NoWarmup bool
}

// FindBinary locates ollama: $QUIRE_OLLAMA_BIN, then
// $HOME/.cache/quire/ollama/bin/ollama (where scripts/build-ollama.sh puts
// it), then PATH. It returns ErrNotBuilt if none exists.
func FindBinary() (string, error) {
	if p := os.Getenv("QUIRE_OLLAMA_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("QUIRE_OLLAMA_BIN: %w", err)
		}
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "quire", "ollama", "bin", "ollama")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("ollama"); err == nil {
		return p, nil
	}
	return "", ErrNotBuilt
}

// Launch starts `ollama serve` on a loopback port, waits until it
// answers, registers ChatModel and EmbedModel and (unless cfg.NoWarmup) loads
// them. Call Stop when done.
func Launch(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Bin == "" {
		if cfg.Bin, err = FindBinary(); err != nil {
			return nil, err
		}
	}
	if cfg.EmbedDim == 0 {
		cfg.EmbedDim = EmbedDim
	}
	s := &Server{
		ChatModel:    ChatModel,
		EmbedModel:   EmbedModel,
		EmbedDim:     cfg.EmbedDim,
		ChatSentence: tinymodel.DefaultSentence,
		Dir:          cfg.Dir,
	}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "quire-ollama-"); err != nil {
			return nil, err
		}
		s.removeDir = true
	}
	defer func() {
		if err != nil {
			err = s.withLogTail(err)
			_ = s.Stop()
		}
	}()

	if err := s.start(ctx, cfg); err != nil {
		return nil, err
	}
	if err := s.CreateChatModel(ctx, s.ChatModel, tinymodel.ChatOptions{}); err != nil {
		return nil, err
	}
	if err := s.CreateEmbedModel(ctx, s.EmbedModel, tinymodel.EmbedOptions{Dim: s.EmbedDim}); err != nil {
		return nil, err
	}
	if !cfg.NoWarmup {
		if err := s.warmup(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// start runs `ollama serve` and waits until it answers. With port 0 ollama
// binds a free port itself and logs it, which avoids the race of picking a
// free port first and binding it later (another server could take it and
// answer our heartbeats).
func (s *Server) start(ctx context.Context, cfg Config) error {
	home, models := filepath.Join(s.Dir, "home"), filepath.Join(s.Dir, "models")
	for _, d := range []string{home, models} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	s.logPath = filepath.Join(s.Dir, "ollama.log")
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	listening := newListenWatcher()
	out := io.MultiWriter(logFile, listening)
	if cfg.Log != nil {
		out = io.MultiWriter(logFile, listening, cfg.Log)
	}

	// Not exec.CommandContext: the server must outlive ctx, which only bounds
	// startup.
	cmd := exec.Command(cfg.Bin, "serve")
	cmd.Env = append(environWithoutOllama(),
		fmt.Sprintf("OLLAMA_HOST=127.0.0.1:%d", cfg.Port),
		"OLLAMA_MODELS="+models,
		"HOME="+home,
		"OLLAMA_KEEP_ALIVE=-1", // never unload: a reload costs ~0.3 s
		"OLLAMA_NO_CLOUD=1",    // offline; no remote models
		"GIN_MODE=release",     // quieter log
	)
	// The same writer for both streams: exec then never calls it concurrently.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", cfg.Bin, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()

	deadline := time.After(30 * time.Second)
	select {
	case addr := <-listening.addr:
		s.URL = "http://" + addr
	case <-s.exited:
		return fmt.Errorf("ollama serve exited: %v", s.waitErr)
	case <-ctx.Done():
		return ctx.Err()
	case <-deadline:
		return fmt.Errorf("ollama serve did not report its address within 30s")
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return err
	}
	s.Client = api.NewClient(u, &http.Client{})

	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.Client.Heartbeat(ctx) == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("ollama serve exited: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("ollama serve not ready after 30s")
		case <-tick.C:
		}
	}
}

// listenRE matches ollama's startup line
// `msg="Listening on 127.0.0.1:43215 (version 0.17.4)"`.
var listenRE = regexp.MustCompile(`Listening on (127\.0\.0\.1:\d+)`)

// listenWatcher scans the server's output for the address it listens on.
type listenWatcher struct {
	addr chan string // receives the address once
	line []byte
	done bool
}

func newListenWatcher() *listenWatcher { return &listenWatcher{addr: make(chan string, 1)} }

func (w *listenWatcher) Write(p []byte) (int, error) {
	if w.done {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			return len(p), nil
		}
		if m := listenRE.FindSubmatch(w.line[:i]); m != nil {
			w.addr <- string(m[1])
			w.done, w.line = true, nil
			return len(p), nil
		}
		w.line = w.line[i+1:]
	}
}

// warmup loads both models concurrently (KEEP_ALIVE=-1 keeps them loaded).
func (s *Server) warmup(ctx context.Context) error {
	errs := make(chan error, 2)
	go func() {
		// An empty message list only loads the model.
		errs <- s.Client.Chat(ctx, &api.ChatRequest{Model: s.ChatModel}, func(api.ChatResponse) error { return nil })
	}()
	go func() {
		_, err := s.Client.Embed(ctx, &api.EmbedRequest{Model: s.EmbedModel, Input: "warm up"})
		errs <- err
	}()
	return errors.Join(<-errs, <-errs)
}

// Stop terminates the server and its runners and removes its temp dir
// (unless Config.Dir was given). It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			// SIGTERM lets ollama unload its runner processes; then make sure
			// nothing of the process group survives.
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
			}
			killGroup(s.cmd.Process.Pid)
			<-s.exited
		}
		if s.removeDir {
			s.stopErr = os.RemoveAll(s.Dir)
		}
	})
	return s.stopErr
}

// LogPath is the file holding the server's stdout and stderr.
func (s *Server) LogPath() string { return s.logPath }

// Logs returns the server's output so far.
func (s *Server) Logs() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *Server) withLogTail(err error) error {
	logs := s.Logs()
	if logs == "" {
		return err
	}
	if len(logs) > 4000 {
		logs = "..." + logs[len(logs)-4000:]
	}
	return fmt.Errorf("%w\nollama log:\n%s", err, logs)
}

// environWithoutOllama drops the caller's OLLAMA_* settings so a developer's
// own configuration cannot change the test server's behaviour.
func environWithoutOllama() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OLLAMA_") {
			env = append(env, kv)
		}
	}
	return env
}

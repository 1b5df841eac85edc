package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is a quire process started by the load test.
type server struct {
	cmd     *exec.Cmd
	url     string
	dir     string
	logPath string
	done    chan error
}

func startServer(binary, ollamaURL string) (*server, error) {
	dir, err := os.MkdirTemp("", "quire-loadtest-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	if ollamaURL == "" {
		ollamaURL = "http://127.0.0.1:1" // nothing listens: chat says model_unavailable, nothing waits
	}
	s := &server{url: "http://" + addr, dir: dir, logPath: filepath.Join(dir, "quire.log"), done: make(chan error, 1)}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	// A new instance takes signups only once it has an administrator (made
	// by the setup link or, as here, the CLI).
	admin := exec.Command(binary, "admin", "create-user", "--data-dir", filepath.Join(dir, "data"),
		"--email", "load-admin@example.com", "--password", "load-test-password", "--admin")
	if out, err := admin.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("create the administrator: %v: %s", err, out)
	}
	s.cmd = exec.Command(binary, "serve", "--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--ollama-url", ollamaURL)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	go func() { s.done <- s.cmd.Wait(); logf.Close() }()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("quire exited at start (%v); log: %s", err, s.logPath)
		default:
		}
		if resp, err := http.Get(s.url + "/api/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
	}
	s.stop()
	return nil, errors.New("quire did not become healthy within 20 s")
}

// stop shuts the server down cleanly and removes its data dir; the log is kept
// only when the run failed to stop cleanly.
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			fmt.Printf("quire exited with %v; log kept at %s\n", err, s.logPath)
			return
		}
	case <-time.After(45 * time.Second):
		s.cmd.Process.Kill()
		fmt.Printf("quire did not stop within 45 s; log kept at %s\n", s.logPath)
		return
	}
	os.RemoveAll(s.dir)
}

// countLocked counts log lines reporting SQLite lock contention.
func countLocked(path string) (int, error) {
	if path == "" {
		return 0, errors.New("no log file (-log)")
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "database is locked") || strings.Contains(l, "SQLITE_BUSY") {
			n++
		}
	}
	return n, sc.Err()
}

//go:build unix

package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeWorker is a shell script standing in for a worker gone wrong.
func fakeWorker(t *testing.T, script string) *Worker {
	t.Helper()
	path := filepath.Join(t.TempDir(), "worker.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return &Worker{Path: path}
}

// The parent trusts nothing a worker sends: a flood of frames or one frame
// claiming 4 GB stops at the output cap, a worker that never answers is
// killed at the deadline, and one that exits without an answer is reported
// as a failure of the machine (retried), not of the document.
func TestWorkerMisbehaving(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the fake workers")
	}
	lim := Limits{MaxTextBytes: 1 << 20, Timeout: time.Second}
	doc := tempFile(t, "a.md", []byte("# x\n"))
	grandchild := filepath.Join(t.TempDir(), "grandchild.pid")
	// 8 MB of well-formed frames: more than the 4 MB the parent reads.
	flood := filepath.Join(t.TempDir(), "flood")
	frame := "\x00\x00\x00\x0d" + `{"kind":"md"}`
	if err := os.WriteFile(flood, []byte(strings.Repeat(frame, (8<<20)/len(frame))), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, script string
		class        error
		msg          string
	}{
		{"flood", `exec cat ` + flood, ErrTooLarge, "the Markdown file produced more than 4 MB"},
		{"huge frame", `printf '\377\377\377\377'; exec cat /dev/zero`, ErrTooLarge, "produced more than"},
		{"silent", `exec sleep 600`, ErrTimeout, "took longer than 1s"},
		{"no answer", `echo "something went wrong" >&2; exit 7`, nil, "exited without an answer"},
		{"grandchild", `sleep 600 & echo $! > ` + grandchild + `; wait`, ErrTimeout, "took longer than 1s"},
	} {
		began := time.Now()
		_, _, err := fakeWorker(t, tc.script).Parse(context.Background(), doc, "a.md", "", lim)
		var e *Error
		switch {
		case err == nil || !strings.Contains(err.Error(), tc.msg):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.msg)
		case tc.class == nil && errors.As(err, &e):
			t.Errorf("%s: %v is blamed on the document", tc.name, err)
		case tc.class != nil && !errors.Is(err, tc.class):
			t.Errorf("%s: %v is not of class %v", tc.name, err, tc.class)
		}
		if took := time.Since(began); took > lim.Timeout+workerGrace(lim)+3*time.Second {
			t.Errorf("%s: took %v", tc.name, took)
		}
		noWorkersLeft(t)
	}
	// The deadline kills the worker's whole process group.
	b, err := os.ReadFile(grandchild)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// SIGKILL is delivered asynchronously; a zombie waiting for init is dead.
	for deadline := time.Now().Add(2 * time.Second); pid > 0 && syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && strings.Contains(string(st), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("the worker's child %d outlived it", pid)
			break
		}
	}
}

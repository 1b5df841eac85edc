package ingest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// sandbox puts the worker in a process group of its own, which the parent
// kills as a whole when the deadline passes or the task is cancelled, and
// has the kernel kill it if the parent dies.
func sandbox(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// limitSelf caps the worker's own address space (a huge allocation fails
// there, not in the server), its CPU time (a last resort should the parent
// and both of its kill paths be gone) and core dumps (hostile bytes do not
// land on disk). Hard limits too: nothing in the worker can raise them again.
//
// The Go runtime reserves about 1 GB of address space at start (arena and
// page-allocator index, mostly never touched), so the limit is what is
// mapped now plus MaxMemory: the budget is what the parse may add.
func limitSelf(lim Limits) error {
	base, err := addressSpace()
	if err != nil {
		return err
	}
	cpu := uint64((2*lim.Timeout + 10*time.Second) / time.Second)
	for _, l := range []struct {
		res int
		max uint64
	}{
		{syscall.RLIMIT_AS, base + uint64(lim.MaxMemory)},
		{syscall.RLIMIT_CPU, cpu},
		{syscall.RLIMIT_CORE, 0},
	} {
		if err := syscall.Setrlimit(l.res, &syscall.Rlimit{Cur: l.max, Max: l.max}); err != nil {
			return err
		}
	}
	return nil
}

// addressSpace is the process's VmSize in bytes.
func addressSpace() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmSize:")); ok {
			kb, err := strconv.ParseUint(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmSize in /proc/self/status")
}

package ingesttest

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Workers returns the pids of this process's children that run its own
// executable: parse workers still alive (or dead but not waited for). It
// reads /proc, so outside Linux ok is false.
func Workers() (pids []int, ok bool) {
	if runtime.GOOS != "linux" {
		return nil, false
	}
	self, err := os.Executable()
	if err != nil {
		return nil, false
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may contain spaces and parentheses.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil && exe != self {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(dir))
		pids = append(pids, pid)
	}
	return pids, true
}

//go:build unix

package ingesttest

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time this process has used so far (user + system).
// Sampled around an idle wait, it shows whether an abandoned parser
// goroutine is still burning a core.
func CPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

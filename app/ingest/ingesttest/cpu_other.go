//go:build !unix

package ingesttest

import "time"

// CPUTime is unknown outside Unix.
func CPUTime() (time.Duration, bool) { return 0, false }

//go:build !linux

package stripemocktest

import "os/exec"

// dieWithParent has no portable equivalent outside Linux; cleanups stop the mock.
func dieWithParent(*exec.Cmd) {}

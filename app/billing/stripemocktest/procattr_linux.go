package stripemocktest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill stripe-mock if the test binary dies
// without running its cleanups (a -timeout panic, a kill -9), so no mock is
// left listening.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

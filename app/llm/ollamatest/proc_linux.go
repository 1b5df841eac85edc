package ollamatest

import "syscall"

// sysProcAttr puts ollama in its own process group, so Stop can also kill the
// runner processes it spawns, and asks the kernel to SIGTERM it if the test
// binary dies (panic, timeout), so no server outlives the tests. SIGTERM (not
// SIGKILL) lets ollama stop its runners itself.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// killGroup SIGKILLs what is left of the process group led by pid.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

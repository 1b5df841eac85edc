//go:build unix && !linux

package ollamatest

import "syscall"

// sysProcAttr puts ollama in its own process group, so Stop can also kill the
// runner processes it spawns.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup SIGKILLs what is left of the process group led by pid.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

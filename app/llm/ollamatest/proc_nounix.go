//go:build !unix

package ollamatest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup is a no-op: Stop has already signalled the server itself.
func killGroup(int) {}

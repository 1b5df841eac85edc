//go:build !linux

package ingest

import "os/exec"

// sandbox: outside Linux the worker is killed on its own (no process group
// or parent-death signal); it exits by itself when the parent's end of its
// stdin closes.
func sandbox(*exec.Cmd) {}

// limitSelf: outside Linux there is no address-space limit; the worker has
// debug.SetMemoryLimit (set by serveWorker), its deadline and its output cap.
func limitSelf(Limits) error { return nil }

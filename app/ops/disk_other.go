//go:build !(linux || darwin || freebsd)

package ops

import "errors"

// freeBytes is not implemented here; doctor reports the check as skipped.
func freeBytes(string) (uint64, error) {
	return 0, errors.New("free space is not measured on this operating system")
}

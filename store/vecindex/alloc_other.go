//go:build !linux

package vecindex

import "unsafe"

func adviseHuge(unsafe.Pointer, int) {}

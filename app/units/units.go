// Package units formats quantities for people, the same way everywhere a
// size is shown or named in a message.
package units

import "fmt"

// Bytes formats a byte count in binary units labelled the way people expect:
// 200<<20 → "200 MB", 1536 → "1.5 KB", 214 → "214 bytes".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %cB", int64(v), "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f %cB", v, "KMGTPE"[exp])
}

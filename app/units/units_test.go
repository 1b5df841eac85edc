package units

import "testing"

func TestBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0 bytes", 500: "500 bytes", 1024: "1 KB", 1536: "1.5 KB", 200 << 20: "200 MB", 32 << 20: "32 MB", 3 << 30: "3 GB"} {
		if got := Bytes(in); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", in, got, want)
		}
	}
}

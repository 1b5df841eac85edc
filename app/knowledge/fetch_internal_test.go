package knowledge

import (
	"net/netip"
	"testing"
)

func TestSSRFGuardRefusesSpecialRanges(t *testing.T) {
	refused := []string{
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "0.1.2.3",
		"198.18.0.1", "198.19.255.255", "240.0.0.1", "255.255.255.255", "192.0.0.8", "192.0.2.1", "203.0.113.9",
		"::1", "::", "fc00::1", "fe80::1", "fec0::1", "ff02::1",
		"::ffff:127.0.0.1", "::127.0.0.1", "::10.0.0.1", // IPv4-mapped and IPv4-compatible
		"64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::1", // NAT64 of loopback and 10/8
		"2002:7f00:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8::1", // 6to4, Teredo, documentation
	}
	for _, s := range refused {
		if isPublic(netip.MustParseAddr(s)) {
			t.Errorf("%s is treated as public", s)
		}
	}
	for _, s := range []string{"93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "8.8.8.8"} {
		if !isPublic(netip.MustParseAddr(s)) {
			t.Errorf("%s is refused", s)
		}
	}
}

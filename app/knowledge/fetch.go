package knowledge

import (
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"syscall"
	"time"
)

// errPrivateAddress is returned when a URL resolves to this machine or a private network.
var errPrivateAddress = errors.New("private address")

// nonPublic lists the special-purpose ranges (IANA registries) that
// netip's predicates do not cover: shared address space, benchmarking, reserved
// and documentation networks, and the IPv6 forms that embed an IPv4 address
// (NAT64, IPv4-compatible, 6to4, Teredo), which could carry a private one.
var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4", // 240/4 includes the broadcast address
		"::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16", "fec0::/10",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// publicOnly refuses connections to loopback, private, link-local and other
// non-public addresses. It runs on the resolved address at dial time, so a DNS
// name that points inside the network (or rebinds) is caught too.
func publicOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if !isPublic(ip) {
		return fmt.Errorf("%w %s", errPrivateAddress, ip)
	}
	return nil
}

func isPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() ||
		ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// fetchTimeout bounds a whole fetch, from dialling to the body's last byte.
const fetchTimeout = 45 * time.Second

// fetchClient fetches web pages for documents; allowPrivate is the admin's switch.
func fetchClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		d.Control = publicOnly
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil, ResponseHeaderTimeout: 15 * time.Second},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return errors.New("redirect to a non-web address")
			}
			return nil
		},
	}
}

// fetchedName gives a fetched body a file name whose extension matches what the
// server said it is, so text formats are told apart.
func fetchedName(u *url.URL, contentType string) string {
	base := path.Base(u.Path)
	if base == "/" || base == "." || base == "" {
		base = "index"
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	ext := map[string]string{"text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt", "text/markdown": ".md",
		"text/csv": ".csv", "application/pdf": ".pdf"}[mt]
	if ext != "" && !strings.HasSuffix(strings.ToLower(base), ext) {
		base += ext
	}
	return cleanFilename(base)
}

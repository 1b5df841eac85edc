package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"quire/app/ingest"
	"quire/store"
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

// addURLDocument fetches a web page (or a file on the web) and queues it like an upload.
func (s *Server) addURLDocument(c *fiber.Ctx) error {
	var in struct {
		URL              string   `json:"url"`
		Name             string   `json:"name"`
		KnowledgeBaseIDs []string `json:"knowledge_base_ids"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := url.Parse(strings.TrimSpace(in.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return invalid("url", "url must be an http(s) address such as https://example.com/page")
	}
	if err := s.kbTargets(c, in.KnowledgeBaseIDs); err != nil {
		return err
	}
	st := s.currentSettings()
	maxBytes := int64(st.MaxUploadMB) << 20
	ctx, cancel := context.WithTimeout(c.UserContext(), 45*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	req.Header.Set("User-Agent", "Quire/"+Version+" (document fetcher)")
	resp, err := fetchClient(st.AllowPrivateURLs).Do(req)
	if err != nil {
		if errors.Is(err, errPrivateAddress) {
			return invalid("url", "%s points to this machine or a private network; an administrator can allow such addresses in Settings", u.Host)
		}
		// One answer for refused, reset, timed out and unresolvable: telling them
		// apart would let a member port-scan hosts through the server.
		s.log.Debug("fetch failed", "url", u.Redacted(), "err", err)
		return invalid("url", "could not fetch %s: the site could not be reached", u.Redacted())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return invalid("url", "%s answered %s", u.Redacted(), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return invalid("url", "reading %s failed before the page was complete", u.Redacted())
	}
	if int64(len(body)) > maxBytes {
		return tooLarge("the page is larger than the %d MB limit", st.MaxUploadMB)
	}
	lim, err := s.documentsAllowed(c, int64(len(body)))
	if err != nil {
		return err
	}
	filename := fetchedName(u, resp.Header.Get("Content-Type"))
	kind, err := ingest.Detect(bytes.NewReader(body), int64(len(body)), filename)
	if err != nil {
		return errorf(fiber.StatusUnsupportedMediaType, "unsupported_media_type", "%s: %s", u.Redacted(), errMsg(err))
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = u.Host + u.EscapedPath()
	}
	if name, err = checkName("name", name, true); err != nil {
		return err
	}
	ws := workspaceOf(c)
	docID := uuid.NewString()
	rel := ws.ID + "/" + docID
	sum, err := s.saveFile(rel, bytes.NewReader(body))
	if err != nil {
		return err
	}
	d, _, err := s.store.CreateDocument(c.UserContext(), ws.ID, store.NewDocument{ID: docID, Name: name, OriginalFilename: filename,
		MimeType: kind.MIME(), FileSize: int64(len(body)), SHA256: sum, StoragePath: rel, SourceURL: u.String(), UploadedBy: userOf(c).ID,
		KnowledgeBaseIDs: in.KnowledgeBaseIDs, Limits: lim})
	if err != nil {
		os.Remove(s.filePath(rel)) // nothing refers to the saved file
		return s.plan.DocumentLimitError(lim, err)
	}
	s.knowledge.Wake()
	return c.Status(fiber.StatusAccepted).JSON(documentView(d))
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

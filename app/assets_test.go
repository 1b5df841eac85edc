package app

import (
	"regexp"
	"strings"
	"testing"
)

// Pages link the fingerprinted URLs, which are cached for good; the plain
// paths still answer, briefly cached.
func TestPagesLinkFingerprintedAssets(t *testing.T) {
	ts := newTestServer(t)
	page := ts.must(200, req{method: "GET", path: "/login"})
	js := regexp.MustCompile(`src="(/static/app\.[0-9a-f]{8}\.js)"`).FindSubmatch(page.Body)
	if js == nil || strings.Contains(string(page.Body), `"/static/app.js"`) {
		t.Fatalf("the page does not link the fingerprinted app.js:\n%s", page.Body)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP: %q", csp)
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).Match(page.Body) {
		t.Error("the page has an inline script, which the CSP refuses")
	}
	hashed := ts.must(200, req{method: "GET", path: string(js[1])})
	if cc := hashed.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("fingerprinted Cache-Control %q", cc)
	}
	if ct := hashed.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("fingerprinted Content-Type %q", ct)
	}
	plain := ts.must(200, req{method: "GET", path: "/static/app.js"})
	if string(plain.Body) != string(hashed.Body) || len(plain.Body) == 0 {
		t.Error("the fingerprinted URL serves other bytes than the plain one")
	}
	if cc := plain.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("plain Cache-Control %q", cc)
	}
	ts.must(404, req{method: "GET", path: "/static/app.00000000.js"})
}

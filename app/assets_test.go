package app

import (
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestAssetURLsFollowContent(t *testing.T) {
	a, err := loadAssets(fstest.MapFS{"app.js": {Data: []byte("one")}, "app.css": {Data: []byte("one")}})
	if err != nil {
		t.Fatal(err)
	}
	js, err := a.url("app.js")
	if err != nil || !regexp.MustCompile(`^/static/app\.[0-9a-f]{8}\.js$`).MatchString(js) {
		t.Fatalf("app.js: %q, %v", js, err)
	}
	if css, _ := a.url("app.css"); !strings.HasSuffix(css, ".css") || strings.TrimSuffix(css, ".css") != strings.TrimSuffix(js, ".js") {
		t.Errorf("same content, same hash, own extension: %q, %q", css, js)
	}
	b, _ := loadAssets(fstest.MapFS{"app.js": {Data: []byte("two")}})
	if changed, _ := b.url("app.js"); changed == js {
		t.Errorf("a changed file kept its URL %q", js)
	}
	if again, _ := loadAssets(fstest.MapFS{"app.js": {Data: []byte("one")}}); mustURL(t, again, "app.js") != js {
		t.Error("the same content got another URL")
	}
	if _, err := a.url("missing.js"); err == nil {
		t.Error("an unknown file got a URL")
	}
}

func mustURL(t *testing.T, a *assets, name string) string {
	t.Helper()
	u, err := a.url(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

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

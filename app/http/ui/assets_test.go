package ui

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

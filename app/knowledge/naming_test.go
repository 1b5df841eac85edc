package knowledge_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"quire/app/fault"
	"quire/app/knowledge"
	"quire/store"
)

// A web page is named after its title, as a browser tab shows it, whatever
// the page does to its title; a page without one after its address.
func TestURLDocumentNames(t *testing.T) {
	pages := map[string]struct{ ctype, body string }{
		"/late":                  {"text/html", "<html><head><script>" + strings.Repeat("var x = 1;\n", 40_000) + "</script><title>Late Title</title></head><body>Text.</body></html>"},
		"/og":                    {"text/html; charset=utf-8", `<html><head><meta property="og:title" content="  Open  Graph Name "></head><body>Text.</body></html>`},
		"/tw":                    {"text/html", `<html><head><meta name="twitter:title" content="Card Name"><title>   </title></head><body>Text.</body></html>`},
		"/both":                  {"text/html", `<html><head><meta property="og:title" content="Social"><title>Real Title</title></head><body>Text.</body></html>`},
		"/ctrl":                  {"text/html", "<html><head><title>Pay\x00roll\x1b[31m \u202eAnnual\u200b\t\n\n  Report\x7f</title></head><body>Text.</body></html>"},
		"/long":                  {"text/html", "<html><head><title>" + strings.Repeat("Longword ", 2000) + "</title></head><body>Text.</body></html>"},
		"/svg":                   {"text/html", `<html><body><svg><title>Menu icon</title></svg><p>Text.</p></body></html>`},
		"/cp1252":                {"text/html; charset=windows-1252", "<html><head><title>Caf\xe9 men\xfc</title></head><body>Text.</body></html>"},
		"/metacs":                {"text/html", "<html><head><meta charset=\"iso-8859-1\"><title>Stra\xdfe</title></head><body>Text.</body></html>"},
		"/none":                  {"text/html", "<html><body><p>No title at all.</p></body></html>"},
		"/docs/%C3%9Cber%20uns/": {"text/html", "<html><body><p>About.</p></body></html>"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p, ok := pages[r.URL.EscapedPath()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", p.ctype)
		fmt.Fprint(w, p.body)
	})
	site := httptest.NewServer(mux)
	defer site.Close()
	host := strings.TrimPrefix(site.URL, "http://")

	e := newEnv(t, noOllama, "", withFetch(knowledge.FetchPolicy{MaxMB: 2, AllowPrivate: true, UserAgent: "Quire test"}))
	add := func(path, name string) (string, error) {
		d, err := e.svc.Add(context.Background(), e.ws.ID, e.admin(), knowledge.NewDocument{Source: knowledge.Source{URL: site.URL + path}, Name: name})
		if err != nil {
			return "", err
		}
		return d.Name, nil
	}
	for path, want := range map[string]string{
		"/late":                  "Late Title",
		"/og":                    "Open Graph Name",
		"/tw":                    "Card Name",
		"/both":                  "Real Title",
		"/ctrl":                  "Payroll[31m Annual Report",
		"/svg":                   host + "/svg",
		"/cp1252":                "Café menü",
		"/metacs":                "Straße",
		"/none":                  host + "/none",
		"/docs/%C3%9Cber%20uns/": host + "/docs/Über uns",
	} {
		got, err := add(path, "")
		if err != nil || got != want {
			t.Errorf("%s is named %q (%v), want %q", path, got, err, want)
		}
	}
	long, err := add("/long", "")
	if err != nil || utf8.RuneCountInString(long) > 200 || !strings.HasSuffix(long, "Longword…") {
		t.Errorf("a 18,000-character title became %d characters ending %q (%v)", utf8.RuneCountInString(long), long[max(0, len(long)-20):], err)
	}

	// A name given by the member is cleaned the same way; one of nothing but
	// control characters is no name.
	if got, err := add("/none", " Q3\x00 \u202e budget\r\n"); err != nil || got != "Q3 budget" {
		t.Errorf("the given name became %q (%v)", got, err)
	}
	_, err = add("/none", "\x01\u200b\u202e")
	wantFault(t, err, fault.Invalid, "name", "must not be empty")
	docs, err := e.st.ListDocuments(context.Background(), e.ws.ID, e.admin(), store.DocumentFilter{Limit: 100})
	if err != nil || len(docs) < 12 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	for _, d := range docs {
		if strings.IndexFunc(d.Name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0 {
			t.Errorf("a stored name keeps control characters: %q", d.Name)
		}
	}
}

package knowledge_test

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"

	"quire/app/fault"
	"quire/app/ingest"
	"quire/app/knowledge"
	"quire/store"
)

// stage writes content where the HTTP layer streams an upload: a temporary
// file in the workspace's staging folder.
func (e *env) stage(t testing.TB, filename string, content []byte) knowledge.Source {
	t.Helper()
	dir := e.svc.StagingDir(e.ws.ID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(); os.Remove(f.Name()) }) // the caller's part, as in the handler
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	return knowledge.Source{File: f, Filename: filename, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}
}

// wsFiles lists the names in the workspace's folder (staged files start with a dot).
func (e *env) wsFiles(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(e.svc.StagingDir(e.ws.ID))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, f := range entries {
		names = append(names, f.Name())
	}
	return names
}

func wantFault(t *testing.T, err error, kind fault.Kind, field, msgPart string) {
	t.Helper()
	f, ok := fault.As(err)
	if !ok || f.Kind != kind || f.Field != field || !strings.Contains(f.Message, msgPart) {
		t.Fatalf("want a fault of kind %d on %q containing %q, got %#v (%v)", kind, field, msgPart, f, err)
	}
}

func TestAddFile(t *testing.T) {
	e := newEnv(t, noOllama, "")
	ctx := context.Background()
	src := e.stage(t, `C:\Users\me\notes.md`, []byte("# Notes\n\nThe kettle is in the kitchen."))
	d, err := e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: src, KnowledgeBaseIDs: []string{e.shared.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "notes.md" || d.OriginalFilename != "notes.md" || d.MimeType != ingest.KindMD.MIME() || d.SHA256 != src.SHA256 || d.SourceURL != "" {
		t.Fatalf("document %+v", d)
	}
	path, err := e.svc.Original(d)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "kettle") {
		t.Fatalf("original: %q %v", b, err)
	}
	if files := e.wsFiles(t); len(files) != 1 || files[0] != d.ID {
		t.Fatalf("the workspace's folder holds %q, want only the document's file", files)
	}
	ids, err := e.st.DocumentKBIDs(ctx, e.ws.ID, e.admin(), d.ID)
	if err != nil || len(ids) != 1 || ids[0] != e.shared.ID {
		t.Fatalf("knowledge bases %v %v", ids, err)
	}

	given, err := e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: e.stage(t, "a.txt", []byte("alpha")), Name: "  Given name "})
	if err != nil || given.Name != "Given name" {
		t.Fatalf("given name: %+v %v", given, err)
	}
	if err := e.svc.DeleteDocument(ctx, e.ws.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the deleted document's file is still there: %v", err)
	}
}

func TestAddRefusals(t *testing.T) {
	e := newEnv(t, noOllama, "")
	ctx := context.Background()
	cases := []struct {
		name       string
		v          store.Viewer
		in         knowledge.NewDocument
		kind       fault.Kind
		field, msg string
	}{
		{"unknown knowledge base", e.admin(), knowledge.NewDocument{Source: e.stage(t, "a.txt", []byte("a")), KnowledgeBaseIDs: []string{"nope"}},
			fault.Invalid, "knowledge_base_ids", `no knowledge base "nope"`},
		{"someone else's knowledge base", e.as(e.member), knowledge.NewDocument{Source: e.stage(t, "a.txt", []byte("a")), KnowledgeBaseIDs: []string{e.shared.ID}},
			fault.Forbidden, "", "only the creator of \"Handbook\""},
		{"binary file", e.admin(), knowledge.NewDocument{Source: e.stage(t, "a.bin", []byte{0, 1, 2, 3, 0xff, 0xfe, 0})},
			fault.Unsupported, "", "a.bin: this type of file is not supported; upload PDF"},
		{"empty file", e.admin(), knowledge.NewDocument{Source: e.stage(t, "a.txt", nil)}, fault.Invalid, "file", "the file is empty"},
		{"long name", e.admin(), knowledge.NewDocument{Source: e.stage(t, "a.txt", []byte("a")), Name: strings.Repeat("n", 201)},
			fault.Invalid, "name", "name must be at most 200 characters"},
		{"not a web address", e.admin(), knowledge.NewDocument{Source: knowledge.Source{URL: "ftp://example.com/a"}},
			fault.Invalid, "url", "url must be an http(s) address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Add(ctx, e.ws.ID, tc.v, tc.in)
			wantFault(t, err, tc.kind, tc.field, tc.msg)
		})
	}
	for _, f := range e.wsFiles(t) {
		if !strings.HasPrefix(f, ".upload-") {
			t.Errorf("a refused document left %s behind", f)
		}
	}
}

func TestAddURL(t *testing.T) {
	pages := http.NewServeMux()
	pages.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><html><head><title>\n  Quarterly &amp; Annual\n Report </title></head><body><p>Revenue grew.</p></body></html>")
	})
	pages.HandleFunc("/notes.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "plain notes")
	})
	pages.HandleFunc("/missing", http.NotFound)
	site := httptest.NewServer(pages)
	defer site.Close()

	e := newEnv(t, noOllama, "", withFetch(knowledge.FetchPolicy{MaxMB: 1, AllowPrivate: true, UserAgent: "Quire test"}))
	ctx := context.Background()
	d, err := e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: knowledge.Source{URL: site.URL + "/report"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "Quarterly & Annual Report" || d.OriginalFilename != "report.html" || d.MimeType != ingest.KindHTML.MIME() || d.SourceURL != site.URL+"/report" {
		t.Fatalf("document %+v", d)
	}
	path, _ := e.svc.Original(d)
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "Revenue grew") {
		t.Fatalf("original: %q %v", b, err)
	}
	txt, err := e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: knowledge.Source{URL: site.URL + "/notes.txt"}})
	if err != nil || txt.Name != strings.TrimPrefix(site.URL, "http://")+"/notes.txt" {
		t.Fatalf("a page that is not HTML is named after its address: %+v %v", txt, err)
	}
	_, err = e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: knowledge.Source{URL: site.URL + "/missing"}})
	wantFault(t, err, fault.Invalid, "url", "answered 404 Not Found")
	if files := e.wsFiles(t); len(files) != 2 {
		t.Fatalf("the workspace's folder holds %q, want the two documents' files", files)
	}

	e.fetch.AllowPrivate = false
	_, err = e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: knowledge.Source{URL: site.URL + "/report"}})
	wantFault(t, err, fault.Invalid, "url", "points to this machine or a private network")
	if files := e.wsFiles(t); len(files) != 2 {
		t.Fatalf("a refused fetch left files: %q", files)
	}
}

// When the insert fails after the file was placed (here: another document
// took the plan's last place), the file goes too, for URLs as for uploads.
func TestAddRemovesTheFileWhenTheInsertFails(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "a page")
	}))
	defer site.Close()
	e := newEnv(t, noOllama, "", withFetch(knowledge.FetchPolicy{MaxMB: 1, AllowPrivate: true}))
	ctx := context.Background()
	first, err := e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: e.stage(t, "first.txt", []byte("first"))})
	if err != nil {
		t.Fatal(err)
	}
	// The gate saw room (as if it ran before the first insert); the
	// transaction finds the one document allowed already taken.
	full := func(context.Context, int64) (store.DocumentLimits, error) {
		return store.DocumentLimits{Documents: 1}, nil
	}
	for _, src := range []knowledge.Source{{URL: site.URL + "/page.txt"}, e.stage(t, "second.txt", []byte("second"))} {
		_, err := e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: src, Gate: full})
		if !errors.Is(err, store.ErrDocumentLimit) {
			t.Fatalf("want the store's document limit, got %v", err)
		}
	}
	var kept []string
	for _, f := range e.wsFiles(t) {
		if !strings.HasPrefix(f, ".upload-") { // the uploads' staged files are their caller's to remove
			kept = append(kept, f)
		}
	}
	if len(kept) != 1 || kept[0] != first.ID {
		t.Fatalf("files after the failed inserts: %q, want only %s", kept, first.ID)
	}
}

// manyEntryZip is a ZIP archive of n empty entries: small on disk, but Go's
// zip reader builds a record for each entry before anyone can count them.
func manyEntryZip(t testing.TB, n int) []byte {
	t.Helper()
	var b strings.Builder
	zw := zip.NewWriter(&b)
	for i := range n {
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("%x", i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// An archive with more entries than ingest allows is refused by counting its
// central directory, before Go's zip reader loads it.
func TestManyEntryZipIsRefusedBeforeItIsLoaded(t *testing.T) {
	e := newEnv(t, noOllama, "")
	ctx := context.Background()
	const entries = 100_000 // more than 65,535: the archive needs ZIP64 records
	content := manyEntryZip(t, entries)
	src := e.stage(t, "many.docx", content)
	var err error
	after := allocated(func() { _, err = e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: src}) })
	wantFault(t, err, fault.Invalid, "file", "the archive has more than 10,000 entries")
	before := allocated(func() { _, err = ingest.Detect(src.File, src.Size, src.Filename) })
	if err == nil {
		t.Fatal("ingest.Detect accepted the archive")
	}
	t.Logf("%d entries, %d KB: ingest.Detect allocates %d KB, Add %d KB", entries, len(content)>>10, before>>10, after>>10)
	if after > 2<<20 || after*4 > before {
		t.Errorf("refusing the archive allocated %d KB (ingest.Detect: %d KB)", after>>10, before>>10)
	}

	// An archive under the limit still goes through ingest's own checks.
	small := e.stage(t, "few.zip", manyEntryZip(t, 3))
	_, err = e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: small})
	wantFault(t, err, fault.Unsupported, "", "ZIP archives are not supported")
	if files := e.wsFiles(t); len(files) != 2 {
		t.Fatalf("refused archives left files: %q", files)
	}

	// Only a file that starts as a ZIP file is counted: a PDF whose bytes
	// happen to hold an end-of-directory record claiming 65,535 entries is a PDF.
	pdf := append([]byte("%PDF-1.4\n1 0 obj\n"), "PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)
	d, err := e.svc.Add(ctx, e.ws.ID, e.admin(), knowledge.NewDocument{Source: e.stage(t, "odd.pdf", pdf)})
	if err != nil || d.MimeType != ingest.KindPDF.MIME() {
		t.Fatalf("the PDF was not taken for one: %+v %v", d, err)
	}
}

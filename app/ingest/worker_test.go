package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"quire/app/ingest/ingesttest"
)

func TestMain(m *testing.M) {
	RunWorkerIfRequested()
	os.Exit(m.Run())
}

// tempFile stores data as a file for the worker, which reads documents from
// a file descriptor.
func tempFile(t testing.TB, name string, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func workerParse(t testing.TB, name string, data []byte, lim Limits) (Kind, *Parsed, error) {
	t.Helper()
	var w Worker
	return w.Parse(context.Background(), tempFile(t, name, data), name, "", lim)
}

// noWorkersLeft fails when a parse worker outlived the Parse that started it.
func noWorkersLeft(t testing.TB) {
	t.Helper()
	pids, ok := ingesttest.Workers()
	if !ok {
		return // no /proc: nothing to check with
	}
	if len(pids) > 0 {
		t.Errorf("parse worker processes still running: %v", pids)
	}
}

// The worker gives the same result as parsing in process, and detects the
// kind itself.
func TestWorkerParsesLikeInProcess(t *testing.T) {
	docs := map[string]struct {
		kind Kind
		data []byte
	}{
		"notes.md":    {KindMD, []byte("# Install\n\nRun it.\n\n## Linux\n\nUse the package.\n")},
		"report.pdf":  {KindPDF, buildPDF(t, pdfOptions{title: "Report"}, pdfPage{lines: []string{"Hello", "World"}}, pdfPage{lines: []string{"Page two"}})},
		"memo.docx":   {KindDOCX, buildDOCX(t, "Memo", []testPara{{"Heading1", "Budget"}, {"", "Numbers go here."}}, [][]string{{"a", "b"}})},
		"sheet.xlsx":  {KindXLSX, buildXLSX(t, "Sheet", []string{"Data"}, map[string][][]any{"Data": {{"name", "amount"}, {"x", 2.5}}})},
		"table.csv":   {KindCSV, []byte("name,amount\nx,1\ny,2\n")},
		"page.html":   {KindHTML, []byte("<html><head><title>T</title></head><body><h1>A</h1><p>text</p></body></html>")},
		"slides.pptx": {KindPPTX, buildPPTX(t, []slide{{title: "One", body: []string{"first"}}})},
	}
	for name, d := range docs {
		want, err := parseBytes(d.kind, d.data, Limits{})
		if err != nil {
			t.Fatalf("%s in process: %v", name, err)
		}
		kind, got, err := workerParse(t, name, d.data, Limits{})
		if err != nil {
			t.Fatalf("%s in the worker: %v", name, err)
		}
		if kind != d.kind || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: worker gave %s %+v, in process %s %+v", name, kind, got, d.kind, want)
		}
	}
	// Errors keep their class and message across the process boundary.
	_, _, err := workerParse(t, "empty.pdf", buildPDF(t, pdfOptions{}, pdfPage{}), Limits{})
	if !errors.Is(err, ErrNoText) || !strings.Contains(err.Error(), "no extractable text") {
		t.Errorf("PDF without text: %v", err)
	}
	if _, _, err := workerParse(t, "a.exe", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), Limits{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("binary junk: %v", err)
	}
	noWorkersLeft(t)
}

// Inputs that kill a Go process with fatal errors (recover cannot catch
// them) or keep a core busy for hours: in the worker each one becomes an
// error that says what happened, the test process lives on, and no worker
// is left behind.
func TestWorkerContainsHostileInputs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  []byte
		class error
		msg   string
	}{
		{"self-referential object stream.pdf", ingesttest.SelfReferentialObjStm(), nil, "the PDF could not be read: the parser"},
		{"xref size 1e10.pdf", ingesttest.HugeXrefSize(), ErrTooLarge, "the PDF could not be read: the parser ran out of memory (its limit is 1 GB)"},
		{"predictor columns 1e11.pdf", ingesttest.HugePredictorColumns(), ErrTooLarge, "the PDF could not be read: the parser ran out of memory"},
		{"emphasis.md", ingesttest.EmphasisBomb(300_000), ErrTimeout, "reading the Markdown file took longer than 2s"},
		{"quotes.md", ingesttest.QuoteBomb(200_000), nil, "the Markdown file"},
	} {
		// Time enough for the crashes on a busy machine; the bombs use all of it.
		lim := Limits{Timeout: 10 * time.Second}
		if strings.HasSuffix(tc.name, ".md") {
			lim.Timeout = 2 * time.Second
		}
		began := time.Now()
		kind, p, err := workerParse(t, tc.name, tc.data, lim)
		var e *Error
		if p != nil || !errors.As(err, &e) || !strings.Contains(e.Msg, tc.msg) || (tc.class != nil && !errors.Is(err, tc.class)) {
			t.Errorf("%s: got %s %v, %v; want an error of class %v saying %q", tc.name, kind, p, err, tc.class, tc.msg)
			continue
		}
		if took := time.Since(began); took > lim.Timeout+workerGrace(lim)+2*time.Second {
			t.Errorf("%s: the worker was stopped after %v, limit %v", tc.name, took, lim.Timeout)
		}
		t.Logf("%s: %v after %v (cause: %v)", tc.name, err, time.Since(began).Round(time.Millisecond), e.Cause)
		noWorkersLeft(t)
	}
}

// A worker whose parent is gone (its stdin closes) stops at once instead of
// parsing a bomb for hours as an orphan.
func TestWorkerExitsWhenParentGoes(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{workerEnv + "=" + workerMagic}
	cmd.ExtraFiles = []*os.File{tempFile(t, "bomb.md", ingesttest.EmphasisBomb(1_500_000))}
	stdin, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(workerRequest{Filename: "bomb.md", Limits: Limits{Timeout: time.Hour}})
	if err := writeFrame(stdin, req); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // parsing has begun
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitParentGone {
			t.Errorf("worker ended with %v, want exit code %d", err, exitParentGone)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the worker kept running after its parent's end of stdin closed")
	}
}

// A binary that forgot RunWorkerIfRequested would run its whole main as the
// "worker", which would start workers of its own: such a child refuses.
func TestWorkerDoesNotRecurse(t *testing.T) {
	t.Setenv(workerEnv, workerMagic)
	_, _, err := workerParse(t, "a.md", []byte("# x\n"), Limits{})
	if err == nil || !strings.Contains(err.Error(), "RunWorkerIfRequested") {
		t.Errorf("parse from inside a worker: %v", err)
	}
}

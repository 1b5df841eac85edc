package knowledge_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quire/app/ingest"
	"quire/app/ingest/ingesttest"
	"quire/store"
)

// noOllama is an address nothing listens on: hostile documents fail before
// embedding, and normal ones become keyword-searchable without a model.
const noOllama = "http://127.0.0.1:1"

// hostile are the uploads that used to kill or wedge the server, with what
// their document must say once failed.
func hostile() []struct{ name, content, reason string } {
	return []struct{ name, content, reason string }{
		{"loop.pdf", string(ingesttest.SelfReferentialObjStm()), "The PDF could not be read: the parser crashed"},
		{"size.pdf", string(ingesttest.HugeXrefSize()), "The PDF could not be read: the parser ran out of memory"},
		{"predictor.pdf", string(ingesttest.HugePredictorColumns()), "The PDF could not be read: the parser ran out of memory"},
		{"emphasis.md", string(ingesttest.EmphasisBomb(1_500_000)), "Reading the Markdown file took longer than 3s"},
		{"quotes.md", string(ingesttest.QuoteBomb(750_000)), "the Markdown file"},
	}
}

// Short enough for tests, long enough for the crashes on a busy machine.
var hostileLimits = ingest.Limits{Timeout: 3 * time.Second}

func waitFailed(t *testing.T, e *env, wsID, docID string) *store.Document {
	t.Helper()
	return e.waitDoc(t, wsID, docID, "failed", func(d *store.Document) bool {
		if d.Status == store.DocReady {
			t.Fatalf("%s became ready", d.Name)
		}
		return d.Status == store.DocFailed
	})
}

func noWorkersLeft(t *testing.T) {
	t.Helper()
	if pids, ok := ingesttest.Workers(); ok && len(pids) > 0 {
		t.Errorf("parse workers still running: %v", pids)
	}
}

// Each hostile upload fails its document with a reason a person can act on,
// the process survives (before the worker, the PDFs were fatal errors and
// the bombs goroutines burning a core for hours), the tasks fail for good
// instead of being retried, and nothing keeps running afterwards.
func TestHostileUploadsFailTheirDocuments(t *testing.T) {
	e := newEnv(t, noOllama, "", withLimits(hostileLimits))
	for _, h := range hostile() {
		d := e.upload(t, e.ws.ID, h.name, h.content)
		got := waitFailed(t, e, e.ws.ID, d.ID)
		if !strings.Contains(got.ProcessingError, h.reason) {
			t.Errorf("%s failed with %q, want %q", h.name, got.ProcessingError, h.reason)
		}
		tasks := settledTasks(t, e.st, d.ID)
		if len(tasks) != 1 || tasks[0].Status != store.TaskFailed || tasks[0].Attempts != 1 {
			t.Errorf("%s tasks: %+v", h.name, tasks)
		}
	}
	noWorkersLeft(t)
	if before, ok := ingesttest.CPUTime(); ok {
		time.Sleep(time.Second)
		after, _ := ingesttest.CPUTime()
		if busy := after - before; busy > 300*time.Millisecond {
			t.Errorf("the idle process used %v of CPU in 1s: a parser is still running", busy)
		}
	}
	// The pipeline still works.
	d := e.upload(t, e.ws.ID, "fine.md", "# Fine\n\nA normal document about gardens.\n")
	e.waitDoc(t, e.ws.ID, d.ID, "ready", func(d *store.Document) bool { return d.Status == store.DocReady })
}

// stoppedEnv is an env over a fresh database whose runner has not started,
// so a test can arrange the task table as a dead process left it.
func stoppedEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{files: filepath.Join(dir, "files"), limits: hostileLimits}
	var err error
	if e.st, err = store.Open(context.Background(), filepath.Join(dir, "quire.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.model.Store("")
	e.seed(t)
	return e
}

// store puts a file and its document (with its queued ingest task) in place
// without a running service.
func (e *env) store(t *testing.T, wsID, name, content string) *store.Document {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(e.files, wsID), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.files, wsID, name), []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	d, _, err := e.st.CreateDocument(context.Background(), wsID, store.NewDocument{Name: name, OriginalFilename: name,
		FileSize: int64(len(content)), StoragePath: wsID + "/" + name, UploadedBy: e.owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// diedParsing claims the document's ingest task n times for processes that
// then died (each claim counts an attempt, as for a server that crashed
// while parsing), leaving it running as the last one left it.
func diedParsing(t *testing.T, st *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if i > 0 {
			if _, _, err := st.RequeueStale(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if tk, err := st.ClaimTask(ctx, "dead-process", store.Claim{Kinds: []string{store.TaskIngest}}); err != nil || tk == nil {
			t.Fatalf("claim %d: %v %v", i, tk, err)
		}
	}
}

// A server that went down while parsing a hostile document (the old crash
// loop) comes back up, and the document fails instead of taking the server
// down again; a restart after that leaves it alone.
func TestRestartWithHostileDocumentDoesNotLoop(t *testing.T) {
	e := stoppedEnv(t)
	d := e.store(t, e.ws.ID, "loop.pdf", string(ingesttest.SelfReferentialObjStm()))
	diedParsing(t, e.st, 1)
	e.start(t, noOllama) // RequeueStale, then the runner
	got := waitFailed(t, e, e.ws.ID, d.ID)
	if !strings.Contains(got.ProcessingError, "The PDF could not be read: the parser crashed") {
		t.Errorf("failed with %q", got.ProcessingError)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.runner.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	e.start(t, noOllama) // and once more
	time.Sleep(300 * time.Millisecond)
	tasks, _ := e.st.ListTasks(context.Background(), store.TaskFilter{DocumentID: d.ID})
	if len(tasks) != 1 || tasks[0].Status != store.TaskFailed || tasks[0].Attempts != 2 {
		t.Errorf("after the second restart: %+v", tasks)
	}
	noWorkersLeft(t)
}

// A document during whose parsing the server died on every attempt fails at
// the next start without being parsed again.
func TestDocumentThatKilledTheServerEveryTimeFails(t *testing.T) {
	e := stoppedEnv(t)
	d := e.store(t, e.ws.ID, "killer.md", "# Fine looking\n\nbut the server died each time.\n")
	diedParsing(t, e.st, store.IngestAttempts)
	e.start(t, noOllama)
	got := waitFailed(t, e, e.ws.ID, d.ID)
	if want := "Processing failed after 3 attempts: the server stopped while working on this task on every attempt"; !strings.Contains(got.ProcessingError, want) {
		t.Errorf("failed with %q, want %q", got.ProcessingError, want)
	}
	if got.ChunkCount != 0 {
		t.Errorf("the document was parsed again: %+v", got)
	}
}

// Workspace A's hostile uploads, each taking the whole parse timeout, do not
// hold up workspace B: B's document is processed while A's still wait.
func TestHostileWorkspaceDoesNotStarveOthers(t *testing.T) {
	e := newEnv(t, noOllama, "", withLimits(hostileLimits))
	ctx := context.Background()
	other, err := e.st.CreateWorkspace(ctx, e.owner.ID, "Other")
	if err != nil {
		t.Fatal(err)
	}
	var slow []*store.Document
	for i := range 4 {
		slow = append(slow, e.upload(t, e.ws.ID, "bomb"+string(rune('a'+i))+".md", string(ingesttest.EmphasisBomb(1_500_000))))
	}
	time.Sleep(100 * time.Millisecond) // A's first bomb is being parsed
	d := e.upload(t, other.ID, "fine.md", "# Fine\n\nA normal document about gardens.\n")
	e.waitDoc(t, other.ID, d.ID, "ready", func(d *store.Document) bool { return d.Status == store.DocReady })
	waiting := 0
	for _, s := range slow {
		got, _ := e.st.GetDocument(ctx, e.ws.ID, s.ID)
		if got.Status != store.DocFailed {
			waiting++
		}
	}
	if waiting < 3 {
		t.Errorf("B's document was ready only after %d of A's 4 bombs had timed out", 4-waiting)
	}
	for _, s := range slow {
		waitFailed(t, e, e.ws.ID, s.ID)
	}
	noWorkersLeft(t)
}

// settledTasks waits until the document's tasks are no longer running: the
// document's status is written before its task is settled, so a test that
// reads the task right after the document changed can see it still running.
func settledTasks(t *testing.T, st *store.Store, docID string) []store.Task {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tasks, err := st.ListTasks(context.Background(), store.TaskFilter{DocumentID: docID})
		if err != nil {
			t.Fatal(err)
		}
		running := false
		for _, tk := range tasks {
			running = running || tk.Status == store.TaskRunning || tk.Status == store.TaskQueued
		}
		if !running || time.Now().After(deadline) {
			return tasks
		}
		time.Sleep(10 * time.Millisecond)
	}
}

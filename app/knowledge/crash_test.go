package knowledge_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"quire/app/llm/ollamatest"
	"quire/store"
)

// embedGate is a proxy in front of Ollama that holds the embed calls after
// the first n until released: the moment it holds one, the runner is idle
// between two committed batches, as a crashing process could be.
type embedGate struct {
	n       int32
	calls   atomic.Int32
	held    chan struct{} // closed when the first call is held
	release chan struct{}
	once    sync.Once
}

func newEmbedGate(t *testing.T, target string, n int32) (*embedGate, string) {
	u, _ := url.Parse(target)
	g := &embedGate{n: n, held: make(chan struct{}), release: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/embed" && g.calls.Add(1) > g.n {
			io.Copy(io.Discard, r.Body)
			g.once.Do(func() { close(g.held) })
			<-g.release
			http.Error(w, `{"error":"gone"}`, http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return g, srv.URL
}

// longDoc is Markdown with sections of about 400 estimated tokens each, so
// every section is one chunk of the tiny model's 512-token context.
func longDoc(sections int) string {
	words := strings.Fields("water ship river island music song garden tree engine power paper letter money table city " +
		"mountain forest animal science school family friend story window summer winter morning ocean")
	var b strings.Builder
	for s := range sections {
		fmt.Fprintf(&b, "# Part %d\n\n", s+1)
		for i := range 200 {
			b.WriteString(words[(s*7+i*i)%len(words)])
			if i%12 == 11 {
				b.WriteString(".\n")
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

// TestCrashResume interrupts an ingest after two committed batches, takes the
// database files as a crash would leave them (task running, document
// processing, half the chunks written), and starts a new process on them:
// RequeueStale picks the task up, the done batches are skipped, and the
// result has every chunk exactly once.
func TestCrashResume(t *testing.T) {
	srv := ollamatest.StartShared(t)
	gate, proxyURL := newEmbedGate(t, srv.URL, 2)
	e := newEnv(t, proxyURL, srv.EmbedModel, withBatchSize(2))
	t.Cleanup(func() { close(gate.release) }) // runs before the runner's Stop
	d := e.upload(t, e.ws.ID, "manual.md", longDoc(7), e.shared)
	<-gate.held

	ctx := context.Background()
	before, err := e.st.ListChunks(ctx, e.ws.ID, d.ID, -1, 100)
	if err != nil || len(before) != 4 {
		t.Fatalf("%d chunks written before the crash, want 4 (%v)", len(before), err)
	}
	// The crash image: the database and its WAL as they are on disk now.
	dir := t.TempDir()
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(e.st.Path() + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "quire.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// The next process: same files folder, the model server reached directly.
	st2, err := store.Open(ctx, filepath.Join(dir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	tasks, _ := st2.ListTasks(ctx, store.TaskFilter{DocumentID: d.ID})
	if len(tasks) != 1 || tasks[0].Status != store.TaskRunning {
		t.Fatalf("crash image tasks: %+v", tasks)
	}
	e2 := &env{st: st2, files: e.files, ws: e.ws, owner: e.owner, batchSize: 2}
	e2.model.Store(srv.EmbedModel)
	e2.start(t, srv.URL) // RequeueStale, then the runner

	got := e2.waitEmbedded(t, e.ws.ID, d.ID, srv.EmbedModel)
	if got.ChunkCount != 7 {
		t.Errorf("%d chunks, want 7", got.ChunkCount)
	}
	e2.checkIndexed(t, got, true)
	after, _ := st2.ListChunks(ctx, e.ws.ID, d.ID, -1, 100)
	for i, c := range before {
		if after[i].ID != c.ID || after[i].Content != c.Content {
			t.Errorf("chunk %d was rewritten after the restart", i)
		}
	}
	tasks = settledTasks(t, st2, d.ID)
	if len(tasks) != 1 || tasks[0].Status != store.TaskSucceeded || tasks[0].Attempts != 2 {
		t.Errorf("task after resume: %+v", tasks)
	}
	// Only the unfinished batches were embedded again: the usage totals hold
	// the two calls before the crash and two after (chunks 5–6, then 7).
	series, err := st2.UsageSeries(ctx, e.ws.ID, time.Time{}, time.Now().Add(time.Hour), "model")
	if err != nil || len(series) != 1 {
		t.Fatalf("usage %+v, %v", series, err)
	}
	if calls := series[0].Calls; calls != 4 {
		t.Errorf("%d embedding calls recorded, want 4", calls)
	}
}

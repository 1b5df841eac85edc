package knowledge_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"quire/app/ingest"
	"quire/app/jobs"
	"quire/app/knowledge"
	"quire/app/llm"
	"quire/app/llm/ollamatest"
	"quire/app/rag"
	"quire/store"
)

func TestMain(m *testing.M) {
	ingest.RunWorkerIfRequested() // documents are parsed by this binary re-executed as a worker
	ollamatest.Main(m)
}

// env is a Quire knowledge layer over a real SQLite file and a real Ollama:
// one workspace with an owner (admin), a member in team "eng" and a member
// in no team; a knowledge base shared with the workspace and one granted to
// the team only.
type env struct {
	st        *store.Store
	llm       *llm.Client
	runner    *jobs.Runner
	svc       *knowledge.Service
	files     string
	model     atomic.Value // the instance's embedding model
	ws        *store.Workspace
	owner     *store.User
	member    *store.User // in team eng
	outsider  *store.User // in no team
	shared    *store.KnowledgeBase
	engOnly   *store.KnowledgeBase
	batchSize int
	limits    ingest.Limits
	fetch     knowledge.FetchPolicy
}

type envOpt func(*env)

func withBatchSize(n int) envOpt { return func(e *env) { e.batchSize = n } }

func withLimits(l ingest.Limits) envOpt { return func(e *env) { e.limits = l } }

func withFetch(p knowledge.FetchPolicy) envOpt { return func(e *env) { e.fetch = p } }

func newEnv(t testing.TB, ollamaURL, model string, opts ...envOpt) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{files: filepath.Join(dir, "files"), fetch: knowledge.FetchPolicy{MaxMB: 50, UserAgent: "Quire test"}}
	for _, o := range opts {
		o(e)
	}
	var err error
	if e.st, err = store.Open(context.Background(), filepath.Join(dir, "quire.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.model.Store(model)
	e.start(t, ollamaURL)
	e.seed(t)
	return e
}

// start builds the client, runner and service over e.st and starts them.
func (e *env) start(t testing.TB, ollamaURL string) {
	t.Helper()
	var err error
	if e.llm, err = llm.New(ollamaURL, llm.Options{}); err != nil {
		t.Fatal(err)
	}
	e.runner = jobs.New(e.st, jobs.Config{Workers: 2, Poll: 50 * time.Millisecond, Backoff: 20 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond, DeferMin: 50 * time.Millisecond, DeferMax: 200 * time.Millisecond})
	e.svc, err = knowledge.New(knowledge.Config{Store: e.st, LLM: e.llm, Runner: e.runner, FilesDir: e.files,
		EmbeddingModel: func() string { return e.model.Load().(string) }, BatchSize: e.batchSize, Limits: e.limits,
		Fetch: func() knowledge.FetchPolicy { return e.fetch }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r := e.runner
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
	})
	if err := e.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
}

func (e *env) seed(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	e.owner, err = e.st.CreateUser(ctx, "owner@example.com", "Owner", "x", true)
	must(err)
	e.member, err = e.st.CreateUser(ctx, "member@example.com", "Member", "x", true)
	must(err)
	e.outsider, err = e.st.CreateUser(ctx, "outsider@example.com", "Outsider", "x", true)
	must(err)
	e.ws, err = e.st.CreateWorkspace(ctx, e.owner.ID, "Acme")
	must(err)
	must(e.st.AddMember(ctx, e.ws.ID, e.member.ID, store.RoleMember))
	must(e.st.AddMember(ctx, e.ws.ID, e.outsider.ID, store.RoleMember))
	team, err := e.st.CreateTeam(ctx, e.ws.ID, e.owner.ID, "eng", "")
	must(err)
	must(e.st.AddTeamMember(ctx, e.ws.ID, team.ID, e.member.ID))
	e.shared, err = e.st.CreateKnowledgeBase(ctx, e.ws.ID, e.owner.ID, "Handbook", "", true)
	must(err)
	e.engOnly, err = e.st.CreateKnowledgeBase(ctx, e.ws.ID, e.owner.ID, "Engineering", "", false)
	must(err)
	must(e.st.SetKBAccess(ctx, e.ws.ID, e.admin(), e.engOnly.ID, store.KBAccess{TeamIDs: []int64{team.ID}}))
}

func (e *env) admin() store.Viewer { return store.Viewer{UserID: e.owner.ID, IsAdmin: true} }

func (e *env) as(u *store.User) store.Viewer {
	return store.Viewer{UserID: u.ID, IsAdmin: u.ID == e.owner.ID}
}

// upload stores a file directly and queues its processing: unlike Add it
// skips the checks at the door, so that ingest sees what Add would refuse.
func (e *env) upload(t testing.TB, wsID, filename, content string, kbs ...*store.KnowledgeBase) *store.Document {
	t.Helper()
	return e.uploadAs(t, e.owner, wsID, filename, content, kbs...)
}

func (e *env) uploadAs(t testing.TB, by *store.User, wsID, filename, content string, kbs ...*store.KnowledgeBase) *store.Document {
	t.Helper()
	var kbIDs []string
	for _, kb := range kbs {
		kbIDs = append(kbIDs, kb.ID)
	}
	rel := filepath.Join(wsID, filename)
	if err := os.MkdirAll(filepath.Join(e.files, wsID), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.files, rel), []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	d, _, err := e.st.CreateDocument(context.Background(), wsID, store.NewDocument{Name: filename, OriginalFilename: filename,
		FileSize: int64(len(content)), StoragePath: filepath.ToSlash(rel), UploadedBy: by.ID, KnowledgeBaseIDs: kbIDs})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Wake()
	return d
}

// waitDoc polls a document until cond holds (or fails the test after 30 s).
func (e *env) waitDoc(t testing.TB, wsID, docID string, what string, cond func(*store.Document) bool) *store.Document {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := e.st.GetDocument(context.Background(), wsID, docID)
		if err != nil {
			t.Fatal(err)
		}
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("document %s never became %s: %+v", d.Name, what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEmbedded waits until a document is ready with vectors of model.
func (e *env) waitEmbedded(t testing.TB, wsID, docID, model string) *store.Document {
	t.Helper()
	return e.waitDoc(t, wsID, docID, "embedded with "+model, func(d *store.Document) bool {
		if d.Status == store.DocFailed {
			t.Fatalf("document %s failed: %s", d.Name, d.ProcessingError)
		}
		return d.Status == store.DocReady && d.EmbeddingModel == model
	})
}

// checkIndexed asserts the invariant chunks == FTS rows == vectors == chunk_count.
func (e *env) checkIndexed(t testing.TB, d *store.Document, vectors bool) {
	t.Helper()
	c, err := e.st.DocumentIndexCounts(context.Background(), d.WorkspaceID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.IndexCounts{Chunks: d.ChunkCount, FTS: d.ChunkCount, Vectors: d.ChunkCount}
	if !vectors {
		want.Vectors = 0
	}
	if d.ChunkCount == 0 || c != want {
		t.Errorf("%s: index counts %+v, want %+v", d.Name, c, want)
	}
}

func (e *env) search(t testing.TB, v store.Viewer, mode rag.Mode, query string, kbs ...*store.KnowledgeBase) *rag.Response {
	t.Helper()
	resp, err := e.searchErr(v, mode, query, kbs...)
	if err != nil {
		t.Fatalf("search %q (%s): %v", query, mode, err)
	}
	return resp
}

func (e *env) searchErr(v store.Viewer, mode rag.Mode, query string, kbs ...*store.KnowledgeBase) (*rag.Response, error) {
	var ids []string
	for _, kb := range kbs {
		ids = append(ids, kb.ID)
	}
	res, err := e.svc.Search(context.Background(), e.ws.ID, v, knowledge.SearchInput{Query: query, KnowledgeBaseIDs: ids, Mode: string(mode)})
	if err != nil {
		return nil, err
	}
	return res.Response, nil
}

func names(rs []rag.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.DocumentName)
	}
	return out
}

package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"quire/app/ingest"
	"quire/app/jobs"
	"quire/app/knowledge"
	"quire/app/llm"
	"quire/app/llm/ollamatest"
	"quire/app/tools"
	"quire/store"
)

func TestMain(m *testing.M) {
	ingest.RunWorkerIfRequested() // documents are parsed by this binary re-executed as a worker
	ollamatest.Main(m)
}

// env is the knowledge layer over a real SQLite file and a real Ollama: a
// workspace whose owner is its admin, a member in team "eng", a member in no
// team; knowledge base Handbook shared with the workspace, Engineering
// granted to the team only; and another workspace with its own document.
type env struct {
	st       *store.Store
	svc      *knowledge.Service
	tools    *tools.Tools
	files    string
	ws       *store.Workspace
	other    *store.Workspace
	owner    *store.User
	member   *store.User // in team eng
	outsider *store.User // in no team
	handbook *store.KnowledgeBase
	eng      *store.KnowledgeBase
	policy   *store.Document // in Handbook
	secret   *store.Document // in Engineering only
	private  *store.Document // the outsider's, in no knowledge base
	foreign  *store.Document // in the other workspace
	model    string
}

const (
	policyText  = "Vacation policy. Unused vacation days carry over to the next year, up to five days.\n"
	secretText  = "Engineering only. The ship will sail across the ocean to the island with the secret cargo.\n"
	privateText = "Private notes. My own thoughts about the ocean ship and the island.\n"
	foreignText = "Elsewhere. The ship will sail across the ocean to the island with the foreign cargo.\n"
)

// longText is a document of many chunks; each paragraph names its number so
// the order of a read can be checked.
func longText() string {
	var b strings.Builder
	for i := range 12 {
		fmt.Fprintf(&b, "Paragraph %03d. ", i)
		for range 40 {
			b.WriteString("the garden tree grows in spring and the flower bed needs water ")
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := ollamatest.StartShared(t)
	dir := t.TempDir()
	e := &env{files: filepath.Join(dir, "files"), model: srv.EmbedModel}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	e.st, err = store.Open(ctx, filepath.Join(dir, "quire.db"))
	must(err)
	t.Cleanup(func() { e.st.Close() })
	client, err := llm.New(srv.URL, llm.Options{})
	must(err)
	runner := jobs.New(e.st, jobs.Config{Workers: 2, Poll: 50 * time.Millisecond, Backoff: 20 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond, DeferMin: 50 * time.Millisecond, DeferMax: 200 * time.Millisecond})
	e.svc, err = knowledge.New(knowledge.Config{Store: e.st, LLM: client, Runner: runner, FilesDir: e.files,
		EmbeddingModel: func() string { return srv.EmbedModel }})
	must(err)
	must(runner.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		runner.Stop(ctx)
	})
	must(e.svc.Start(ctx))
	e.tools = tools.New(e.svc, e.st)

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
	e.handbook, err = e.st.CreateKnowledgeBase(ctx, e.ws.ID, e.owner.ID, "Handbook", "Company policies", true)
	must(err)
	e.eng, err = e.st.CreateKnowledgeBase(ctx, e.ws.ID, e.owner.ID, "Engineering", "", false)
	must(err)
	must(e.st.SetKBAccess(ctx, e.ws.ID, e.admin(), e.eng.ID, store.KBAccess{TeamIDs: []int64{team.ID}}))
	e.other, err = e.st.CreateWorkspace(ctx, e.outsider.ID, "Elsewhere")
	must(err)
	otherKB, err := e.st.CreateKnowledgeBase(ctx, e.other.ID, e.outsider.ID, "Handbook", "", true)
	must(err)

	e.policy = e.upload(t, e.owner, e.ws.ID, "policy.txt", policyText, e.handbook.ID)
	e.secret = e.upload(t, e.owner, e.ws.ID, "secret.txt", secretText, e.eng.ID)
	e.private = e.upload(t, e.outsider, e.ws.ID, "private.txt", privateText)
	e.foreign = e.upload(t, e.outsider, e.other.ID, "foreign.txt", foreignText, otherKB.ID)
	for _, d := range []**store.Document{&e.policy, &e.secret, &e.private, &e.foreign} {
		*d = e.waitReady(t, *d)
	}
	return e
}

func (e *env) admin() store.Viewer { return store.Viewer{UserID: e.owner.ID, IsAdmin: true} }

func (e *env) scope(u *store.User, kbs ...string) tools.Scope {
	return tools.Scope{WorkspaceID: e.ws.ID, Viewer: store.Viewer{UserID: u.ID, IsAdmin: u.ID == e.owner.ID}, KBs: kbs}
}

func (e *env) upload(t *testing.T, by *store.User, wsID, filename, content string, kbIDs ...string) *store.Document {
	t.Helper()
	rel := filepath.Join(wsID, filename)
	if err := os.MkdirAll(filepath.Join(e.files, wsID), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.files, rel), []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	d, _, err := e.st.CreateDocument(context.Background(), wsID, store.NewDocument{Name: filename, OriginalFilename: filename,
		MimeType: "text/plain", FileSize: int64(len(content)), StoragePath: filepath.ToSlash(rel), UploadedBy: by.ID, KnowledgeBaseIDs: kbIDs})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Wake()
	return d
}

func (e *env) waitReady(t *testing.T, d *store.Document) *store.Document {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := e.st.GetDocument(context.Background(), d.WorkspaceID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == store.DocFailed {
			t.Fatalf("%s failed: %s", got.Name, got.ProcessingError)
		}
		if got.Status == store.DocReady && got.EmbeddingModel == e.model {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready: %+v", got.Name, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) run(t *testing.T, sc tools.Scope, name string, args string) tools.Result {
	t.Helper()
	res, err := e.tools.Run(context.Background(), sc, name, json.RawMessage(args))
	if err != nil {
		t.Fatalf("%s %s: %v", name, args, err)
	}
	return res
}

func docIDs(res tools.Result) []string {
	var out []string
	for _, p := range res.Passages {
		out = append(out, p.DocumentID)
	}
	return out
}

func TestDefinitions(t *testing.T) {
	var defs []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string `json:"name"`
			Parameters struct {
				Type       string                     `json:"type"`
				Properties map[string]json.RawMessage `json:"properties"`
				Required   []string                   `json:"required"`
			} `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal(tools.New(nil, nil).Definitions(), &defs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range defs {
		names = append(names, d.Function.Name)
		if d.Type != "function" || d.Function.Parameters.Type != "object" || d.Function.Parameters.Properties == nil {
			t.Errorf("%s: %+v", d.Function.Name, d)
		}
		for _, r := range d.Function.Parameters.Required {
			if _, ok := d.Function.Parameters.Properties[r]; !ok {
				t.Errorf("%s requires %q, which it does not describe", d.Function.Name, r)
			}
		}
	}
	if want := []string{tools.SearchKnowledge, tools.ReadDocument, tools.ListKnowledgeBases}; !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}
}

// TestSearchVisibility: search returns exactly what the viewer may see: the
// team's document to its member and the admin, never to a member outside the
// team, never another workspace's document, and a member's own upload in no
// knowledge base to them alone.
func TestSearchVisibility(t *testing.T) {
	e := newEnv(t)
	const q = `{"query":"the ship will sail across the ocean to the island"}`
	for _, tc := range []struct {
		label string
		sc    tools.Scope
		sees  []string
	}{
		{"admin", e.scope(e.owner), []string{e.secret.ID, e.private.ID}},
		{"team member", e.scope(e.member), []string{e.secret.ID}},
		{"member outside the team", e.scope(e.outsider), []string{e.private.ID}},
	} {
		res := e.run(t, tc.sc, tools.SearchKnowledge, q)
		got := docIDs(res)
		if res.IsError {
			t.Fatalf("%s: %s", tc.label, res.Text)
		}
		for _, d := range []*store.Document{e.secret, e.private, e.foreign} {
			if has, want := slices.Contains(got, d.ID), slices.Contains(tc.sees, d.ID); has != want {
				t.Errorf("%s: results %v; has %s: %v, want %v", tc.label, got, d.Name, has, want)
			}
			if !slices.Contains(tc.sees, d.ID) && (strings.Contains(res.Text, d.ID) || strings.Contains(res.Text, d.Name)) {
				t.Errorf("%s: the text names %s:\n%s", tc.label, d.Name, res.Text)
			}
		}
		if strings.Contains(res.Text, "foreign cargo") {
			t.Errorf("%s: another workspace's text:\n%s", tc.label, res.Text)
		}
	}
	// What the model reads names the passages it can cite, and the summary says what was done.
	res := e.run(t, e.scope(e.member), tools.SearchKnowledge, `{"query":"vacation days carry over","knowledge_base":"handbook"}`)
	if len(res.Passages) == 0 || res.Passages[0].DocumentID != e.policy.ID || !strings.Contains(res.Text, e.policy.ID) ||
		!strings.Contains(res.Text, "carry over to the next year") {
		t.Fatalf("search in Handbook: %+v", res)
	}
	if want := fmt.Sprintf("Searched “vacation days carry over” in Handbook — %d passage", len(res.Passages)); !strings.HasPrefix(res.Summary, want) {
		t.Errorf("summary %q, want %q…", res.Summary, want)
	}
	// The outsider asking for the team's knowledge base by name or id: not found, like a made-up one.
	for _, kb := range []string{"Engineering", e.eng.ID, "No such base"} {
		res := e.run(t, e.scope(e.outsider), tools.SearchKnowledge, fmt.Sprintf(`{"query":"ocean ship","knowledge_base":%q}`, kb))
		if !res.IsError || !strings.Contains(res.Text, "no knowledge base") || len(res.Passages) != 0 {
			t.Errorf("outsider, base %q: %+v", kb, res)
		}
	}
	// Another workspace's knowledge base id is not found either.
	otherKBs, err := e.st.VisibleKBIDs(context.Background(), e.other.ID, store.Viewer{UserID: e.outsider.ID, IsAdmin: true})
	if err != nil || len(otherKBs) != 1 {
		t.Fatal(otherKBs, err)
	}
	if res := e.run(t, e.scope(e.owner), tools.SearchKnowledge, fmt.Sprintf(`{"query":"ocean","knowledge_base":%q}`, otherKBs[0])); !res.IsError {
		t.Errorf("another workspace's base: %+v", res)
	}
}

// TestSearchRecordsUsage: a search embeds its query, which is the viewer's
// ai_usage like any knowledge search.
func TestSearchRecordsUsage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before, err := e.st.UserCosts(ctx, e.member.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, e.scope(e.member), tools.SearchKnowledge, `{"query":"vacation days"}`)
	after, err := e.st.UserCosts(ctx, e.member.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.InputTokens <= before.InputTokens {
		t.Errorf("usage before %+v, after %+v: the query's embedding was not recorded", before, after)
	}
}

// TestScopeKBs: a chat's attached knowledge bases bound every tool, even for
// an admin who sees more; no knowledge base attached means nothing at all.
func TestScopeKBs(t *testing.T) {
	e := newEnv(t)
	sc := e.scope(e.owner, e.handbook.ID)
	if got := docIDs(e.run(t, sc, tools.SearchKnowledge, `{"query":"ship ocean island cargo"}`)); slices.Contains(got, e.secret.ID) || slices.Contains(got, e.private.ID) {
		t.Errorf("search beyond the attached base: %v", got)
	}
	if res := e.run(t, sc, tools.SearchKnowledge, `{"query":"ocean","knowledge_base":"Engineering"}`); !res.IsError {
		t.Errorf("a base not attached: %+v", res)
	}
	for _, d := range []*store.Document{e.secret, e.private} {
		if res := e.run(t, sc, tools.ReadDocument, fmt.Sprintf(`{"document_id":%q}`, d.ID)); !res.IsError || strings.Contains(res.Text, "ocean") {
			t.Errorf("read %s outside the attached base: %+v", d.Name, res)
		}
	}
	if res := e.run(t, sc, tools.ReadDocument, fmt.Sprintf(`{"document_id":%q}`, e.policy.ID)); res.IsError || !strings.Contains(res.Text, "carry over") {
		t.Errorf("read in the attached base: %+v", res)
	}
	list := e.run(t, sc, tools.ListKnowledgeBases, ``)
	if !strings.Contains(list.Text, e.handbook.ID) || strings.Contains(list.Text, "Engineering") || list.Summary != "Listed knowledge bases — 1" {
		t.Errorf("list: %+v", list)
	}

	none := tools.Scope{WorkspaceID: e.ws.ID, Viewer: e.admin(), KBs: []string{}}
	if res := e.run(t, none, tools.SearchKnowledge, `{"query":"vacation"}`); len(res.Passages) != 0 || strings.Contains(res.Text, "carry over") {
		t.Errorf("search with no base attached: %+v", res)
	}
	if res := e.run(t, none, tools.ReadDocument, fmt.Sprintf(`{"document_id":%q}`, e.policy.ID)); !res.IsError {
		t.Errorf("read with no base attached: %+v", res)
	}
	if res := e.run(t, none, tools.ListKnowledgeBases, `{}`); strings.Contains(res.Text, "Handbook") {
		t.Errorf("list with no base attached: %+v", res)
	}
	// An attached base the viewer cannot see (their team access was removed) shows nothing.
	if got := docIDs(e.run(t, e.scope(e.outsider, e.eng.ID), tools.SearchKnowledge, `{"query":"ship ocean island"}`)); len(got) != 0 {
		t.Errorf("attached base hidden from the viewer: %v", got)
	}
}

func TestListKnowledgeBases(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		who  *store.User
		want []string
	}{
		{e.owner, []string{"Engineering", "Handbook"}},
		{e.member, []string{"Engineering", "Handbook"}},
		{e.outsider, []string{"Handbook"}},
	} {
		res := e.run(t, e.scope(tc.who), tools.ListKnowledgeBases, `{}`)
		var got []string
		for _, line := range strings.Split(res.Text, "\n") {
			name, _, _ := strings.Cut(strings.TrimPrefix(line, "- "), " (id ")
			got = append(got, name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: bases %v, want %v:\n%s", tc.who.Name, got, tc.want, res.Text)
		}
		if want := fmt.Sprintf("- Handbook (id %s): 1 document — Company policies", e.handbook.ID); !strings.Contains(res.Text, want) {
			t.Errorf("%s: list lacks Handbook's description or size:\n%s", tc.who.Name, res.Text)
		}
	}
}

// TestReadDocumentPages: a long document is read in pages of whole chunks, in
// order, each within the size cap, and every chunk is on exactly one page.
func TestReadDocumentPages(t *testing.T) {
	e := newEnv(t)
	d := e.waitReady(t, e.upload(t, e.owner, e.ws.ID, "long.txt", longText(), e.handbook.ID))
	if d.ChunkCount <= tools.PageChunks {
		t.Fatalf("the long document has only %d chunks", d.ChunkCount)
	}
	of := tools.Pages(d)
	var seen []int
	for n := 1; n <= of; n++ {
		res := e.run(t, e.scope(e.member), tools.ReadDocument, fmt.Sprintf(`{"document_id":%q,"page":%d}`, d.ID, n))
		if res.IsError {
			t.Fatalf("page %d: %s", n, res.Text)
		}
		if head := fmt.Sprintf("long.txt (document_id %s) — page %d of %d", d.ID, n, of); !strings.HasPrefix(res.Text, head) {
			t.Errorf("page %d starts %q, want %q", n, res.Text[:min(len(res.Text), 80)], head)
		}
		if len([]rune(res.Text)) > tools.PageChars+500 {
			t.Errorf("page %d is %d characters", n, len([]rune(res.Text)))
		}
		if more := strings.Contains(res.Text, fmt.Sprintf("read page %d", n+1)); more != (n < of) {
			t.Errorf("page %d of %d: points at the next page: %v", n, of, more)
		}
		if res.Summary != fmt.Sprintf("Read “long.txt” — page %d of %d", n, of) {
			t.Errorf("summary %q", res.Summary)
		}
		for _, p := range res.Passages {
			seen = append(seen, p.ChunkIndex)
			if p.DocumentID != d.ID || p.ChunkID == "" || !slices.Equal(p.KnowledgeBaseIDs, []string{e.handbook.ID}) {
				t.Errorf("passage %+v", p)
			}
		}
	}
	want := make([]int, d.ChunkCount)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(seen, want) {
		t.Errorf("chunks read %v, want each of 0..%d once in order", seen, d.ChunkCount-1)
	}
	// Paragraphs come in order across the pages.
	first := e.run(t, e.scope(e.member), tools.ReadDocument, fmt.Sprintf(`{"document_id":%q}`, d.ID))
	if i, j := strings.Index(first.Text, "Paragraph 000"), strings.Index(first.Text, "Paragraph 001"); i < 0 || j < i {
		t.Errorf("page 1 does not start with paragraphs 0 then 1")
	}
	// Past the end: an error that says how many pages there are.
	res := e.run(t, e.scope(e.member), tools.ReadDocument, fmt.Sprintf(`{"document_id":%q,"page":%d}`, d.ID, of+1))
	if !res.IsError || !strings.Contains(res.Text, fmt.Sprintf("%d pages", of)) {
		t.Errorf("page past the end: %+v", res)
	}
	// A quoted page number, as small models send them, is read as the number.
	if res := e.run(t, e.scope(e.member), tools.ReadDocument, fmt.Sprintf(`{"document_id":%q,"page":"2"}`, d.ID)); res.IsError || !strings.Contains(res.Text, "page 2 of") {
		t.Errorf(`page "2": %+v`, res)
	}
}

// TestReadDocumentNotFound: a document the viewer may not read is the same
// "not found" as one that does not exist, and its text never comes back.
func TestReadDocumentNotFound(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		label string
		sc    tools.Scope
		id    string
	}{
		{"another workspace's document, by its owner's key", tools.Scope{WorkspaceID: e.ws.ID, Viewer: store.Viewer{UserID: e.outsider.ID}}, e.foreign.ID},
		{"another workspace's document, by an admin", e.scope(e.owner), e.foreign.ID},
		{"a document restricted to another team", e.scope(e.outsider), e.secret.ID},
		{"another member's upload in no knowledge base", e.scope(e.member), e.private.ID},
		{"a made-up id", e.scope(e.owner), uuid.NewString()},
		{"an id with SQL in it", e.scope(e.owner), `' OR 1=1 --`},
		{"a huge id", e.scope(e.owner), strings.Repeat("a", 10000)},
	} {
		res := e.run(t, tc.sc, tools.ReadDocument, fmt.Sprintf(`{"document_id":%q}`, tc.id))
		if !res.IsError || !strings.Contains(res.Text, "there is no document") || len(res.Passages) != 0 {
			t.Errorf("%s: %+v", tc.label, res)
		}
		if strings.Contains(res.Text, "cargo") || strings.Contains(res.Text, "thoughts") || len(res.Text) > 300 {
			t.Errorf("%s: the error is %d bytes and says %q", tc.label, len(res.Text), res.Text)
		}
	}
	// The ones who may read it do.
	for _, tc := range []struct {
		sc tools.Scope
		d  *store.Document
	}{{e.scope(e.member), e.secret}, {e.scope(e.owner), e.private}, {e.scope(e.outsider), e.private}} {
		if res := e.run(t, tc.sc, tools.ReadDocument, fmt.Sprintf(`{"document_id":%q}`, tc.d.ID)); res.IsError || !strings.Contains(res.Text, "ocean") {
			t.Errorf("%d reads %s: %+v", tc.sc.Viewer.UserID, tc.d.Name, res)
		}
	}
}

// TestHostileArgs: whatever a model sends, the answer is a tool error that
// says what is wrong, never a Go error, a panic or a hang.
func TestHostileArgs(t *testing.T) {
	e := newEnv(t)
	doc := e.policy.ID
	for _, tc := range []struct {
		name, args, says string
	}{
		{"delete_everything", `{}`, `there is no tool "delete_everything"`},
		{strings.Repeat("x", 10000), `{}`, "there is no tool"},
		{"", `{}`, `there is no tool ""`},
		{tools.SearchKnowledge, `not json`, "must be a JSON object"},
		{tools.SearchKnowledge, `["query"]`, "must be a JSON object"},
		{tools.SearchKnowledge, `"vacation"`, "must be a JSON object"},
		{tools.SearchKnowledge, `{}`, "query is required"},
		{tools.SearchKnowledge, `{"query":"   "}`, "query is required"},
		{tools.SearchKnowledge, `{"query":null}`, "query is required"},
		{tools.SearchKnowledge, `{"query":42}`, "query must be a string"},
		{tools.SearchKnowledge, `{"query":{"$gt":""}}`, "query must be a string"},
		{tools.SearchKnowledge, `{"query":"vacation\u0000days"}`, "control characters"},
		{tools.SearchKnowledge, `{"query":"vacation\u001b[31m"}`, "control characters"},
		{tools.SearchKnowledge, fmt.Sprintf(`{"query":%q}`, strings.Repeat("vacation ", 200)), "at most 1000 characters"},
		{tools.SearchKnowledge, fmt.Sprintf(`{"query":%q}`, strings.Repeat("v", tools.MaxArgs)), "at most"},
		{tools.SearchKnowledge, `{"query":"vacation","knowledge_base":7}`, "knowledge_base must be a string"},
		{tools.SearchKnowledge, fmt.Sprintf(`{"query":"vacation","knowledge_base":%q}`, strings.Repeat("k", 5000)), "no knowledge base"},
		{tools.ReadDocument, `{}`, "document_id is required"},
		{tools.ReadDocument, `{"document_id":["a","b"]}`, "document_id must be a string"},
		{tools.ReadDocument, `{"document_id":"a\u0007b"}`, "control characters"},
		{tools.ReadDocument, fmt.Sprintf(`{"document_id":%q,"page":0}`, doc), "page must be a whole number from 1"},
		{tools.ReadDocument, fmt.Sprintf(`{"document_id":%q,"page":-3}`, doc), "page must be a whole number from 1"},
		{tools.ReadDocument, fmt.Sprintf(`{"document_id":%q,"page":1.5}`, doc), "page must be a whole number from 1"},
		{tools.ReadDocument, fmt.Sprintf(`{"document_id":%q,"page":"two"}`, doc), "page must be a whole number from 1"},
		{tools.ReadDocument, fmt.Sprintf(`{"document_id":%q,"page":1e30}`, doc), "page must be a whole number from 1"},
		{tools.ReadDocument, fmt.Sprintf(`{"document_id":%q,"page":9223372036854775807}`, doc), "page 9223372036854775807 does not exist"},
	} {
		label := tc.name[:min(len(tc.name), 30)] + " " + tc.args[:min(len(tc.args), 60)]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := e.tools.Run(ctx, e.scope(e.owner), tc.name, json.RawMessage(tc.args))
		cancel()
		if err != nil {
			t.Errorf("%s: Go error %v", label, err)
			continue
		}
		if !res.IsError || !strings.Contains(res.Text, tc.says) || len(res.Passages) != 0 {
			t.Errorf("%s: %+v, want an error saying %q", label, res, tc.says)
		}
		if len(res.Text) > 400 || len(res.Summary) > 400 {
			t.Errorf("%s: the error echoes the input (%d bytes)", label, len(res.Text))
		}
	}
	// Unknown fields are ignored, as a model adding one expects.
	if res := e.run(t, e.scope(e.owner), tools.SearchKnowledge, `{"query":"vacation","top_k":1000,"mode":"drop table"}`); res.IsError || len(res.Passages) == 0 {
		t.Errorf("extra fields: %+v", res)
	}
}

// TestParallel: many calls at once as different viewers each see only their
// own view (the tools keep no per-call state).
func TestParallel(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who, sees := e.outsider, false
			if i%2 == 0 {
				who, sees = e.member, true
			}
			res, err := e.tools.Run(context.Background(), e.scope(who), tools.SearchKnowledge, json.RawMessage(`{"query":"ship sail ocean island"}`))
			if err != nil {
				errs <- err.Error()
				return
			}
			if slices.Contains(docIDs(res), e.secret.ID) != sees {
				errs <- fmt.Sprintf("%s sees the team's document: %v", who.Name, !sees)
			}
			res, err = e.tools.Run(context.Background(), e.scope(who), tools.ReadDocument, json.RawMessage(fmt.Sprintf(`{"document_id":%q}`, e.secret.ID)))
			if err != nil {
				errs <- err.Error()
			} else if res.IsError == sees {
				errs <- fmt.Sprintf("%s reads the team's document: %v", who.Name, !res.IsError)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

// TestCanceled: a call whose context has ended returns the context's error
// (the caller stopped), not a tool result the model would read.
func TestCanceled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := e.tools.Run(ctx, e.scope(e.owner), tools.SearchKnowledge, json.RawMessage(`{"query":"vacation"}`))
	if err == nil {
		t.Errorf("canceled search: %+v", res)
	}
}

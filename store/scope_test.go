package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// freshScope computes the scope without the cache.
func freshScope(t *testing.T, s *Store, wsID string, v Viewer, kbs []string) *SearchScope {
	t.Helper()
	tx, err := s.r.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	sc, err := computeScope(context.Background(), tx, wsID, v, dedupeStrings(kbs))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func sameScope(a, b *SearchScope) bool {
	return slices.Equal(a.DocumentIDs, b.DocumentIDs) && a.Chunks == b.Chunks && a.WorkspaceChunks == b.WorkspaceChunks
}

// A cached scope must never outlive a change to what it was computed from:
// after each of many random writes of every kind that bears on visibility,
// every viewer's scope through the cache equals the one computed afresh.
func TestSearchScopeCacheFollowsEveryChange(t *testing.T) {
	f := newKBFixture(t)
	s, ctx, ws := f.s, context.Background(), f.ws.ID
	users := []*User{f.owner, f.alice, f.bob}
	kbs := []*KnowledgeBase{f.shared, f.restricted, f.private}
	teams := []*Team{f.team}
	var docs []*Document
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) int { return r.IntN(n) }
	ok := func(err error) {
		t.Helper()
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrConflict) {
			t.Fatal(err)
		}
	}
	selections := func() [][]string {
		out := [][]string{nil}
		for _, kb := range kbs {
			out = append(out, []string{kb.ID})
		}
		if len(kbs) > 1 {
			out = append(out, []string{kbs[1].ID, kbs[0].ID, kbs[1].ID})
		}
		return out
	}
	check := func(step int, what string) {
		t.Helper()
		for _, u := range users {
			for _, admin := range []bool{false, true} {
				v := Viewer{UserID: u.ID, IsAdmin: admin}
				for _, sel := range selections() {
					got, err := s.SearchScope(ctx, ws, v, sel)
					if err != nil {
						t.Fatal(err)
					}
					if want := freshScope(t, s, ws, v, sel); !sameScope(got, want) {
						t.Fatalf("step %d (%s): %s admin=%v kbs=%v: cached scope %v (%d chunks), fresh %v (%d chunks)",
							step, what, u.Email, admin, sel, got.DocumentIDs, got.Chunks, want.DocumentIDs, want.Chunks)
					}
				}
			}
		}
	}
	ops := []struct {
		name string
		do   func()
	}{
		{"upload", func() {
			var in []*KnowledgeBase
			for _, kb := range kbs {
				if pick(3) == 0 {
					in = append(in, kb)
				}
			}
			docs = append(docs, f.doc(t, fmt.Sprint("d", len(docs)), users[pick(len(users))], in...))
		}},
		{"status", func() {
			if len(docs) > 0 {
				st, n := []string{DocReady, DocReady, DocFailed, "processing"}[pick(4)], 1+pick(50)
				ok(s.UpdateDocument(ctx, ws, docs[pick(len(docs))].ID, DocumentUpdate{Status: &st, ChunkCount: &n}))
			}
		}},
		{"delete document", func() {
			if len(docs) > 0 {
				i := pick(len(docs))
				_, err := s.DeleteDocument(ctx, ws, docs[i].ID)
				ok(err)
				docs = slices.Delete(docs, i, i+1)
			}
		}},
		{"add to knowledge base", func() {
			if len(docs) > 0 && len(kbs) > 0 {
				ok(s.AddKBDocuments(ctx, ws, kbs[pick(len(kbs))].ID, []string{docs[pick(len(docs))].ID}))
			}
		}},
		{"remove from knowledge base", func() {
			if len(docs) > 0 && len(kbs) > 0 {
				ok(s.RemoveKBDocuments(ctx, ws, kbs[pick(len(kbs))].ID, []string{docs[pick(len(docs))].ID}))
			}
		}},
		{"access", func() {
			if len(kbs) > 0 {
				var grant []int64
				for _, tm := range teams {
					if pick(2) == 0 {
						grant = append(grant, tm.ID)
					}
				}
				ok(s.SetKBAccess(ctx, ws, f.viewer(f.owner), kbs[pick(len(kbs))].ID, KBAccess{SharedWithWorkspace: pick(2) == 0, TeamIDs: grant}))
			}
		}},
		{"new knowledge base", func() {
			kb, err := s.CreateKnowledgeBase(ctx, ws, users[pick(len(users))].ID, fmt.Sprint("kb", r.Int()), "", pick(2) == 0)
			ok(err)
			kbs = append(kbs, kb)
		}},
		{"delete knowledge base", func() {
			if len(kbs) > 1 {
				i := pick(len(kbs))
				ok(s.DeleteKnowledgeBase(ctx, ws, kbs[i].ID))
				kbs = slices.Delete(kbs, i, i+1)
			}
		}},
		{"new team", func() {
			tm, err := s.CreateTeam(ctx, ws, f.owner.ID, fmt.Sprint("team", r.Int()), "")
			ok(err)
			teams = append(teams, tm)
		}},
		{"delete team", func() {
			if len(teams) > 0 {
				i := pick(len(teams))
				ok(s.DeleteTeam(ctx, ws, teams[i].ID))
				teams = slices.Delete(teams, i, i+1)
			}
		}},
		{"join team", func() {
			if len(teams) > 0 {
				ok(s.AddTeamMember(ctx, ws, teams[pick(len(teams))].ID, users[1+pick(2)].ID))
			}
		}},
		{"leave team", func() {
			if len(teams) > 0 {
				ok(s.RemoveTeamMember(ctx, ws, teams[pick(len(teams))].ID, users[1+pick(2)].ID))
			}
		}},
		{"uploader deleted (SET NULL)", func() {
			if pick(10) == 0 {
				u, err := s.CreateUser(ctx, fmt.Sprintf("u%d@example.com", r.Int()), "U", "x", true)
				ok(err)
				ok(s.AddMember(ctx, ws, u.ID, RoleMember))
				d := f.doc(t, "theirs", u, kbs[0])
				docs = append(docs, d)
				check(-1, "before the uploader goes")
				ok(s.DeleteUser(ctx, u.ID))
			}
		}},
	}
	check(0, "start")
	for step := 1; step <= 200; step++ {
		op := ops[pick(len(ops))]
		op.do()
		check(step, op.name)
	}
}

// Each trigger of migration 0012, alone: one raw SQL statement (as any
// client could run) that changes someone's scope, with every viewer's scope
// cached before it. A missing or mis-scoped trigger fails its case.
func TestSearchScopeCacheEachTrigger(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup string // run before the scopes are cached
		noFK  bool   // run on a connection without foreign keys, as the sqlite3 shell by default
		sql   string // %[1]s workspace, %[2]s doc by owner in restricted, %[3]s doc by owner in shared,
		// %[4]s doc by bob in no knowledge base, %[5]s doc by owner in private, %[6]d alice, %[7]d bob,
		// %[8]d the team, %[9]s restricted, %[10]s shared, %[11]s private
	}{
		{name: "documents insert", sql: `INSERT INTO documents (id, workspace_id, name, status, chunk_count, uploaded_by, created_at, updated_at)
			VALUES ('new', '%[1]s', 'n', 'ready', 4, %[6]d, '', '')`},
		{name: "documents delete", sql: `DELETE FROM documents WHERE id = '%[4]s'`},
		{name: "documents status", sql: `UPDATE documents SET status = 'failed' WHERE id = '%[3]s'`},
		{name: "documents chunk count", sql: `UPDATE documents SET chunk_count = 99 WHERE id = '%[3]s'`},
		{name: "documents uploader", sql: `UPDATE documents SET uploaded_by = %[6]d WHERE id = '%[4]s'`},
		{name: "knowledge base shared", sql: `UPDATE knowledge_bases SET shared_with_workspace = 1 WHERE id = '%[9]s'`},
		{name: "knowledge base creator", sql: `UPDATE knowledge_bases SET created_by = %[6]d WHERE id = '%[11]s'`},
		{name: "knowledge base document added", sql: `INSERT INTO knowledge_base_documents (workspace_id, knowledge_base_id, document_id, created_at)
			VALUES ('%[1]s', '%[10]s', '%[4]s', '')`},
		{name: "knowledge base document removed", sql: `DELETE FROM knowledge_base_documents WHERE document_id = '%[3]s'`},
		{name: "knowledge base document moved", sql: `UPDATE knowledge_base_documents SET knowledge_base_id = '%[11]s' WHERE document_id = '%[3]s'`},
		{name: "team access granted", sql: `INSERT INTO knowledge_base_team_access (workspace_id, knowledge_base_id, team_id, created_at)
			VALUES ('%[1]s', '%[11]s', %[8]d, '')`},
		{name: "team access revoked", sql: `DELETE FROM knowledge_base_team_access WHERE knowledge_base_id = '%[9]s'`},
		{name: "team access moved", sql: `UPDATE knowledge_base_team_access SET knowledge_base_id = '%[11]s' WHERE knowledge_base_id = '%[9]s'`},
		{name: "team member added", sql: `INSERT INTO team_memberships (workspace_id, team_id, user_id, created_at) VALUES ('%[1]s', %[8]d, %[7]d, '')`},
		{name: "team member removed", sql: `DELETE FROM team_memberships WHERE user_id = %[6]d`},
		{name: "team member replaced", sql: `UPDATE team_memberships SET user_id = %[7]d WHERE user_id = %[6]d`},
		{name: "knowledge base deleted", sql: `DELETE FROM knowledge_bases WHERE id = '%[10]s'`},
		// Without foreign keys nothing cascades: the knowledge base's own
		// triggers must see the change.
		{name: "knowledge base deleted without cascade", noFK: true, sql: `DELETE FROM knowledge_bases WHERE id = '%[10]s'`},
		{name: "knowledge base created over orphaned links", noFK: true,
			setup: `INSERT INTO knowledge_base_documents (workspace_id, knowledge_base_id, document_id, created_at) VALUES ('%[1]s', 'ghost', '%[5]s', '')`,
			sql:   `INSERT INTO knowledge_bases (id, workspace_id, name, shared_with_workspace, created_at, updated_at) VALUES ('ghost', '%[1]s', 'g', 1, '', '')`},
		{name: "team deleted", sql: `DELETE FROM teams WHERE id = %[8]d`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newKBFixture(t)
			s, ctx, ws := f.s, context.Background(), f.ws.ID
			ready := func(d *Document) *Document {
				st, n := DocReady, 2
				if err := s.UpdateDocument(ctx, ws, d.ID, DocumentUpdate{Status: &st, ChunkCount: &n}); err != nil {
					t.Fatal(err)
				}
				return d
			}
			r := ready(f.doc(t, "r", f.owner, f.restricted))
			sh := ready(f.doc(t, "s", f.owner, f.shared))
			b := ready(f.doc(t, "b", f.bob))
			p := ready(f.doc(t, "p", f.owner, f.private))
			db := s.w
			if tc.noFK {
				var err error
				if db, err = sql.Open("sqlite", "file:"+s.path+"?_pragma=busy_timeout(5000)"); err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				db.SetMaxOpenConns(1)
				var on bool
				if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil || on {
					t.Fatalf("foreign keys on: %v, %v", on, err)
				}
			}
			exec := func(q string) {
				t.Helper()
				q = fmt.Sprintf(q, ws, r.ID, sh.ID, b.ID, p.ID, f.alice.ID, f.bob.ID, f.team.ID, f.restricted.ID, f.shared.ID, f.private.ID)
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != "" {
				exec(tc.setup)
			}
			var views []Viewer
			for _, u := range []*User{f.owner, f.alice, f.bob} {
				views = append(views, Viewer{UserID: u.ID}, Viewer{UserID: u.ID, IsAdmin: true})
			}
			sels := [][]string{nil, {f.restricted.ID}, {f.shared.ID}, {f.private.ID}}
			before := map[string]*SearchScope{}
			for _, v := range views {
				for _, sel := range sels {
					sc, err := s.SearchScope(ctx, ws, v, sel)
					if err != nil {
						t.Fatal(err)
					}
					before[fmt.Sprint(v, sel)] = sc
				}
			}
			exec(tc.sql)
			changed := false
			for _, v := range views {
				for _, sel := range sels {
					got, err := s.SearchScope(ctx, ws, v, sel)
					if err != nil {
						t.Fatal(err)
					}
					want := freshScope(t, s, ws, v, sel)
					if !sameScope(got, want) {
						t.Errorf("viewer %+v, knowledge bases %v: cached %v, fresh %v", v, sel, got.DocumentIDs, want.DocumentIDs)
					}
					changed = changed || !sameScope(before[fmt.Sprint(v, sel)], want)
				}
			}
			if !changed {
				t.Error("the statement changed no scope: the case tests nothing")
			}
		})
	}
}

// Writes that do not bear on visibility (chats, renames, progress) keep the
// cached scope, and another workspace's changes never touch this one's.
func TestSearchScopeCacheKeepsUnrelatedWrites(t *testing.T) {
	f := newKBFixture(t)
	s, ctx, ws := f.s, context.Background(), f.ws.ID
	d := f.doc(t, "a", f.alice, f.shared)
	ready, n := DocReady, 3
	if err := s.UpdateDocument(ctx, ws, d.ID, DocumentUpdate{Status: &ready, ChunkCount: &n}); err != nil {
		t.Fatal(err)
	}
	v := f.viewer(f.bob)
	first, err := s.SearchScope(ctx, ws, v, nil)
	if err != nil || len(first.DocumentIDs) != 1 {
		t.Fatalf("scope %v, %v", first, err)
	}
	other, err := s.CreateWorkspace(ctx, f.owner.ID, "Other")
	if err != nil {
		t.Fatal(err)
	}
	od, _, err := s.CreateDocument(ctx, other.ID, NewDocument{Name: "o", UploadedBy: f.owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateDocument(ctx, other.ID, od.ID, DocumentUpdate{Status: &ready, ChunkCount: &n}); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameDocument(ctx, ws, d.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	p := 50
	if err := s.UpdateDocument(ctx, ws, d.ID, DocumentUpdate{Progress: &p}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateChat(ctx, ws, f.bob.ID, ChatFields{}); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.SearchScope(ctx, ws, v, nil); again != first {
		t.Error("a write that changes no one's visibility recomputed the scope")
	}
	if theirs, _ := s.SearchScope(ctx, other.ID, Viewer{UserID: f.owner.ID, IsAdmin: true}, nil); !slices.Equal(theirs.DocumentIDs, []string{od.ID}) {
		t.Errorf("the other workspace's scope is %v", theirs.DocumentIDs)
	}
	if mine, _ := s.SearchScope(ctx, ws, Viewer{UserID: f.owner.ID, IsAdmin: true}, nil); !slices.Equal(mine.DocumentIDs, []string{d.ID}) {
		t.Errorf("this workspace's admin scope is %v", mine.DocumentIDs)
	}
	// Deleting the workspace deletes its documents after its version row:
	// the triggers must not fail it.
	if err := s.DeleteWorkspace(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if gone, err := s.SearchScope(ctx, other.ID, Viewer{UserID: f.owner.ID, IsAdmin: true}, nil); err != nil || len(gone.DocumentIDs) != 0 {
		t.Errorf("a deleted workspace's scope: %v, %v", gone, err)
	}
}

// Searches racing writes: once a write has returned, every search that
// starts afterwards sees it, however many searches were caching meanwhile.
func TestSearchScopeCacheRacingWrites(t *testing.T) {
	f := newKBFixture(t)
	s, ctx, ws := f.s, context.Background(), f.ws.ID
	ready, n := DocReady, 1
	var stop sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		stop.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.SearchScope(ctx, ws, f.viewer(f.bob), []string{f.shared.ID}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 60 {
		d := f.doc(t, fmt.Sprint("d", i), f.owner, f.shared)
		if err := s.UpdateDocument(ctx, ws, d.ID, DocumentUpdate{Status: &ready, ChunkCount: &n}); err != nil {
			t.Fatal(err)
		}
		if sc, _ := s.SearchScope(ctx, ws, f.viewer(f.bob), []string{f.shared.ID}); !sc.has(d.ID) || len(sc.DocumentIDs) != i+1 {
			t.Fatalf("after document %d was ready the scope has %d documents", i, len(sc.DocumentIDs))
		}
		if err := s.RemoveKBDocuments(ctx, ws, f.shared.ID, []string{d.ID}); err != nil {
			t.Fatal(err)
		}
		if sc, _ := s.SearchScope(ctx, ws, f.viewer(f.bob), []string{f.shared.ID}); sc.has(d.ID) {
			t.Fatalf("document %d is in the scope after leaving the knowledge base", i)
		}
		if err := s.AddKBDocuments(ctx, ws, f.shared.ID, []string{d.ID}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	stop.Wait()
}

// The cache is bounded: scopes over the caps are dropped, never kept.
func TestScopeCacheBounded(t *testing.T) {
	var c scopeCache
	big := &SearchScope{DocumentIDs: make([]string, scopeCacheIDs/3)}
	for i := range 10 {
		c.put(scopeKey{ws: "w", user: int64(i)}, 1, big)
		if c.ids > scopeCacheIDs {
			t.Fatalf("%d ids cached", c.ids)
		}
	}
	for i := range scopeCacheEntries * 2 {
		c.put(scopeKey{ws: fmt.Sprint(i)}, 1, &SearchScope{})
		if len(c.m) > scopeCacheEntries {
			t.Fatalf("%d entries cached", len(c.m))
		}
	}
	// An older version never replaces a newer one, and a newer version of a
	// workspace drops its other, older entries.
	k := scopeKey{ws: "x"}
	newer := &SearchScope{}
	c.put(k, 5, newer)
	c.put(k, 4, &SearchScope{})
	if c.get(k, 5) != newer || c.get(k, 4) != nil {
		t.Error("an older scope replaced a newer one")
	}
	c.put(scopeKey{ws: "x", user: 1}, 6, &SearchScope{})
	if _, ok := c.m[k]; ok {
		t.Error("a scope of an older version stayed")
	}
}

package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
)

func TestConcurrentMessagesGetDistinctSequenceNumbers(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "c@example.com", "", "x", false)
	ws, _ := s.CreateWorkspace(ctx, u.ID, "W")
	chat, err := s.CreateChat(ctx, ws.ID, u.ID, ChatFields{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	seqs := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := s.AddMessage(ctx, ws.ID, chat.ID, "user", "hi", "", "", MsgComplete)
			if err != nil {
				t.Error(err)
				return
			}
			seqs <- m.SequenceNumber
		}()
	}
	wg.Wait()
	close(seqs)
	var got []int
	for q := range seqs {
		got = append(got, q)
	}
	sort.Ints(got)
	for i, q := range got {
		if q != i+1 {
			t.Fatalf("sequence numbers %v are not 1..%d", got, n)
		}
	}
	// A chat of another workspace cannot be written through this one.
	other, _ := s.CreateWorkspace(ctx, u.ID, "Other")
	if _, err := s.AddMessage(ctx, other.ID, chat.ID, "user", "x", "", "", MsgComplete); err != ErrNotFound {
		t.Fatalf("cross-workspace message: %v", err)
	}
}

func contents(bs []Branch) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Content)
	}
	return out
}

// An edit and a regeneration are siblings: nothing is deleted, the current
// path follows the newest version, and switching brings an old one back with
// what followed it.
func TestBranchesKeepEveryVersion(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "e@example.com", "", "x", false)
	ws, _ := s.CreateWorkspace(ctx, u.ID, "W")
	chat, _ := s.CreateChat(ctx, ws.ID, u.ID, ChatFields{})
	q1, _ := s.AppendMessage(ctx, ws.ID, chat.ID, "user", "one", "", MsgComplete)
	a1, _ := s.AddMessage(ctx, ws.ID, chat.ID, "assistant", "a1", q1.ID, "m", MsgComplete)
	q2, _ := s.AppendMessage(ctx, ws.ID, chat.ID, "user", "two", "", MsgComplete)
	if q2.ParentID != a1.ID {
		t.Fatalf("a new question follows the current leaf: parent %q, want %q", q2.ParentID, a1.ID)
	}
	s.AddMessage(ctx, ws.ID, chat.ID, "assistant", "a2", q2.ID, "m", MsgComplete)

	// Edit the first question: a sibling root with its own answer.
	e1, _ := s.AddMessage(ctx, ws.ID, chat.ID, "user", "one, edited", q1.ParentID, "", MsgComplete)
	s.AddMessage(ctx, ws.ID, chat.ID, "assistant", "a1'", e1.ID, "m", MsgComplete)
	path, err := s.CurrentPath(ctx, ws.ID, chat.ID, PathPage{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got := contents(path); !slices.Equal(got, []string{"one, edited", "a1'"}) {
		t.Fatalf("path after the edit: %q", got)
	}
	if len(path[0].Siblings) != 2 || path[0].Index != 1 || path[0].Siblings[0] != q1.ID {
		t.Fatalf("edited question: siblings %v index %d", path[0].Siblings, path[0].Index)
	}

	// Back to the first version: its whole branch returns.
	leaf, err := s.SwitchBranch(ctx, ws.ID, chat.ID, q1.ID)
	if err != nil {
		t.Fatal(err)
	}
	path, _ = s.CurrentPath(ctx, ws.ID, chat.ID, PathPage{Limit: 50})
	if got := contents(path); !slices.Equal(got, []string{"one", "a1", "two", "a2"}) || leaf != path[3].ID {
		t.Fatalf("path after switching back: %q (leaf %s)", got, leaf)
	}
	// Regenerating a1 adds a sibling answer and drops nothing.
	r1, _ := s.AddMessage(ctx, ws.ID, chat.ID, "assistant", "a1 again", q1.ID, "m", MsgComplete)
	path, _ = s.CurrentPath(ctx, ws.ID, chat.ID, PathPage{Limit: 50})
	if got := contents(path); !slices.Equal(got, []string{"one", "a1 again"}) || path[1].Index != 1 || len(path[1].Siblings) != 2 {
		t.Fatalf("path after regenerating: %q %+v", got, path[1])
	}
	hist, _ := s.Thread(ctx, ws.ID, chat.ID, r1.ID, 10)
	if len(hist) != 2 || hist[0].ID != q1.ID {
		t.Fatalf("thread of the regenerated answer: %+v", hist)
	}
	// Coming back to the edited question shows the answer last chosen below
	// it; and back on the first, the version of a1 last looked at.
	s.SwitchBranch(ctx, ws.ID, chat.ID, a1.ID)
	s.SwitchBranch(ctx, ws.ID, chat.ID, e1.ID)
	s.SwitchBranch(ctx, ws.ID, chat.ID, q1.ID)
	path, _ = s.CurrentPath(ctx, ws.ID, chat.ID, PathPage{Limit: 50})
	if got := contents(path); !slices.Equal(got, []string{"one", "a1", "two", "a2"}) {
		t.Fatalf("back on the first question: %q, want the versions last looked at", got)
	}
	// Pages of a path: after a sequence number, and the latest.
	page, _ := s.CurrentPath(ctx, ws.ID, chat.ID, PathPage{AfterSeq: a1.SequenceNumber, Limit: 1})
	if got := contents(page); !slices.Equal(got, []string{"two"}) {
		t.Fatalf("page after a1: %q", got)
	}
	page, _ = s.CurrentPath(ctx, ws.ID, chat.ID, PathPage{Latest: true, Limit: 2})
	if got := contents(page); !slices.Equal(got, []string{"two", "a2"}) {
		t.Fatalf("latest page: %q", got)
	}

	// Another workspace's chat cannot be switched, and a message of another
	// chat is no parent nor branch here.
	other, _ := s.CreateWorkspace(ctx, u.ID, "Other")
	if _, err := s.SwitchBranch(ctx, other.ID, chat.ID, q1.ID); err != ErrNotFound {
		t.Fatalf("switch through another workspace: %v", err)
	}
	chat2, _ := s.CreateChat(ctx, ws.ID, u.ID, ChatFields{})
	if _, err := s.SwitchBranch(ctx, ws.ID, chat2.ID, q1.ID); err != ErrNotFound {
		t.Fatalf("switch to another chat's message: %v", err)
	}
	if _, err := s.AddMessage(ctx, ws.ID, chat2.ID, "assistant", "x", q1.ID, "m", MsgComplete); err != ErrNotFound {
		t.Fatalf("parent from another chat: %v", err)
	}
}

// A chat written before messages were a tree (questions without a parent)
// keeps its transcript as one branch after the migration.
func TestMigrationChainsOldTranscripts(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	m, err := s.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Migrate(6); err != nil {
		t.Fatal(err)
	}
	u, _ := s.CreateUser(ctx, "old@example.com", "", "x", false)
	ws, _ := s.CreateWorkspace(ctx, u.ID, "W")
	// Raw SQL: today's CreateChat reads columns later migrations add.
	chat := &Chat{ID: "old-chat"}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO chat_sessions (id, workspace_id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		chat.ID, ws.ID, u.ID, now(), now()); err != nil {
		t.Fatal(err)
	}
	var prev string
	for i, row := range []struct{ role, parent string }{{"user", ""}, {"assistant", "q"}, {"user", ""}, {"assistant", "q"}} {
		id := fmt.Sprintf("m%d", i)
		parent := any(nil)
		if row.parent != "" {
			parent = prev
		}
		if _, err := s.w.ExecContext(ctx, `INSERT INTO messages (id, workspace_id, chat_session_id, parent_id, role, content, sequence_number, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, ws.ID, chat.ID, parent, row.role, id, i+1, now()); err != nil {
			t.Fatal(err)
		}
		prev = id
	}
	if err := s.Migrate(); err != nil {
		t.Fatal(err)
	}
	path, err := s.CurrentPath(ctx, ws.ID, chat.ID, PathPage{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got := contents(path); !slices.Equal(got, []string{"m0", "m1", "m2", "m3"}) {
		t.Fatalf("migrated transcript: %q", got)
	}
	for _, b := range path {
		if len(b.Siblings) != 1 {
			t.Fatalf("%s has siblings %v; an old transcript has one version of each turn", b.ID, b.Siblings)
		}
	}
}

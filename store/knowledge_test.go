package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// kbFixture is a workspace with an owner, two members and a team:
//
//	owner (admin), alice (member, in team "eng"), bob (member, in no team)
//	shared:     shared with the workspace
//	restricted: not shared, granted to team eng
//	private:    not shared, created by bob
type kbFixture struct {
	s                           *Store
	ws                          *Workspace
	owner, alice, bob           *User
	team                        *Team
	shared, restricted, private *KnowledgeBase
}

func newKBFixture(t *testing.T) *kbFixture {
	t.Helper()
	ctx := context.Background()
	f := &kbFixture{s: openTest(t)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.owner, err = f.s.CreateUser(ctx, "owner@example.com", "Owner", "x", true)
	must(err)
	f.alice, err = f.s.CreateUser(ctx, "alice@example.com", "Alice", "x", true)
	must(err)
	f.bob, err = f.s.CreateUser(ctx, "bob@example.com", "Bob", "x", true)
	must(err)
	f.ws, err = f.s.CreateWorkspace(ctx, f.owner.ID, "Acme")
	must(err)
	must(f.s.AddMember(ctx, f.ws.ID, f.alice.ID, RoleMember))
	must(f.s.AddMember(ctx, f.ws.ID, f.bob.ID, RoleMember))
	f.team, err = f.s.CreateTeam(ctx, f.ws.ID, f.owner.ID, "eng", "")
	must(err)
	must(f.s.AddTeamMember(ctx, f.ws.ID, f.team.ID, f.alice.ID))
	f.shared, err = f.s.CreateKnowledgeBase(ctx, f.ws.ID, f.owner.ID, "Shared", "", true)
	must(err)
	f.restricted, err = f.s.CreateKnowledgeBase(ctx, f.ws.ID, f.owner.ID, "Restricted", "", false)
	must(err)
	must(f.s.SetKBAccess(ctx, f.ws.ID, f.viewer(f.owner), f.restricted.ID, KBAccess{TeamIDs: []int64{f.team.ID}}))
	f.private, err = f.s.CreateKnowledgeBase(ctx, f.ws.ID, f.bob.ID, "Bob's", "", false)
	must(err)
	return f
}

func (f *kbFixture) viewer(u *User) Viewer { return Viewer{UserID: u.ID, IsAdmin: u.ID == f.owner.ID} }

func (f *kbFixture) doc(t *testing.T, name string, by *User, kbs ...*KnowledgeBase) *Document {
	t.Helper()
	var ids []string
	for _, kb := range kbs {
		ids = append(ids, kb.ID)
	}
	d, _, err := f.s.CreateDocument(context.Background(), f.ws.ID, NewDocument{Name: name, UploadedBy: by.ID, StoragePath: "p/" + name, KnowledgeBaseIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func kbNames(kbs []KnowledgeBase) []string {
	var out []string
	for _, kb := range kbs {
		out = append(out, kb.Name)
	}
	return out
}

func TestKnowledgeBaseVisibility(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		who  *User
		want []string
	}{
		{f.owner, []string{"Bob's", "Restricted", "Shared"}}, // admins see all
		{f.alice, []string{"Restricted", "Shared"}},          // team grant
		{f.bob, []string{"Bob's", "Shared"}},                 // creator
	} {
		kbs, err := f.s.ListKnowledgeBases(ctx, f.ws.ID, f.viewer(tc.who), "", "", 50)
		if err != nil {
			t.Fatal(err)
		}
		if got := kbNames(kbs); !slices.Equal(got, tc.want) {
			t.Errorf("%s sees %v, want %v", tc.who.Name, got, tc.want)
		}
		ids, err := f.s.VisibleKBIDs(ctx, f.ws.ID, f.viewer(tc.who))
		if err != nil || len(ids) != len(tc.want) {
			t.Errorf("%s: VisibleKBIDs %v, %v", tc.who.Name, ids, err)
		}
	}
	if _, err := f.s.GetKnowledgeBase(ctx, f.ws.ID, f.viewer(f.bob), f.restricted.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob got the restricted KB: %v", err)
	}
	if ok, _ := f.s.KBVisible(ctx, f.ws.ID, f.viewer(f.alice), f.restricted.ID); !ok {
		t.Error("alice cannot see the KB granted to her team")
	}
	// Leaving the team takes the access away.
	if err := f.s.RemoveTeamMember(ctx, f.ws.ID, f.team.ID, f.alice.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.s.KBVisible(ctx, f.ws.ID, f.viewer(f.alice), f.restricted.ID); ok {
		t.Error("alice still sees the restricted KB after leaving the team")
	}
	// Another workspace's id is not found, even for its own admin here.
	other, _ := f.s.CreateWorkspace(ctx, f.bob.ID, "Other")
	if _, err := f.s.GetKnowledgeBase(ctx, other.ID, Viewer{UserID: f.bob.ID, IsAdmin: true}, f.shared.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("KB visible through another workspace: %v", err)
	}
	if err := f.s.SetKBAccess(ctx, f.ws.ID, f.viewer(f.owner), f.shared.ID, KBAccess{TeamIDs: []int64{999}}); !errors.Is(err, ErrInvalidTeam) {
		t.Errorf("unknown team: %v", err)
	}
	acc, err := f.s.GetKBAccess(ctx, f.ws.ID, f.restricted.ID)
	if err != nil || acc.SharedWithWorkspace || !slices.Equal(acc.TeamIDs, []int64{f.team.ID}) {
		t.Errorf("access %+v, %v", acc, err)
	}
}

func TestDocumentVisibilityAndCounts(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	inShared := f.doc(t, "shared.txt", f.owner, f.shared)
	inRestricted := f.doc(t, "restricted.txt", f.owner, f.restricted)
	bobsLoose := f.doc(t, "loose.txt", f.bob) // in no KB
	for _, tc := range []struct {
		who  *User
		want []string
	}{
		{f.owner, []string{inShared.ID, inRestricted.ID, bobsLoose.ID}},
		{f.alice, []string{inShared.ID, inRestricted.ID}},
		{f.bob, []string{inShared.ID, bobsLoose.ID}},
	} {
		docs, err := f.s.ListDocuments(ctx, f.ws.ID, f.viewer(tc.who), DocumentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range docs {
			got = append(got, d.ID)
		}
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s sees %d documents %v, want %v", tc.who.Name, len(got), got, tc.want)
		}
		for _, id := range tc.want {
			if _, err := f.s.GetVisibleDocument(ctx, f.ws.ID, f.viewer(tc.who), id); err != nil {
				t.Errorf("%s: get %s: %v", tc.who.Name, id, err)
			}
		}
	}
	if _, err := f.s.GetVisibleDocument(ctx, f.ws.ID, f.viewer(f.alice), bobsLoose.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("alice got bob's loose document: %v", err)
	}
	// KB ids of a document only name the KBs the viewer can see.
	if err := f.s.AddKBDocuments(ctx, f.ws.ID, f.restricted.ID, []string{inShared.ID, inShared.ID}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := f.s.DocumentKBIDs(ctx, f.ws.ID, f.viewer(f.bob), inShared.ID); !slices.Equal(ids, []string{f.shared.ID}) {
		t.Errorf("bob sees the document in %v", ids)
	}
	if err := f.s.AddKBDocuments(ctx, f.ws.ID, f.shared.ID, []string{"nope"}); !errors.Is(err, ErrInvalidDocument) {
		t.Errorf("unknown document: %v", err)
	}
	kb, err := f.s.GetKnowledgeBase(ctx, f.ws.ID, f.viewer(f.owner), f.restricted.ID)
	if err != nil || kb.DocumentCount != 2 {
		t.Fatalf("restricted has %+v, %v", kb, err)
	}
	if err := f.s.RemoveKBDocuments(ctx, f.ws.ID, f.restricted.ID, []string{inShared.ID}); err != nil {
		t.Fatal(err)
	}
	kb, _ = f.s.GetKnowledgeBase(ctx, f.ws.ID, f.viewer(f.owner), f.restricted.ID)
	if kb.DocumentCount != 1 {
		t.Errorf("after remove: %d documents", kb.DocumentCount)
	}
	// Creating a document in a KB of another workspace fails as a whole.
	other, _ := f.s.CreateWorkspace(ctx, f.bob.ID, "Other")
	if _, _, err := f.s.CreateDocument(ctx, other.ID, NewDocument{Name: "x", KnowledgeBaseIDs: []string{f.shared.ID}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("cross-workspace KB link: %v", err)
	}
	if docs, _ := f.s.ListDocuments(ctx, other.ID, Viewer{UserID: f.bob.ID, IsAdmin: true}, DocumentFilter{}); len(docs) != 0 {
		t.Errorf("half-created document left behind: %v", docs)
	}
}

func TestListDocumentsFiltersAndPaging(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	admin := f.viewer(f.owner)
	var all []string
	for i := range 7 {
		d := f.doc(t, fmt.Sprintf("report_%d%%.txt", i), f.owner, f.shared)
		all = append(all, d.ID)
	}
	f.doc(t, "reportX1.txt", f.owner) // "_" must not act as a LIKE wildcard
	done := "ready"
	if err := f.s.UpdateDocument(ctx, f.ws.ID, all[0], DocumentUpdate{Status: &done}); err != nil {
		t.Fatal(err)
	}
	var got []string
	var after *DocumentCursor
	for {
		page, err := f.s.ListDocuments(ctx, f.ws.ID, admin, DocumentFilter{Query: "report_", KnowledgeBaseID: f.shared.ID, After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			got = append(got, d.ID)
		}
		if len(page) < 3 {
			break
		}
		last := page[len(page)-1]
		after = &DocumentCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if len(got) != 7 {
		t.Fatalf("paged %d documents, want 7", len(got))
	}
	slices.Reverse(got) // newest first
	if !slices.Equal(got, all) {
		t.Errorf("order %v, want %v", got, all)
	}
	ready, _ := f.s.ListDocuments(ctx, f.ws.ID, admin, DocumentFilter{Status: "ready"})
	if len(ready) != 1 || ready[0].ID != all[0] {
		t.Errorf("status filter: %v", ready)
	}
	pct, _ := f.s.ListDocuments(ctx, f.ws.ID, admin, DocumentFilter{Query: "3%"})
	if len(pct) != 1 {
		t.Errorf("literal %% filter: %d", len(pct))
	}
	if err := f.s.RenameDocument(ctx, f.ws.ID, all[1], "Renamed"); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.s.GetDocument(ctx, f.ws.ID, all[1]); d.Name != "Renamed" {
		t.Errorf("rename: %q", d.Name)
	}
}

func TestViewerFor(t *testing.T) {
	for role, admin := range map[string]bool{RoleMember: false, RoleAdmin: true, RoleOwner: true} {
		if v := ViewerFor(&Workspace{Role: role}, 7); v != (Viewer{UserID: 7, IsAdmin: admin}) {
			t.Errorf("%s: %+v", role, v)
		}
	}
}

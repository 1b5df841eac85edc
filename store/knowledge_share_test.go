package store

import (
	"context"
	"errors"
	"testing"
)

// Widening a knowledge base's access shows its documents to more people: a
// manager who is not an admin may do it only over documents they uploaded.
func TestSetKBAccessWideningNeedsTheRightToShare(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	bob := f.viewer(f.bob) // a member, creator of f.private
	add := func(by *User) *Document {
		t.Helper()
		d, _, err := f.s.CreateDocument(ctx, f.ws.ID, NewDocument{Name: "d.txt", OriginalFilename: "d.txt", MimeType: "text/plain",
			UploadedBy: by.ID, KnowledgeBaseIDs: []string{f.private.ID}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	set := func(v Viewer, a KBAccess) error { return f.s.SetKBAccess(ctx, f.ws.ID, v, f.private.ID, a) }

	add(f.bob)
	// Only bob's own documents: he may share them with anyone.
	if err := set(bob, KBAccess{TeamIDs: []int64{f.team.ID}}); err != nil {
		t.Fatalf("widen over own documents: %v", err)
	}
	if err := set(bob, KBAccess{}); err != nil {
		t.Fatalf("narrow: %v", err)
	}
	// An admin's document in it (put there by the admin): bob may no longer widen...
	add(f.owner)
	for _, a := range []KBAccess{{SharedWithWorkspace: true}, {TeamIDs: []int64{f.team.ID}}} {
		if err := set(bob, a); !errors.Is(err, ErrNotShareable) {
			t.Errorf("widen to %+v over another's document: %v", a, err)
		}
	}
	if acc, _ := f.s.GetKBAccess(ctx, f.ws.ID, f.private.ID); acc.SharedWithWorkspace || len(acc.TeamIDs) != 0 {
		t.Fatalf("a refused change was applied: %+v", acc)
	}
	// ...but an admin may, and then keeping or narrowing what is granted is not widening.
	if err := set(f.viewer(f.owner), KBAccess{TeamIDs: []int64{f.team.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := set(bob, KBAccess{TeamIDs: []int64{f.team.ID}}); err != nil {
		t.Errorf("keep the granted team: %v", err)
	}
	if err := set(bob, KBAccess{}); err != nil {
		t.Errorf("narrow: %v", err)
	}
	// A knowledge base shared with the workspace shows everything to everyone already.
	if err := set(f.viewer(f.owner), KBAccess{SharedWithWorkspace: true}); err != nil {
		t.Fatal(err)
	}
	if err := set(bob, KBAccess{SharedWithWorkspace: true, TeamIDs: []int64{f.team.ID}}); err != nil {
		t.Errorf("teams on a shared knowledge base: %v", err)
	}
}

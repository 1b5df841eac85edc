package store

import (
	"context"
	"testing"
)

// A bulk load returns exactly the documents the viewer could open one by one:
// another workspace's ids, restricted ones and made-up ids are all absent.
func TestVisibleDocumentsAndLinks(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	mine := f.doc(t, "bob.txt", f.bob)
	shared := f.doc(t, "shared.txt", f.owner, f.shared)
	restricted := f.doc(t, "restricted.txt", f.owner, f.restricted)
	other, err := f.s.CreateWorkspace(ctx, f.bob.ID, "Other")
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := f.s.CreateDocument(ctx, other.ID, NewDocument{Name: "foreign.txt", UploadedBy: f.bob.ID, StoragePath: "p/foreign"})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{mine.ID, shared.ID, restricted.ID, foreign.ID, "no-such-id", mine.ID}
	got, err := f.s.VisibleDocuments(ctx, f.ws.ID, f.viewer(f.bob), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[mine.ID] == nil || got[shared.ID] == nil {
		t.Fatalf("bob sees %v in bulk, want only his own and the shared document", keys(got))
	}
	// The owner of the other workspace is an admin there, not here.
	if got, _ := f.s.VisibleDocuments(ctx, f.ws.ID, Viewer{UserID: f.bob.ID, IsAdmin: true}, []string{foreign.ID}); len(got) != 0 {
		t.Fatal("a document of another workspace was loaded")
	}
	linked, err := f.s.LinkedDocuments(ctx, f.ws.ID, f.shared.ID, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(linked) != 1 || !linked[shared.ID] {
		t.Fatalf("linked to Shared: %v", linked)
	}
	if linked, _ := f.s.LinkedDocuments(ctx, other.ID, f.shared.ID, ids); len(linked) != 0 {
		t.Fatal("links were found through another workspace's id")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

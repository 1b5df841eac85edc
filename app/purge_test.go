package app

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"quire/app/http/api"
	"quire/app/knowledge"
)

// Deleting a workspace or an account used to leave the original files on disk.
func TestDeletedWorkspacesAndAccountsLeaveNoFiles(t *testing.T) {
	ts := newTestServer(t)
	owner := ts.signup("purger")
	keep := ts.createWorkspace(owner, "Keep")
	gone := ts.createWorkspace(owner, "Gone")
	loner := ts.quickUser("loner")
	alone := ts.createWorkspace(loner, "Alone")
	for _, up := range []struct {
		u  user
		ws api.WorkspaceJSON
	}{{owner, keep}, {owner, gone}, {loner, alone}} {
		if res := ts.upload(up.u, up.ws.ID, "a.md", []byte("# A\n\nalpha"), nil); res.Status != 202 {
			t.Fatalf("upload: %d %s", res.Status, res.Body)
		}
	}
	dir := func(ws api.WorkspaceJSON) string { return filepath.Join(ts.cfg.FilesDir(), ws.ID) }
	for _, ws := range []api.WorkspaceJSON{keep, gone, alone} {
		if files, _ := os.ReadDir(dir(ws)); len(files) != 1 {
			t.Fatalf("workspace %s holds %d files before the deletes", ws.Name, len(files))
		}
	}
	ts.must(204, req{method: "DELETE", path: "/api/workspaces/" + gone.ID, token: owner.token})
	ts.must(204, req{method: "DELETE", path: "/api/me", token: loner.token, body: map[string]string{"current_password": testPassword}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, errGone := os.Stat(dir(gone))
		_, errAlone := os.Stat(dir(alone))
		if os.IsNotExist(errGone) && os.IsNotExist(errAlone) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("files left after deletes: workspace %v, account %v", errGone, errAlone)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if files, _ := os.ReadDir(dir(keep)); len(files) != 1 {
		t.Fatalf("the sweep touched a live workspace: %d files", len(files))
	}

	// The sweep at start also removes files that no document owns (a crash
	// between a document's delete and its file's removal), but only old ones:
	// an upload writes its file just before its row.
	stale, fresh := filepath.Join(dir(keep), "stale-orphan"), filepath.Join(dir(keep), "fresh-upload")
	os.WriteFile(stale, []byte("x"), 0o600)
	os.WriteFile(fresh, []byte("x"), 0o600)
	old := time.Now().Add(-2 * knowledge.OrphanAge)
	os.Chtimes(stale, old, old)
	unrelated := filepath.Join(ts.cfg.FilesDir(), "operator-notes")
	os.MkdirAll(unrelated, 0o700)
	if _, err := ts.srv.knowledge.PurgeFiles(t.Context(), true, time.Now().Add(-knowledge.OrphanAge)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("an old file without a document survived the sweep")
	}
	for _, p := range []string{fresh, unrelated} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if files, _ := os.ReadDir(dir(keep)); len(files) != 2 {
		t.Errorf("want the document's file and the fresh upload, have %d files", len(files))
	}
}

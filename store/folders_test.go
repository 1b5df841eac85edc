package store

import (
	"context"
	"testing"
)

func TestDeletingAFolderKeepsItsChats(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "f@example.com", "", "x", false)
	ws, _ := s.CreateWorkspace(ctx, u.ID, "W")
	f, err := s.CreateFolder(ctx, ws.ID, u.ID, 0, "Projects")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO chat_sessions (id, workspace_id, user_id, folder_id, name, created_at, updated_at)
		VALUES ('c1', ?, ?, ?, 'Chat', ?, ?)`, ws.ID, u.ID, f.ID, now(), now()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder(ctx, ws.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	var folder any
	if err := s.r.QueryRow(`SELECT folder_id FROM chat_sessions WHERE id = 'c1'`).Scan(&folder); err != nil {
		t.Fatalf("chat deleted with its folder: %v", err)
	}
	if folder != nil {
		t.Fatalf("chat still points at the deleted folder %v", folder)
	}
	// Another workspace's id cannot reach the folder.
	other, _ := s.CreateWorkspace(ctx, u.ID, "Other")
	f2, _ := s.CreateFolder(ctx, ws.ID, u.ID, 0, "Keep")
	if err := s.DeleteFolder(ctx, other.ID, f2.ID); err != ErrNotFound {
		t.Fatalf("delete through another workspace: %v", err)
	}
}

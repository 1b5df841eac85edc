package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
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

func TestSeatsHoldUnderConcurrentInvitations(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "seats@example.com", "", "x", false)
	ws, _ := s.CreateWorkspace(ctx, u.ID, "W")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, full := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateInvitation(ctx, ws.ID, fmt.Sprintf("p%d@example.com", i), RoleMember, 0, u.ID, []byte(fmt.Sprint("h", i)), time.Now().Add(time.Hour), 3)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrSeatLimit):
				full++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 2 || full != 6 {
		t.Fatalf("%d invitations accepted and %d refused with 3 seats and 1 member; want 2 and 6", ok, full)
	}
}

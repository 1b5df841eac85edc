package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tableCount(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateUpDownUp(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	up := tableCount(t, s)
	// Every model of the data model exists after the first migration.
	for _, table := range []string{"users", "user_costs", "workspaces", "workspace_memberships", "teams", "team_memberships",
		"invitations", "folders", "ai_usage", "workspace_costs", "chat_sessions", "messages", "chat_session_shares",
		"knowledge_bases", "documents", "document_chunks", "knowledge_base_documents", "chat_session_knowledge_bases",
		"knowledge_base_team_access", "document_processing_tasks", "stripe_users", "products", "prices", "subscriptions",
		"subscription_items", "features", "product_features", "auth_tokens", "email_tokens", "outbox", "settings",
		"stripe_events", "document_chunks_fts"} {
		var n int
		if err := s.r.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s missing after migrate up (err %v)", table, err)
		}
	}
	if _, err := s.CreateUser(ctx, "a@example.com", "A", "x", false); err != nil {
		t.Fatal(err)
	}
	if err := s.MigrateDown(); err != nil {
		t.Fatal(err)
	}
	if n := tableCount(t, s); n != 0 {
		t.Fatalf("%d tables left after migrate down", n)
	}
	if err := s.Migrate(); err != nil {
		t.Fatal(err)
	}
	if n := tableCount(t, s); n != up {
		t.Fatalf("migrate up again made %d tables, first time %d", n, up)
	}
	if v, dirty, err := s.SchemaVersion(); err != nil || dirty || v == 0 {
		t.Fatalf("version %d dirty %v err %v", v, dirty, err)
	}
}

func TestVec0Available(t *testing.T) {
	s := openTest(t)
	if _, err := s.w.Exec(`CREATE VIRTUAL TABLE v USING vec0(workspace_id text partition key, embedding float[4] distance_metric=cosine)`); err != nil {
		t.Fatalf("vec0 not available: %v", err)
	}
	if _, err := s.w.Exec(`INSERT INTO v (rowid, workspace_id, embedding) VALUES (1, 'a', '[1,0,0,0]'), (2, 'a', '[0,1,0,0]'), (3, 'b', '[1,0,0,0]')`); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.r.QueryRow(`SELECT rowid FROM v WHERE embedding MATCH '[0.9,0.1,0,0]' AND k = 1 AND workspace_id = 'a'`).Scan(&id); err != nil || id != 1 {
		t.Fatalf("knn got %d, %v", id, err)
	}
}

// Nobody becomes admin by being first; of first admins made in parallel
// (two setups, or a setup and the CLI) exactly one is made.
func TestFirstAdminUnderRace(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if u, err := s.CreateUser(ctx, "first@example.com", "", "x", false); err != nil || u.IsAdmin {
		t.Fatalf("the first account: %+v %v, want an ordinary one", u, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	made := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateFirstAdmin(ctx, string(rune('a'+i))+"@example.com", "", "x")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				made++
			case !errors.Is(err, ErrGone):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var admins int
	s.r.QueryRow(`SELECT count(*) FROM users WHERE is_admin = 1`).Scan(&admins)
	if admins != 1 || made != 1 {
		t.Fatalf("%d admins (%d made), want exactly 1", admins, made)
	}
	if ok, _ := s.AdminExists(ctx); !ok {
		t.Fatal("AdminExists is false with an admin")
	}
	if _, err := s.CreateUser(ctx, "FIRST@example.com", "", "x", false); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate email (case-insensitive) gave %v, want ErrConflict", err)
	}
}

// The last active administrator can be neither demoted, deactivated nor
// deleted; a pending signup is disabled until enabled, which approves it.
func TestLastAdminAndPendingAccounts(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	root, err := s.CreateFirstAdmin(ctx, "root@example.com", "", "x")
	if err != nil {
		t.Fatal(err)
	}
	f, tr := false, true
	if _, err := s.UpdateUserAdmin(ctx, root.ID, &f, nil); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("demoting the last admin: %v", err)
	}
	if _, err := s.UpdateUserAdmin(ctx, root.ID, nil, &tr); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("deactivating the last admin: %v", err)
	}
	if err := s.DeleteUser(ctx, root.ID); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("deleting the last admin: %v", err)
	}
	p, err := s.CreateAccount(ctx, NewUser{Email: "p@example.com", PasswordHash: "x", Pending: true})
	if err != nil || !p.Pending || !p.Disabled {
		t.Fatalf("pending account %+v %v", p, err)
	}
	if u, err := s.UpdateUserAdmin(ctx, p.ID, nil, &f); err != nil || u.Pending || u.Disabled {
		t.Fatalf("enabling a pending account: %+v %v", u, err)
	}
	if u, _ := s.UserByID(ctx, p.ID); u.Pending || u.Disabled {
		t.Fatalf("stored %+v", u)
	}
}

func TestOwnershipRules(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	owner, _ := s.CreateUser(ctx, "o@example.com", "", "x", false)
	other, _ := s.CreateUser(ctx, "m@example.com", "", "x", false)
	ws, err := s.CreateWorkspace(ctx, owner.ID, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TransferOwnership(ctx, ws.ID, other.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("transfer to non-member: %v", err)
	}
	if err := s.AddMember(ctx, ws.ID, other.ID, RoleMember); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, ws.ID, other.ID, RoleMember); !errors.Is(err, ErrConflict) {
		t.Fatalf("double add: %v", err)
	}
	if err := s.RemoveMember(ctx, ws.ID, owner.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("owner removed: %v", err)
	}
	if err := s.DeleteUser(ctx, owner.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("owner of a shared workspace deleted: %v", err)
	}
	if err := s.TransferOwnership(ctx, ws.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	w, _ := s.WorkspaceForUser(ctx, ws.ID, owner.ID)
	if w.Role != RoleAdmin || w.OwnerID != other.ID {
		t.Fatalf("after transfer: role %s owner %d", w.Role, w.OwnerID)
	}
	if err := s.DeleteUser(ctx, owner.ID); err != nil {
		t.Fatalf("non-owner delete: %v", err)
	}
	if _, err := s.GetMember(ctx, ws.ID, owner.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("membership survived user deletion: %v", err)
	}
}

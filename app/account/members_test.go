package account

import (
	"context"
	"testing"

	"quire/app/fault"
	"quire/store"
)

// Roles change and members leave through the use case; the owner is neither
// demoted nor removed, another workspace's member is not found, and a role
// that cannot be assigned is refused before anything changes.
func TestMemberRoleAndRemovalRules(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st, SignupPolicy: func() string { return SignupOpen }})
	ctx := context.Background()
	owner, member := signup(t, a, "owner@example.com").User, signup(t, a, "member@example.com").User
	ws, err := st.CreateWorkspace(ctx, owner.ID, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateWorkspace(ctx, member.ID, "Other")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(ctx, ws.ID, member.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}

	m, err := a.SetRole(ctx, ws.ID, member.ID, store.RoleAdmin)
	if err != nil || m.Role != store.RoleAdmin {
		t.Fatalf("promote: %v %+v", err, m)
	}
	if got, _ := st.GetMember(ctx, ws.ID, member.ID); got.Role != store.RoleAdmin {
		t.Fatalf("stored role %q", got.Role)
	}
	for _, c := range []struct {
		name string
		err  error
		kind fault.Kind
	}{
		{"owner demoted", func() error { _, err := a.SetRole(ctx, ws.ID, owner.ID, store.RoleMember); return err }(), fault.Forbidden},
		{"made owner", func() error { _, err := a.SetRole(ctx, ws.ID, member.ID, store.RoleOwner); return err }(), fault.Forbidden},
		{"unknown role", func() error { _, err := a.SetRole(ctx, ws.ID, member.ID, "root"); return err }(), fault.Invalid},
		{"owner removed", a.RemoveMember(ctx, ws.ID, owner.ID), fault.Forbidden},
		{"owner of another workspace", a.RemoveMember(ctx, ws.ID, 999), fault.NotFound},
		{"not a member there", func() error { _, err := a.SetRole(ctx, other.ID, owner.ID, store.RoleAdmin); return err }(), fault.NotFound},
	} {
		if !fault.Is(c.err, c.kind) {
			t.Errorf("%s: %v", c.name, c.err)
		}
	}
	if got, _ := st.GetMember(ctx, ws.ID, member.ID); got.Role != store.RoleAdmin {
		t.Fatalf("a refused change changed the role to %q", got.Role)
	}
	if err := a.RemoveMember(ctx, ws.ID, member.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetMember(ctx, ws.ID, member.ID); err == nil {
		t.Fatal("the removed member is still there")
	}
}

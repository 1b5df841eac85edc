package account

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"quire/app/auth"
	"quire/app/fault"
	"quire/store"
)

const pw = "correct horse battery"

// Cheap hashes: these tests are about the rules, not argon2's cost.
func cheapHashes(t *testing.T) {
	old := auth.DefaultParams
	auth.DefaultParams = auth.Params{Memory: 1024, Time: 1, Threads: 1}
	t.Cleanup(func() { auth.DefaultParams = old })
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	cheapHashes(t)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// signup makes an account; the first one of an instance through the setup
// link, as nobody can sign up before it has an administrator.
func signup(t *testing.T, a *Service, email string) *Signup {
	t.Helper()
	ctx := context.Background()
	token, err := a.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		out, err := a.Setup(ctx, SetupInput{Token: token, Email: email, Password: pw, Name: "N"})
		if err != nil {
			t.Fatalf("setup %s: %v", email, err)
		}
		return out
	}
	out, err := a.Signup(ctx, SignupInput{Email: email, Password: pw, Name: "N", Address: "ip:10.0.0.1"})
	if err != nil {
		t.Fatalf("signup %s: %v", email, err)
	}
	return out
}

// noHashing has no hashing slot at all: any hash or check fails as busy, so
// a call that succeeds or fails otherwise provably hashed nothing.
func noHashing() *auth.Slots { return auth.NewSlots(0, 10*time.Millisecond) }

func TestNobodySignsUpBeforeSetupThenPolicyApplies(t *testing.T) {
	st := newStore(t)
	policy := SignupOpen
	a := New(Config{Store: st, SignupPolicy: func() string { return policy }})
	if _, err := a.Signup(context.Background(), SignupInput{Email: "early@example.com", Password: pw}); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("a signup before setup: %v", err)
	}
	policy = SignupClosed
	first := signup(t, a, "first@example.com") // through the setup link
	if !first.User.IsAdmin || first.Session.Secret == "" {
		t.Fatalf("the setup's account under a closed policy: admin=%v session=%q", first.User.IsAdmin, first.Session.Secret)
	}
	_, err := a.Signup(context.Background(), SignupInput{Email: "second@example.com", Password: pw})
	if !fault.Is(err, fault.Forbidden) {
		t.Fatalf("closed signup: %v", err)
	}
	policy = SignupInviteOnly
	_, err = a.Signup(context.Background(), SignupInput{Email: "second@example.com", Password: pw})
	if !fault.Is(err, fault.Forbidden) {
		t.Fatalf("invite-only signup without a token: %v", err)
	}
	_, err = a.Signup(context.Background(), SignupInput{Email: "second@example.com", Password: pw, InvitationToken: "bogus", Address: "ip:x"})
	if f, ok := fault.As(err); !ok || f.Field != "invitation_token" {
		t.Fatalf("unknown invitation token: %v", err)
	}
	policy = SignupOpen
	if _, err := a.Signup(context.Background(), SignupInput{Email: "FIRST@example.com", Password: pw}); !fault.Is(err, fault.Conflict) {
		t.Fatalf("a taken address, in other case: %v", err)
	}
}

func TestSignupWithInvitationJoinsVerified(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st, SignupPolicy: func() string { return SignupInviteOnly }})
	owner := signup(t, a, "owner@example.com")
	ctx := context.Background()
	ws, err := st.CreateWorkspace(ctx, owner.User.ID, "W")
	if err != nil {
		t.Fatal(err)
	}
	secret, hash := auth.NewToken("")
	if _, err := st.CreateInvitation(ctx, ws.ID, "guest@example.com", "member", 0, owner.User.ID, hash, time.Now().Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	_, err = a.Signup(ctx, SignupInput{Email: "other@example.com", Password: pw, InvitationToken: secret})
	if f, ok := fault.As(err); !ok || f.Field != "email" {
		t.Fatalf("another address with the token: %v", err)
	}
	out, err := a.Signup(ctx, SignupInput{Email: "guest@example.com", Password: pw, InvitationToken: secret})
	if err != nil {
		t.Fatal(err)
	}
	if out.WorkspaceID != ws.ID || !out.User.EmailVerified || out.User.IsAdmin {
		t.Fatalf("invited signup: ws=%q verified=%v admin=%v", out.WorkspaceID, out.User.EmailVerified, out.User.IsAdmin)
	}
	_, err = a.Signup(ctx, SignupInput{Email: "guest2@example.com", Password: pw, InvitationToken: secret})
	if !fault.Is(err, fault.Gone) {
		t.Fatalf("a used invitation: %v", err)
	}
}

// Checking and counting a failure are one step: of 30 parallel wrong
// passwords from one address, at most the limit are checked.
func TestParallelWrongPasswordsAreLimited(t *testing.T) {
	st := newStore(t)
	const max = 3
	a := New(Config{Store: st, MaxLoginFailures: max, LoginWindow: time.Hour})
	signup(t, a, "victim@example.com")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong, limited := 0, 0
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := a.Login(context.Background(), "victim@example.com", "wrong-password", "ip:10.0.0.9")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBadLogin):
				wrong++
			case fault.Is(err, fault.RateLimited):
				limited++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if wrong > max || wrong+limited != 30 {
		t.Fatalf("%d wrong passwords checked (limit %d), %d limited", wrong, max, limited)
	}
	// The owner from another address is not locked out.
	if _, _, err := a.Login(context.Background(), "Victim@example.com", pw, "ip:10.0.0.2"); err != nil {
		t.Fatalf("owner from another address: %v", err)
	}
	f, _ := fault.As(func() error {
		_, _, err := a.Login(context.Background(), "victim@example.com", pw, "ip:10.0.0.9")
		return err
	}())
	if f == nil || f.Kind != fault.RateLimited || f.RetryAfter < time.Second {
		t.Fatalf("the limited address, even with the right password: %v", f)
	}
}

func TestLoginOfUnknownEmailIsABadLogin(t *testing.T) {
	a := New(Config{Store: newStore(t)})
	if _, _, err := a.Login(context.Background(), "nobody@example.com", pw, "ip:1"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("unknown email: %v", err)
	}
}

func TestResetWithUnknownTokenHashesNothing(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st, Hashing: noHashing()})
	err := a.ConfirmPasswordReset(context.Background(), "not-a-token", "a new password", "ip:1")
	if f, ok := fault.As(err); !ok || f.Kind != fault.Invalid || f.Field != "token" {
		t.Fatalf("unknown token: %v (a busy error would mean it tried to hash)", err)
	}
	// Unknown tokens count against the address.
	for i := 0; ; i++ {
		err := a.ConfirmPasswordReset(context.Background(), fmt.Sprint("guess", i), "a new password", "ip:1")
		if fault.Is(err, fault.RateLimited) {
			break
		}
		if i > 100 {
			t.Fatal("token guesses are not limited")
		}
	}
}

func TestResetRoundTrip(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st})
	u := signup(t, a, "r@example.com").User
	secret, hash := auth.NewToken("")
	ctx := context.Background()
	if err := st.CreateEmailToken(ctx, u.ID, store.PurposePasswordReset, hash, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.ConfirmPasswordReset(ctx, secret, "another password", "ip:1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Login(ctx, "r@example.com", "another password", "ip:1"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if err := a.ConfirmPasswordReset(ctx, secret, "third password", "ip:1"); !fault.Is(err, fault.Invalid) {
		t.Fatalf("a used reset token: %v", err)
	}
}

func TestChangePasswordRevokesOtherSessionsAndKeys(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st})
	ctx := context.Background()
	out := signup(t, a, "c@example.com")
	u := out.User
	_, other, err := a.Login(ctx, "c@example.com", pw, "ip:1")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := a.CreateAPIKey(ctx, u, "ci", "")
	if err != nil {
		t.Fatal(err)
	}
	keep, _, err := st.Authenticate(ctx, auth.HashToken(out.Session.Secret))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ChangePassword(ctx, u, "wrong-password", "a new password", keep.ID, "ip:1"); !fault.Is(err, fault.Invalid) {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := a.ChangePassword(ctx, u, pw, "a new password", keep.ID, "ip:1"); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"other session": other.Secret, "API key": key} {
		if _, _, err := st.Authenticate(ctx, auth.HashToken(secret)); err == nil {
			t.Errorf("the %s still works after a password change", name)
		}
	}
	if _, _, err := st.Authenticate(ctx, auth.HashToken(out.Session.Secret)); err != nil {
		t.Errorf("the session that changed the password was signed out: %v", err)
	}
	if keys, _ := a.APIKeys(ctx, u.ID); len(keys) != 0 {
		t.Errorf("%d API keys left", len(keys))
	}
}

func TestAPIKeys(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st})
	ctx := context.Background()
	u := signup(t, a, "k@example.com").User
	if _, _, err := a.CreateAPIKey(ctx, u, "  ", ""); !fault.Is(err, fault.Invalid) {
		t.Fatalf("empty name: %v", err)
	}
	if _, _, err := a.CreateAPIKey(ctx, u, "k", "no-such-ws"); !fault.Is(err, fault.Invalid) {
		t.Fatalf("foreign workspace: %v", err)
	}
	k, secret, err := a.CreateAPIKey(ctx, u, "k", "")
	if err != nil || secret == "" {
		t.Fatal(err)
	}
	if err := a.DeleteAPIKey(ctx, u.ID+1, k.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("another user's key: %v", err)
	}
	if err := a.DeleteAPIKey(ctx, u.ID, k.ID); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteChecksPassword(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st})
	ctx := context.Background()
	root := signup(t, a, "root@example.com").User
	if err := a.Delete(ctx, root, pw, "ip:1"); !fault.Is(err, fault.Conflict) {
		t.Fatalf("the last administrator deleted their account: %v", err)
	}
	u := signup(t, a, "d@example.com").User
	if err := a.Delete(ctx, u, "wrong-password", "ip:1"); !fault.Is(err, fault.Invalid) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := a.Delete(ctx, u, pw, "ip:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserByEmail(ctx, "d@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the account is still there: %v", err)
	}
}

func TestAdminCreateUserAndSetPassword(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st})
	ctx := context.Background()
	signup(t, a, "first@example.com")
	u, err := a.CreateUser(ctx, " Ops@Example.com ", "Ops", pw, true)
	if err != nil || !u.IsAdmin || !u.EmailVerified || u.Email != "ops@example.com" {
		t.Fatalf("create-user: %+v %v", u, err)
	}
	if err := a.SetPassword(ctx, u.ID, "another password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Login(ctx, "ops@example.com", "another password", "ip:1"); err != nil {
		t.Fatal(err)
	}
}

func TestInvitationsByTokenAndByID(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st})
	ctx := context.Background()
	owner := signup(t, a, "owner@example.com").User
	ws, err := st.CreateWorkspace(ctx, owner.ID, "W")
	if err != nil {
		t.Fatal(err)
	}
	guest := signup(t, a, "guest@example.com").User // unverified
	if _, _, err := a.Invite(ctx, ws.ID, owner, "guest@example.com", "owner", 0); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("inviting as owner: %v", err)
	}
	if _, _, err := a.Invite(ctx, ws.ID, owner, "guest@example.com", "", 99); !fault.Is(err, fault.Invalid) {
		t.Fatalf("a foreign team: %v", err)
	}
	inv, secret, err := a.Invite(ctx, ws.ID, owner, "Guest@Example.com", "", 0)
	if err != nil || inv.Role != store.RoleMember || inv.Email != "guest@example.com" {
		t.Fatalf("invite: %+v %v", inv, err)
	}
	if _, _, err := a.Invite(ctx, ws.ID, owner, "guest@example.com", "", 0); !fault.Is(err, fault.Conflict) {
		t.Fatalf("inviting twice: %v", err)
	}
	// By id takes a verified address; unverified, the list is empty.
	if list, _ := a.Pending(ctx, guest); len(list) != 0 {
		t.Fatalf("an unverified address sees %d invitations", len(list))
	}
	if _, err := a.AcceptByID(ctx, guest, inv.ID); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("accept by id, unverified: %v", err)
	}
	// Someone else cannot use the token.
	if _, err := a.AcceptByToken(ctx, owner, secret, "ip:1"); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("accept by another account: %v", err)
	}
	// The resent link replaces the old one.
	_, secret2, err := a.Resend(ctx, ws.ID, owner, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcceptByToken(ctx, guest, secret, "ip:1"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("the old link after a resend: %v", err)
	}
	wsID, err := a.AcceptByToken(ctx, guest, secret2, "ip:1")
	if err != nil || wsID != ws.ID {
		t.Fatalf("accept by token: %q %v", wsID, err)
	}
	if u, _ := st.UserByEmail(ctx, "guest@example.com"); !u.EmailVerified {
		t.Fatal("using the mailed token did not verify the address")
	}
	if err := a.Cancel(ctx, ws.ID, inv.ID); !fault.Is(err, fault.Gone) {
		t.Fatalf("cancelling an accepted invitation: %v", err)
	}
}

func TestAddMemberInvitesUnlessInstanceAdmin(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st})
	ctx := context.Background()
	admin := signup(t, a, "admin@example.com").User // the first account: instance admin
	plain := signup(t, a, "plain@example.com").User
	signup(t, a, "third@example.com")
	ws, err := st.CreateWorkspace(ctx, plain.ID, "W")
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.AddMember(ctx, ws.ID, plain, "third@example.com", "")
	if err != nil || out.Invitation == nil || out.Member != nil {
		t.Fatalf("a workspace admin adding an account: %+v %v", out, err)
	}
	if err := a.Cancel(ctx, ws.ID, out.Invitation.ID); err != nil {
		t.Fatal(err)
	}
	out, err = a.AddMember(ctx, ws.ID, admin, "third@example.com", "admin")
	if err != nil || out.Member == nil || out.Member.Role != store.RoleAdmin {
		t.Fatalf("an instance admin adding an account: %+v %v", out, err)
	}
	if _, err := a.AddMember(ctx, ws.ID, admin, "third@example.com", ""); !fault.Is(err, fault.Conflict) {
		t.Fatalf("adding a member twice: %v", err)
	}
	out, err = a.AddMember(ctx, ws.ID, admin, "nobody@example.com", "")
	if err != nil || out.Invitation == nil || out.Secret == "" {
		t.Fatalf("an instance admin adding an unknown address: %+v %v", out, err)
	}
}

// The plan's seat gate applies to invitations and direct adds alike.
func TestSeatsGateInvitesAndAdds(t *testing.T) {
	st := newStore(t)
	full := fault.New(fault.Quota, "all seats are taken")
	a := New(Config{Store: st, Seats: func(context.Context, string) (int64, error) { return 0, full }})
	ctx := context.Background()
	admin := signup(t, a, "admin@example.com").User
	signup(t, a, "other@example.com")
	ws, err := st.CreateWorkspace(ctx, admin.ID, "W")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Invite(ctx, ws.ID, admin, "x@example.com", "", 0); !errors.Is(err, full) {
		t.Fatalf("invite with no seat left: %v", err)
	}
	if _, err := a.AddMember(ctx, ws.ID, admin, "other@example.com", ""); !errors.Is(err, full) {
		t.Fatalf("direct add with no seat left: %v", err)
	}
}

// The setup token: issued only while there is no admin, replaced at each
// start, used once even by racing setups, kept after a fixable mistake.
func TestSetupToken(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st})
	ctx := context.Background()
	old, _ := a.NewSetupToken(ctx)
	token, _ := a.NewSetupToken(ctx)
	if _, err := a.Setup(ctx, SetupInput{Token: old, Email: "a@example.com", Password: pw, Name: "A"}); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("the previous start's token: %v", err)
	}
	if _, err := st.CreateUser(ctx, "taken@example.com", "T", "x", true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Setup(ctx, SetupInput{Token: token, Email: "taken@example.com", Password: pw, Name: "A"}); !fault.Is(err, fault.Conflict) {
		t.Fatalf("a taken address: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Setup(ctx, SetupInput{Token: token, Email: fmt.Sprintf("r%d@example.com", i), Password: pw, Name: "R"})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
			} else if !fault.Is(err, fault.Forbidden) && !fault.Is(err, fault.Gone) {
				t.Errorf("a racing setup: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d setups won, want 1", won)
	}
	if again, _ := a.NewSetupToken(ctx); again != "" {
		t.Fatal("a token was issued with an admin present")
	}
	if err := a.CheckSetupToken(ctx, token); !fault.Is(err, fault.Gone) {
		t.Fatalf("the used token: %v", err)
	}
}

// Under the approval policy a signup gets no session and cannot sign in
// until approved; approving is for pending accounts only.
func TestApprovalPolicy(t *testing.T) {
	st := newStore(t)
	a := New(Config{Store: st, SignupPolicy: func() string { return SignupApproval }})
	ctx := context.Background()
	root := signup(t, a, "root@example.com").User
	out, err := a.Signup(ctx, SignupInput{Email: "wait@example.com", Password: pw, Address: "ip:1"})
	if err != nil || !out.Pending || out.Session.Secret != "" || !out.User.Disabled {
		t.Fatalf("a signup under approval: %+v %v", out, err)
	}
	if _, _, err := a.Login(ctx, "wait@example.com", pw, "ip:1"); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("login while pending: %v", err)
	}
	if _, err := a.Approve(ctx, root, out.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Login(ctx, "wait@example.com", pw, "ip:1"); err != nil {
		t.Fatalf("login after approval: %v", err)
	}
	if _, err := a.Approve(ctx, root, out.User.ID); !fault.Is(err, fault.Conflict) {
		t.Fatalf("approving twice: %v", err)
	}
	if _, err := a.AdminUpdate(ctx, root, root.ID, nil, ptr(true)); !fault.Is(err, fault.Conflict) {
		t.Fatalf("deactivating oneself: %v", err)
	}
	if err := a.AdminDelete(ctx, root, root.ID); !fault.Is(err, fault.Conflict) {
		t.Fatalf("deleting oneself: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

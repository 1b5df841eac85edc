package feedback_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"quire/app/fault"
	"quire/app/feedback"
	"quire/store"
)

func TestRateRefusesHostileInput(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, _ := st.CreateUser(ctx, "r@example.com", "", "x", false)
	ws, _ := st.CreateWorkspace(ctx, u.ID, "W")
	ch, _ := st.CreateChat(ctx, ws.ID, u.ID, store.ChatFields{})
	q, _ := st.AppendMessage(ctx, ws.ID, ch.ID, "user", "q", "", store.MsgComplete)
	a, _ := st.AddMessage(ctx, ws.ID, ch.ID, "assistant", "a", q.ID, "m", store.MsgComplete)
	svc := &feedback.Service{Store: st}

	f, err := svc.Rate(ctx, ws.ID, ch.ID, a.ID, u.ID, feedback.Down, "  line one\n\tline two  ")
	if err != nil || f.Note != "line one\n\tline two" || f.Rating != -1 {
		t.Fatalf("a note with a line break and a tab: %+v %v", f, err)
	}
	for name, tc := range map[string]struct {
		msg, rating, note string
		kind              fault.Kind
	}{
		"a question":            {q.ID, "up", "", fault.Invalid},
		"an unknown message":    {"nope", "up", "", fault.NotFound},
		"a sideways rating":     {a.ID, "meh", "", fault.Invalid},
		"an overlong note":      {a.ID, "down", strings.Repeat("é", feedback.MaxNote+1), fault.Invalid},
		"a terminal escape":     {a.ID, "down", "fine\x1b[2Jgone", fault.Invalid},
		"a NUL byte":            {a.ID, "down", "a\x00b", fault.Invalid},
		"a right-to-left trick": {a.ID, "down", "good\u202eoops", fault.Invalid},
		"invalid UTF-8":         {a.ID, "down", "\xff\xfe", fault.Invalid},
	} {
		if _, err := svc.Rate(ctx, ws.ID, ch.ID, tc.msg, u.ID, feedback.Rating(tc.rating), tc.note); !fault.Is(err, tc.kind) {
			t.Errorf("%s: %v, want kind %d", name, err, tc.kind)
		}
	}
	// A note of exactly the limit is kept.
	if _, err := svc.Rate(ctx, ws.ID, ch.ID, a.ID, u.ID, feedback.Up, strings.Repeat("é", feedback.MaxNote)); err != nil {
		t.Fatalf("a note at the limit: %v", err)
	}
	// Another workspace's id for the same chat finds nothing.
	other, _ := st.CreateWorkspace(ctx, u.ID, "Other")
	if _, err := svc.Rate(ctx, other.ID, ch.ID, a.ID, u.ID, feedback.Up, ""); !fault.Is(err, fault.NotFound) {
		t.Fatalf("through another workspace: %v", err)
	}
	if err := svc.Withdraw(ctx, ws.ID, ch.ID, a.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Withdraw(ctx, ws.ID, ch.ID, a.ID, u.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("withdrawing twice: %v", err)
	}
}

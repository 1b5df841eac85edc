package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func appendN(t *testing.T, s *Store, n int, at time.Time) {
	t.Helper()
	for i := range n {
		uid := int64(i + 1)
		if err := s.AppendAudit(context.Background(), []AuditEntry{{At: at, UserID: &uid, Email: fmt.Sprintf("u%d@example.com", i),
			ActorKind: "session", WorkspaceID: "ws1", Action: "document.deleted", TargetType: "document", TargetID: fmt.Sprintf("doc%d", i),
			Details: `{"status":204}`}}); err != nil {
			t.Fatal(err)
		}
	}
}

// mustBreak verifies and wants the first break at row id (0: not a row).
func mustBreak(t *testing.T, s *Store, id int64, reason string) {
	t.Helper()
	_, err := s.VerifyAudit(context.Background())
	var b *AuditBreak
	if !errors.As(err, &b) {
		t.Fatalf("verify: %v, want a break at row %d", err, id)
	}
	if b.ID != id || !strings.Contains(b.Reason, reason) {
		t.Fatalf("break %+v, want row %d (%q)", b, id, reason)
	}
}

// tamper runs SQL on the file as someone with the database would: the
// append-only triggers are dropped first (the app cannot change rows).
func tamper(t *testing.T, s *Store, sql ...string) {
	t.Helper()
	for _, q := range append([]string{"DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"}, sql...) {
		if _, err := s.w.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestAuditChainVerifiesAndTheAppCannotChangeRows(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if v, err := s.VerifyAudit(ctx); err != nil || v.Rows != 0 {
		t.Fatalf("empty log: %+v %v", v, err)
	}
	appendN(t, s, 5, time.Now())
	v, err := s.VerifyAudit(ctx)
	if err != nil || v.Rows != 5 || v.FirstID != 1 || v.LastID != 5 {
		t.Fatalf("verify: %+v %v", v, err)
	}
	rows, _ := s.ListAudit(ctx, AuditFilter{AllWorkspaces: true})
	if rows[0].PrevHash != rows[1].Hash || rows[4].PrevHash != "" {
		t.Fatalf("not chained: %+v", rows)
	}
	if _, err := s.w.Exec(`UPDATE audit_log SET action = 'nothing' WHERE id = 2`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update: %v", err)
	}
	if _, err := s.w.Exec(`DELETE FROM audit_log WHERE id = 5`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("delete: %v", err)
	}
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sql    []string
		row    int64
		reason string
	}{
		{"an edited target", []string{`UPDATE audit_log SET target_id = 'other' WHERE id = 3`}, 3, "edited"},
		{"an edited outcome", []string{`UPDATE audit_log SET outcome = 'denied' WHERE id = 5`}, 5, "edited"},
		{"edited details", []string{`UPDATE audit_log SET details = '{"status":200}' WHERE id = 1`}, 1, "edited"},
		{"a deleted row", []string{`DELETE FROM audit_log WHERE id = 4`}, 5, "missing"},
		{"the first rows deleted", []string{`DELETE FROM audit_log WHERE id <= 2`}, 3, "should start at row 1"},
		{"two rows swapped", []string{`UPDATE audit_log SET id = 100 WHERE id = 2`, `UPDATE audit_log SET id = 2 WHERE id = 3`, `UPDATE audit_log SET id = 3 WHERE id = 100`}, 2, ""},
		{"an anchor set by hand", []string{`DELETE FROM audit_log WHERE id <= 2`, `INSERT INTO audit_anchor VALUES (1, 2, (SELECT prev_hash FROM audit_log WHERE id = 3))`}, 0, "audit.pruned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			appendN(t, s, 6, time.Now())
			tamper(t, s, tc.sql...)
			mustBreak(t, s, tc.row, tc.reason)
		})
	}
}

// An attacker who edits a row and recomputes its hash breaks the next row's link.
func TestAuditVerifyFindsARehashedEdit(t *testing.T) {
	s := openTest(t)
	appendN(t, s, 4, time.Now())
	rows, _ := s.ListAudit(context.Background(), AuditFilter{AllWorkspaces: true, TargetID: "doc1"})
	e := rows[0]
	e.TargetLabel = "another file"
	e.Hash = auditHash(&e)
	tamper(t, s, fmt.Sprintf(`UPDATE audit_log SET target_label = '%s', hash = '%s' WHERE id = %d`, e.TargetLabel, e.Hash, e.ID))
	mustBreak(t, s, e.ID+1, "link")
}

// Parallel writers (the batch writer, the CLI, pruning) take the write lock
// before reading the head, so the chain stays one line.
func TestAuditParallelAppendsKeepOneChain(t *testing.T) {
	s := openTest(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { appendN(t, s, 25, time.Now()) })
	}
	wg.Wait()
	v, err := s.VerifyAudit(context.Background())
	if err != nil || v.Rows != 200 || v.LastID != 200 {
		t.Fatalf("verify after parallel appends: %+v %v", v, err)
	}
}

func TestAuditPruneKeepsTheChainVerifiable(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	old := time.Now().Add(-400 * 24 * time.Hour)
	appendN(t, s, 4, old)
	appendN(t, s, 3, time.Now())
	n, err := s.PruneAudit(ctx, time.Now().Add(-365*24*time.Hour), AuditEntry{ActorKind: "system"})
	if err != nil || n != 4 {
		t.Fatalf("prune: %d %v", n, err)
	}
	v, err := s.VerifyAudit(ctx)
	if err != nil || v.Rows != 4 || v.FirstID != 5 || v.AnchoredAt != 4 {
		t.Fatalf("verify after prune: %+v %v", v, err)
	}
	rows, _ := s.ListAudit(ctx, AuditFilter{AllWorkspaces: true, Action: ActionAuditPruned})
	if len(rows) != 1 || !strings.Contains(rows[0].Details, `"through_id":4`) || !strings.Contains(rows[0].Details, `"rows":4`) {
		t.Fatalf("pruned row: %+v", rows)
	}
	// Nothing more is old: a second prune changes nothing and writes nothing.
	if n, err := s.PruneAudit(ctx, time.Now().Add(-365*24*time.Hour), AuditEntry{}); err != nil || n != 0 {
		t.Fatalf("second prune: %d %v", n, err)
	}
	appendN(t, s, 2, time.Now())
	if v, err := s.VerifyAudit(ctx); err != nil || v.Rows != 6 {
		t.Fatalf("verify after more rows: %+v %v", v, err)
	}
	// The anchor protects the kept rows from the delete trigger too.
	if _, err := s.w.Exec(`DELETE FROM audit_log WHERE id = 5`); err == nil {
		t.Fatal("a kept row was deleted")
	}
	tamper(t, s, `DELETE FROM audit_log WHERE id = 5`)
	mustBreak(t, s, 6, "should start at row 5")
}

func TestAuditFilters(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	uid := int64(7)
	day := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	if err := s.AppendAudit(ctx, []AuditEntry{
		{At: day, Action: "auth.login", UserID: &uid, Email: "a@example.com"},
		{At: day.Add(time.Hour), Action: "document.deleted", WorkspaceID: "w1", TargetID: "d1", UserID: &uid},
		{At: day.Add(2 * time.Hour), Action: "document.uploaded", WorkspaceID: "w1", TargetID: "d2"},
		{At: day.Add(48 * time.Hour), Action: "passages.read", WorkspaceID: "w2", TargetID: "d1"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    AuditFilter
		want []int64
	}{
		{AuditFilter{AllWorkspaces: true}, []int64{4, 3, 2, 1}},
		{AuditFilter{Workspace: "w1"}, []int64{3, 2}},
		{AuditFilter{Workspace: ""}, nil}, // a workspace filter never matches instance rows
		{AuditFilter{AllWorkspaces: true, Action: "document."}, []int64{3, 2}},
		{AuditFilter{AllWorkspaces: true, Action: "document"}, nil},
		{AuditFilter{AllWorkspaces: true, TargetID: "d1"}, []int64{4, 2}},
		{AuditFilter{AllWorkspaces: true, ActorID: 7}, []int64{2, 1}},
		{AuditFilter{AllWorkspaces: true, ActorEmail: "a@example.com"}, []int64{1}},
		{AuditFilter{AllWorkspaces: true, Since: day.Add(time.Hour), Until: day.Add(3 * time.Hour)}, []int64{3, 2}},
		{AuditFilter{AllWorkspaces: true, Before: 3, Limit: 1}, []int64{2}},
	} {
		rows, err := s.ListAudit(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, r := range rows {
			got = append(got, r.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
		}
	}
}

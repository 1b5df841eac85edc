package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

var allKinds = []string{TaskIngest, TaskEmbed, TaskReindex}

func TestTaskLifecycle(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	s, ws := f.s, f.ws.ID
	d1 := f.doc(t, "one", f.owner) // queues ingest task 1
	d2 := f.doc(t, "two", f.owner) // queues ingest task 2
	embed1, _ := s.EnqueueTask(ctx, NewTask{WorkspaceID: ws, DocumentID: d1.ID, Kind: TaskEmbed, Unique: true})
	if again, _ := s.EnqueueTask(ctx, NewTask{WorkspaceID: ws, DocumentID: d1.ID, Kind: TaskEmbed, Unique: true}); again != embed1 {
		t.Errorf("unique enqueue added task %d next to %d", again, embed1)
	}

	// Ingest first; then the embed of d1 must wait while d1's ingest runs.
	a, _ := s.ClaimTask(ctx, "w1", Claim{Kinds: allKinds})
	b, _ := s.ClaimTask(ctx, "w1", Claim{Kinds: allKinds})
	if a == nil || b == nil || a.Kind != TaskIngest || b.Kind != TaskIngest || a.DocumentID != d1.ID || b.DocumentID != d2.ID {
		t.Fatalf("claimed %+v and %+v", a, b)
	}
	if a.Status != TaskRunning || a.Attempts != 1 || a.LockedBy != "w1" || a.LockedAt == nil {
		t.Errorf("claimed task state %+v", a)
	}
	if c, _ := s.ClaimTask(ctx, "w1", Claim{Kinds: allKinds}); c != nil {
		t.Fatalf("claimed the embed task of a document whose ingest runs: %+v", c)
	}
	if err := s.HeartbeatTask(ctx, a.ID, "w1", 40); err != nil {
		t.Fatal(err)
	}
	if err := s.HeartbeatTask(ctx, a.ID, "someone-else", 40); !errors.Is(err, ErrNotFound) {
		t.Errorf("heartbeat by a stranger: %v", err)
	}
	if err := s.CompleteTask(ctx, a.ID, "w1"); err != nil {
		t.Fatal(err)
	}
	c, _ := s.ClaimTask(ctx, "w1", Claim{Kinds: []string{TaskEmbed}})
	if c == nil || c.ID != embed1 {
		t.Fatalf("embed not claimable after ingest finished: %+v", c)
	}

	// A retryable failure requeues with backoff; a deferral costs no attempt.
	final, err := s.FailTask(ctx, b.ID, "w1", "boom", true, time.Hour)
	if err != nil || final {
		t.Fatalf("fail: final %v, %v", final, err)
	}
	got, _ := s.GetTask(ctx, b.ID)
	if got.Status != TaskQueued || got.LastError != "boom" || time.Until(got.RunAfter) < 59*time.Minute {
		t.Errorf("after retryable failure: %+v", got)
	}
	if due, ok, _ := s.NextTaskDue(ctx, Claim{Kinds: allKinds}); !ok || time.Until(due) < 59*time.Minute {
		t.Errorf("next due %v %v", due, ok)
	}
	if n, _ := s.MakeTasksDue(ctx, TaskIngest); n != 1 {
		t.Errorf("made %d tasks due", n)
	}
	b, _ = s.ClaimTask(ctx, "w1", Claim{Kinds: allKinds})
	if b == nil || b.Attempts != 2 {
		t.Fatalf("reclaim: %+v", b)
	}
	if err := s.DeferTask(ctx, b.ID, "w1", "model server down", 0); err != nil {
		t.Fatal(err)
	}
	b, _ = s.ClaimTask(ctx, "w1", Claim{Kinds: allKinds})
	if b == nil || b.Attempts != 2 {
		t.Fatalf("a deferral counted as an attempt: %+v", b)
	}
	final, _ = s.FailTask(ctx, b.ID, "w1", "broken file", false, 0)
	if !final {
		t.Error("a permanent failure was retried")
	}
	if got, _ := s.GetTask(ctx, b.ID); got.Status != TaskFailed || got.FinishedAt == nil {
		t.Errorf("after permanent failure: %+v", got)
	}

	// Cancelling a running task makes its worker's outcome moot.
	if err := s.CancelTask(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteTask(ctx, c.ID, "w1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("completed a cancelled task: %v", err)
	}
	if err := s.CancelTask(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancelled twice: %v", err)
	}
	list, _ := s.ListTasks(ctx, TaskFilter{Status: TaskCancelled})
	if len(list) != 1 || list[0].ID != c.ID {
		t.Errorf("cancelled tasks: %+v", list)
	}
}

func TestRequeueStale(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	s, ws := f.s, f.ws.ID
	d := f.doc(t, "one", f.owner)
	last, _ := s.EnqueueTask(ctx, NewTask{WorkspaceID: ws, DocumentID: f.doc(t, "two", f.owner).ID, Kind: TaskEmbed, MaxAttempts: 1})
	for _, kind := range []string{TaskIngest, TaskEmbed} {
		if tk, _ := s.ClaimTask(ctx, "dead-process", Claim{Kinds: []string{kind}}); tk == nil {
			t.Fatalf("no %s task to claim", kind)
		}
	}
	// "one"'s ingest and "two"'s embed run; "two"'s ingest is still queued.
	n, gaveUp, err := s.RequeueStale(ctx)
	if err != nil || n != 1 || len(gaveUp) != 1 || gaveUp[0].ID != last {
		t.Fatalf("requeued %d, gave up %+v, %v", n, gaveUp, err)
	}
	tk, _ := s.ClaimTask(ctx, "new-process", Claim{Kinds: []string{TaskIngest}})
	if tk == nil || tk.DocumentID != d.ID || tk.Attempts != 2 {
		t.Errorf("after requeue: %+v", tk)
	}
	if _, err := s.ResetDocument(ctx, ws, d.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("reset while running: %v", err)
	}
	if running, err := s.CancelDocumentTasks(ctx, ws, d.ID); err != nil || len(running) != 1 || running[0] != tk.ID {
		t.Errorf("cancel document tasks: %v, %v", running, err)
	}
	id, err := s.ResetDocument(ctx, ws, d.ID)
	if err != nil || id == 0 {
		t.Fatalf("reset: %d, %v", id, err)
	}
	if doc, _ := s.GetDocument(ctx, ws, d.ID); doc.Status != DocPending {
		t.Errorf("after reset: %+v", doc)
	}
}

func TestRecordUsage(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	for range 3 {
		if _, err := f.s.RecordUsage(ctx, Usage{WorkspaceID: f.ws.ID, UserID: f.alice.ID, Kind: UsageEmbedding, Model: "m",
			InputTokens: 10, Duration: time.Second, CostMicros: 7}); err != nil {
			t.Fatal(err)
		}
	}
	// No user (an uploader whose account is gone) still counts for the workspace.
	if _, err := f.s.RecordUsage(ctx, Usage{WorkspaceID: f.ws.ID, Kind: UsageEmbedding, Model: "m", InputTokens: 5}); err != nil {
		t.Fatal(err)
	}
	u, _ := f.s.UserCosts(ctx, f.alice.ID)
	w, _ := f.s.WorkspaceCosts(ctx, f.ws.ID)
	if u != (CostTotals{21, 30, 0}) || w != (CostTotals{21, 35, 0}) {
		t.Errorf("user %+v workspace %+v", u, w)
	}
	if _, err := f.s.RecordUsage(ctx, Usage{Kind: "bogus", Model: "m"}); err == nil {
		t.Error("unknown usage kind accepted")
	}
}

// One workspace's queue cannot take every worker: with a cap of one running
// task per workspace, workspace B's upload is claimed while three of A's
// wait, and as slots free up the workspaces take turns instead of A's older
// tasks going first.
func TestClaimTaskFairAcrossWorkspaces(t *testing.T) {
	f := newKBFixture(t)
	ctx := context.Background()
	s := f.s
	other, err := s.CreateWorkspace(ctx, f.owner.ID, "Other")
	if err != nil {
		t.Fatal(err)
	}
	docIn := func(wsID, name string) *Document {
		d, _, err := s.CreateDocument(ctx, wsID, NewDocument{Name: name, OriginalFilename: name, FileSize: 1, StoragePath: wsID + "/" + name, UploadedBy: f.owner.ID})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := []*Document{docIn(f.ws.ID, "a1"), docIn(f.ws.ID, "a2"), docIn(f.ws.ID, "a3")}
	b := []*Document{docIn(other.ID, "b1"), docIn(other.ID, "b2")}

	turn := int64(0)
	turns := map[string]int64{}
	claim := func() *Task {
		t.Helper()
		tk, err := s.ClaimTask(ctx, "w", Claim{Kinds: allKinds, PerWorkspace: 1, Turns: turns})
		if err != nil {
			t.Fatal(err)
		}
		if tk != nil {
			turn++
			turns[tk.WorkspaceID] = turn
		}
		return tk
	}
	first, second := claim(), claim()
	if first == nil || second == nil || first.DocumentID != a[0].ID || second.DocumentID != b[0].ID {
		t.Fatalf("claimed %+v then %+v; want a1 then b1", first, second)
	}
	if tk := claim(); tk != nil {
		t.Fatalf("claimed %s while both workspaces are at their cap", tk.DocumentID)
	}
	if _, ok, _ := s.NextTaskDue(ctx, Claim{Kinds: allKinds, PerWorkspace: 1}); ok {
		t.Error("NextTaskDue reports a task no claim may take (the idle runner would spin)")
	}
	// Both finish: A was served before B, so A goes first, then B, then A.
	for _, tk := range []*Task{first, second} {
		if err := s.CompleteTask(ctx, tk.ID, "w"); err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	for range 3 {
		tk := claim()
		if tk == nil {
			t.Fatalf("nothing to claim after %v", order)
		}
		order = append(order, tk.DocumentID)
		if err := s.CompleteTask(ctx, tk.ID, "w"); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{a[1].ID, b[1].ID, a[2].ID}; !slices.Equal(order, want) {
		t.Errorf("claim order %v, want a2, b2, a3 (%v)", order, want)
	}
	if got, _ := s.GetTask(ctx, first.ID); got.MaxAttempts != IngestAttempts {
		t.Errorf("an ingest task gets %d attempts, want %d", got.MaxAttempts, IngestAttempts)
	}
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Task kinds (the CHECK constraint of document_processing_tasks lists them).
const (
	TaskIngest  = "ingest"  // parse, chunk, embed and index an uploaded document
	TaskEmbed   = "embed"   // add the vectors that could not be made during ingest
	TaskReindex = "reindex" // re-embed a document with the instance's new embedding model
)

// Task statuses.
const (
	TaskQueued    = "queued"
	TaskRunning   = "running"
	TaskSucceeded = "succeeded"
	TaskFailed    = "failed"
	TaskCancelled = "cancelled"
)

// Task is a row of the durable job queue.
type Task struct {
	ID          int64
	WorkspaceID string
	DocumentID  string
	Kind        string
	Status      string
	Progress    int
	Attempts    int // claims so far, including the running one
	MaxAttempts int
	RunAfter    time.Time
	LockedBy    string
	LockedAt    *time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  *time.Time
}

// NewTask describes a task to enqueue.
type NewTask struct {
	WorkspaceID string
	DocumentID  string
	Kind        string
	MaxAttempts int       // default 5, for ingest 3 (see IngestAttempts)
	RunAfter    time.Time // default now
	// Unique: when a queued task of this kind exists for the document, keep
	// it instead of adding another (re-index requests pile up otherwise).
	Unique bool
}

const taskCols = `id, coalesce(workspace_id, ''), coalesce(document_id, ''), kind, status, progress, attempts, max_attempts, run_after,
	locked_by, locked_at, last_error, created_at, updated_at, finished_at`

func scanTask(row interface{ Scan(...any) error }) (*Task, error) {
	var t Task
	var runAfter, created, updated string
	var locked, finished sql.NullString
	if err := row.Scan(&t.ID, &t.WorkspaceID, &t.DocumentID, &t.Kind, &t.Status, &t.Progress, &t.Attempts, &t.MaxAttempts, &runAfter,
		&t.LockedBy, &locked, &t.LastError, &created, &updated, &finished); err != nil {
		return nil, notFound(err)
	}
	t.RunAfter, t.CreatedAt, t.UpdatedAt = parseTime(runAfter), parseTime(created), parseTime(updated)
	t.LockedAt, t.FinishedAt = parseNullTime(locked), parseNullTime(finished)
	return &t, nil
}

// EnqueueTask adds a task and returns its id (or, with Unique, the id of the
// queued task already there).
func (s *Store) EnqueueTask(ctx context.Context, nt NewTask) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = enqueueTask(ctx, tx, nt)
		return err
	})
	return id, err
}

// IngestAttempts is how many times an ingest task is claimed before its
// document fails. Fewer than other kinds: an attempt can cost a whole parse
// timeout, and a process that dies during one (even the whole server: the
// attempt is counted when the task is claimed) is most likely the document's
// doing, so it must not be retried for long.
const IngestAttempts = 3

func enqueueTask(ctx context.Context, tx *sql.Tx, nt NewTask) (int64, error) {
	if nt.MaxAttempts <= 0 {
		nt.MaxAttempts = 5
		if nt.Kind == TaskIngest {
			nt.MaxAttempts = IngestAttempts
		}
	}
	runAfter := now()
	if !nt.RunAfter.IsZero() {
		runAfter = formatTime(nt.RunAfter)
	}
	if nt.Unique {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM document_processing_tasks WHERE kind = ? AND status = 'queued'
			AND coalesce(workspace_id, '') = ? AND coalesce(document_id, '') = ? ORDER BY id LIMIT 1`, nt.Kind, nt.WorkspaceID, nt.DocumentID).Scan(&id)
		if err == nil {
			return id, nil
		}
		if err != sql.ErrNoRows {
			return 0, err
		}
	}
	ts := now()
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO document_processing_tasks (workspace_id, document_id, kind, max_attempts, run_after, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, nullString(nt.WorkspaceID), nullString(nt.DocumentID), nt.Kind, nt.MaxAttempts, runAfter, ts, ts).Scan(&id)
	return id, err
}

// Claim says which tasks ClaimTask may take and in what order.
type Claim struct {
	Kinds []string
	// PerWorkspace caps the running tasks of one workspace (0: no cap), so
	// one workspace's uploads cannot take every worker while another's wait.
	PerWorkspace int
	// Turns orders workspaces round-robin: the runner's sequence number of
	// its last claim per workspace. Among tasks of equal priority the
	// workspace served longest ago (or never: absent) goes first.
	Turns map[string]int64
}

// claimable is the condition shared by ClaimTask and NextTaskDue (its
// parameters: the kinds as JSON, then the cap twice): queued, of the given
// kinds, no other task of the same document running (so ingest, embed and
// re-index of one document never overlap), and the workspace under its cap.
const claimable = `t.status = 'queued' AND t.kind IN (SELECT value FROM json_each(?))
	AND (t.document_id IS NULL OR NOT EXISTS (SELECT 1 FROM document_processing_tasks r WHERE r.status = 'running' AND r.document_id = t.document_id))
	AND (? <= 0 OR t.workspace_id IS NULL
		OR (SELECT count(*) FROM document_processing_tasks r WHERE r.status = 'running' AND r.workspace_id = t.workspace_id) < ?)`

// ClaimTask atomically takes the next due, claimable task for owner. Ingest
// tasks go first (a fresh upload should not wait behind a re-index of the
// whole instance), then workspaces take turns (c.Turns), then the oldest
// task. The attempt is counted here, before the handler starts, so a process
// that dies while working on the task has used it up. It returns nil when
// nothing is due.
func (s *Store) ClaimTask(ctx context.Context, owner string, c Claim) (*Task, error) {
	ts := now()
	turns := []byte("{}")
	if len(c.Turns) > 0 {
		var err error
		if turns, err = json.Marshal(c.Turns); err != nil {
			return nil, err
		}
	}
	t, err := scanTask(s.w.QueryRowContext(ctx, `UPDATE document_processing_tasks
		SET status = 'running', locked_by = ?, locked_at = ?, attempts = attempts + 1, updated_at = ?
		WHERE id = (SELECT t.id FROM document_processing_tasks t
			WHERE t.run_after <= ? AND `+claimable+`
			ORDER BY t.kind <> 'ingest', coalesce((SELECT value FROM json_each(?) WHERE key = t.workspace_id), 0), t.run_after, t.id LIMIT 1)
		RETURNING `+taskCols, owner, ts, ts, ts, jsonIDs(c.Kinds), c.PerWorkspace, c.PerWorkspace, string(turns)))
	if err == ErrNotFound {
		return nil, nil
	}
	return t, err
}

// NextTaskDue reports when the earliest claimable queued task becomes due
// (ok false when there is none), so an idle runner sleeps just long enough.
// Tasks waiting for another task of their document, or for a slot of their
// workspace, do not count: the runner looks again when a task ends.
func (s *Store) NextTaskDue(ctx context.Context, c Claim) (at time.Time, ok bool, err error) {
	var v sql.NullString
	err = s.r.QueryRowContext(ctx, `SELECT min(t.run_after) FROM document_processing_tasks t WHERE `+claimable,
		jsonIDs(c.Kinds), c.PerWorkspace, c.PerWorkspace).Scan(&v)
	if err != nil || !v.Valid {
		return time.Time{}, false, err
	}
	return parseTime(v.String), true, nil
}

// HeartbeatTask records progress (0–100) and proves owner still works on the
// task. ErrNotFound means the task is no longer owner's (cancelled or
// requeued): the worker should stop.
func (s *Store) HeartbeatTask(ctx context.Context, id int64, owner string, progress int) error {
	ts := now()
	return affected(s.w.ExecContext(ctx, `UPDATE document_processing_tasks SET progress = ?, locked_at = ?, updated_at = ?
		WHERE id = ? AND status = 'running' AND locked_by = ?`, max(0, min(progress, 100)), ts, ts, id, owner))
}

// CompleteTask marks owner's running task succeeded. ErrNotFound when it is
// no longer owner's (cancelled meanwhile): its outcome is then ignored.
func (s *Store) CompleteTask(ctx context.Context, id int64, owner string) error {
	ts := now()
	return affected(s.w.ExecContext(ctx, `UPDATE document_processing_tasks SET status = 'succeeded', progress = 100, last_error = '',
		locked_by = '', locked_at = NULL, updated_at = ?, finished_at = ? WHERE id = ? AND status = 'running' AND locked_by = ?`, ts, ts, id, owner))
}

// FailTask records a failed attempt of owner's running task. With retry and
// attempts left it is queued again after backoff; otherwise it fails for
// good (final true).
func (s *Store) FailTask(ctx context.Context, id int64, owner, msg string, retry bool, backoff time.Duration) (final bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var attempts, maxAttempts int
		if err := tx.QueryRowContext(ctx, `SELECT attempts, max_attempts FROM document_processing_tasks WHERE id = ? AND status = 'running' AND locked_by = ?`,
			id, owner).Scan(&attempts, &maxAttempts); err != nil {
			return notFound(err)
		}
		ts := now()
		if retry && attempts < maxAttempts {
			_, err := tx.ExecContext(ctx, `UPDATE document_processing_tasks SET status = 'queued', last_error = ?, locked_by = '', locked_at = NULL,
				run_after = ?, updated_at = ? WHERE id = ?`, msg, formatTime(time.Now().Add(backoff)), ts, id)
			return err
		}
		final = true
		_, err := tx.ExecContext(ctx, `UPDATE document_processing_tasks SET status = 'failed', last_error = ?, locked_by = '', locked_at = NULL,
			updated_at = ?, finished_at = ? WHERE id = ?`, msg, ts, ts, id)
		return err
	})
	return final, err
}

// DeferTask puts owner's running task back in the queue for after, without
// counting the attempt: for waits on something outside the task (the model
// server being down), which must not use up its retries.
func (s *Store) DeferTask(ctx context.Context, id int64, owner, msg string, after time.Duration) error {
	return affected(s.w.ExecContext(ctx, `UPDATE document_processing_tasks SET status = 'queued', attempts = max(attempts - 1, 0), last_error = ?,
		locked_by = '', locked_at = NULL, run_after = ?, updated_at = ? WHERE id = ? AND status = 'running' AND locked_by = ?`,
		msg, formatTime(time.Now().Add(after)), now(), id, owner))
}

// ReleaseTask gives owner's running task back to the queue at once, without
// counting the attempt (the runner is shutting down).
func (s *Store) ReleaseTask(ctx context.Context, id int64, owner string) error {
	return s.DeferTask(ctx, id, owner, "", 0)
}

// CancelTask cancels a queued or running task; ErrNotFound when there is no
// such task or it has finished. A running task's worker notices at its next
// heartbeat or when its runner cancels its context.
func (s *Store) CancelTask(ctx context.Context, id int64) error {
	ts := now()
	return affected(s.w.ExecContext(ctx, `UPDATE document_processing_tasks SET status = 'cancelled', locked_by = '', locked_at = NULL,
		updated_at = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')`, ts, ts, id))
}

// CancelDocumentTasks cancels every queued or running task of a document and
// returns the ids of those that were running.
func (s *Store) CancelDocumentTasks(ctx context.Context, wsID, docID string) ([]int64, error) {
	var running []int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM document_processing_tasks WHERE workspace_id = ? AND document_id = ? AND status = 'running'`, wsID, docID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			running = append(running, id)
		}
		rows.Close()
		ts := now()
		_, err = tx.ExecContext(ctx, `UPDATE document_processing_tasks SET status = 'cancelled', locked_by = '', locked_at = NULL, updated_at = ?, finished_at = ?
			WHERE workspace_id = ? AND document_id = ? AND status IN ('queued', 'running')`, ts, ts, wsID, docID)
		return err
	})
	return running, err
}

// MakeTasksDue moves every queued task of kind forward to now (for example
// the embed tasks waiting for the model server, once it answers again).
func (s *Store) MakeTasksDue(ctx context.Context, kind string) (int64, error) {
	ts := now()
	res, err := s.w.ExecContext(ctx, `UPDATE document_processing_tasks SET run_after = ?, updated_at = ? WHERE status = 'queued' AND kind = ? AND run_after > ?`,
		ts, ts, kind, ts)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// RequeueStale is for startup, before any worker runs: every task still
// marked running belongs to a process that died. Those with attempts left are
// queued again (their work is idempotent); those that have used them all
// (a document that crashes the process every time) fail, and are returned so
// the caller can mark their documents failed.
func (s *Store) RequeueStale(ctx context.Context) (requeued int64, gaveUp []Task, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		ts := now()
		rows, err := tx.QueryContext(ctx, `UPDATE document_processing_tasks SET status = 'failed', locked_by = '', locked_at = NULL,
			last_error = ?, updated_at = ?, finished_at = ? WHERE status = 'running' AND attempts >= max_attempts RETURNING `+taskCols,
			"the server stopped while working on this task on every attempt", ts, ts)
		if err != nil {
			return err
		}
		for rows.Next() {
			t, err := scanTask(rows)
			if err != nil {
				rows.Close()
				return err
			}
			gaveUp = append(gaveUp, *t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// run_after stays: the tasks were due already and keep their place in line.
		res, err := tx.ExecContext(ctx, `UPDATE document_processing_tasks SET status = 'queued', locked_by = '', locked_at = NULL,
			updated_at = ? WHERE status = 'running'`, ts)
		if err != nil {
			return err
		}
		requeued, err = res.RowsAffected()
		return err
	})
	return requeued, gaveUp, err
}

// GetTask loads a task by id.
func (s *Store) GetTask(ctx context.Context, id int64) (*Task, error) {
	return scanTask(s.r.QueryRowContext(ctx, `SELECT `+taskCols+` FROM document_processing_tasks WHERE id = ?`, id))
}

// TaskFilter selects tasks for ListTasks; zero fields select everything.
type TaskFilter struct {
	Status      string
	Kind        string
	WorkspaceID string
	DocumentID  string
	BeforeID    int64 // page: tasks with smaller ids
	Limit       int
}

// ListTasks pages through tasks, newest first (for the instance admin's job list).
func (s *Store) ListTasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	if f.BeforeID <= 0 {
		f.BeforeID = 1 << 62
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+taskCols+` FROM document_processing_tasks WHERE id < ?
		AND (? = '' OR status = ?) AND (? = '' OR kind = ?) AND (? = '' OR workspace_id = ?) AND (? = '' OR document_id = ?)
		ORDER BY id DESC LIMIT ?`, f.BeforeID, f.Status, f.Status, f.Kind, f.Kind, f.WorkspaceID, f.WorkspaceID, f.DocumentID, f.DocumentID, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// ResetDocument prepares a document for processing again (re-process): its
// chunks, FTS rows and vectors go, its state returns to pending, its queued
// tasks are cancelled and a fresh ingest task is queued — one transaction.
// Running tasks of the document must have been stopped first (the job
// runner's CancelDocument); ErrConflict if one still runs.
func (s *Store) ResetDocument(ctx context.Context, wsID, docID string) (taskID int64, err error) {
	err = s.vtx(ctx, func(tx *sql.Tx, vl *vecLog) error {
		if err := requireDocument(ctx, tx, wsID, docID); err != nil {
			return err
		}
		var running int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM document_processing_tasks WHERE workspace_id = ? AND document_id = ? AND status = 'running'`,
			wsID, docID).Scan(&running); err != nil {
			return err
		}
		if running > 0 {
			return fmt.Errorf("%w: the document is being processed", ErrConflict)
		}
		if err := deleteChunks(ctx, tx, vl, wsID, docID, 0); err != nil {
			return err
		}
		ts := now()
		if _, err := tx.ExecContext(ctx, `UPDATE document_processing_tasks SET status = 'cancelled', updated_at = ?, finished_at = ?
			WHERE workspace_id = ? AND document_id = ? AND status = 'queued'`, ts, ts, wsID, docID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE documents SET status = 'pending', progress = 0, processing_error = '', chunk_count = 0,
			embedding_model = '', updated_at = ? WHERE workspace_id = ? AND id = ?`, ts, wsID, docID); err != nil {
			return err
		}
		taskID, err = enqueueTask(ctx, tx, NewTask{WorkspaceID: wsID, DocumentID: docID, Kind: TaskIngest})
		return err
	})
	return taskID, err
}

package jobs

import (
	"context"
	"errors"

	"quire/store"
)

// Task is the task a handler works on.
type Task struct {
	store.Task
	r *Runner
}

// Progress records how far the task is (0–100) and doubles as a heartbeat.
// It returns ErrCancelled once the task has been cancelled or taken from this
// runner, so a loop can stop even before its context notices.
func (t *Task) Progress(ctx context.Context, pct int) error {
	err := t.r.st.HeartbeatTask(ctx, t.ID, t.r.cfg.Owner, pct)
	if errors.Is(err, store.ErrNotFound) {
		return ErrCancelled
	}
	return err
}

// Permanent marks an error that retrying cannot fix (a damaged file): the
// task fails at once, whatever attempts it has left.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Defer marks an error that is nobody's fault and passes by itself (the
// model server is down): the task goes back in the queue without using an
// attempt, and waits longer the longer the outage lasts (see Config.DeferMin).
func Defer(err error) error {
	if err == nil {
		return nil
	}
	return &deferError{err}
}

type deferError struct{ err error }

func (e *deferError) Error() string { return e.err.Error() }
func (e *deferError) Unwrap() error { return e.err }

func isDefer(err error) bool {
	var d *deferError
	return errors.As(err, &d)
}

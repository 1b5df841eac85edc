// Package fault is the vocabulary of errors that use cases return and the
// HTTP layer maps to docs/API.md's shapes in one place. A use case says what went
// wrong in a person's words (Message) and what kind of failure it is (Kind);
// it never picks a status code.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Kind is what a caller can do about an error.
type Kind int

const (
	Invalid     Kind = iota + 1 // the input is wrong: fix it (400)
	NotFound                    // it does not exist, or not for this caller (404)
	Forbidden                   // it exists, but this caller may not (403)
	Conflict                    // the state does not allow it now (409)
	Gone                        // it existed and is used up or expired (410)
	TooLarge                    // the input is over a size limit (413)
	Unsupported                 // the input's type is not one that is handled (415)
	Quota                       // the plan's allowance is spent (402)
	RateLimited                 // too much at once: retry after RetryAfter (429)
	Unavailable                 // a part it depends on (the model server) is down (503)
	Failed                      // a part it depends on failed while working (502)
)

// Error is a use case's failure.
type Error struct {
	Kind       Kind
	Code       string        // docs/API.md code when it is more specific than the kind's (e.g. "model_not_found")
	Message    string        // a sentence a person can act on
	Field      string        // the input field at fault, if one is
	RetryAfter time.Duration // for RateLimited
	Err        error         // the cause, for logs and errors.Is
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// New makes an error of a kind with a formatted message.
func New(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, a...)}
}

// Field makes an Invalid error about one input field.
func Field(field, format string, a ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, a...)}
}

// As returns the *Error inside err, if there is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err is a fault of kind k.
func Is(err error, k Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == k
}

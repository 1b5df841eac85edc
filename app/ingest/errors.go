package ingest

import (
	"errors"
	"fmt"
	"strings"
)

// Error classes. Match them with errors.Is; the HTTP layer maps
// ErrUnsupported to 415 and the others to a failed document with the message.
var (
	ErrUnsupported = errors.New("unsupported file type")
	ErrEncrypted   = errors.New("file is encrypted")
	ErrTooLarge    = errors.New("file is too large")
	ErrNoText      = errors.New("no extractable text")
	ErrDamaged     = errors.New("file is damaged")
	ErrTimeout     = errors.New("parsing took too long")
)

// Error is a Detect or Parse failure. Error() is a complete sentence fragment
// meant for the person who uploaded the file, e.g. "the file is
// password-protected; remove the password and upload it again".
type Error struct {
	Class error  // one of the Err* class sentinels
	Msg   string // message for people
	Cause error  // underlying error for logs and errors.Is; may be nil
}

func (e *Error) Error() string { return e.Msg }

// Unwrap exposes both the class and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Class}
	}
	return []error{e.Class, e.Cause}
}

func newError(class error, cause error, format string, args ...any) *Error {
	return &Error{Class: class, Msg: fmt.Sprintf(format, args...), Cause: cause}
}

func unsupported(format string, args ...any) error {
	return newError(ErrUnsupported, nil, format, args...)
}

func tooLarge(format string, args ...any) error {
	return newError(ErrTooLarge, nil, format, args...)
}

func encrypted(cause error) error {
	return newError(ErrEncrypted, cause, "the file is encrypted or password-protected; remove the password and upload it again")
}

// damaged wraps a low-level parser error. The detail is kept in the message
// because "line 3: unexpected EOF" helps someone find the broken part.
func damaged(k Kind, cause error) error {
	var e *Error
	if errors.As(cause, &e) {
		return cause
	}
	if cause == nil {
		return newError(ErrDamaged, nil, "the %s is damaged or not a valid %s file", k.label(), strings.ToUpper(string(k)))
	}
	return newError(ErrDamaged, cause, "the %s is damaged or not a valid %s file (%v)", k.label(), strings.ToUpper(string(k)), cause)
}

// humanInt formats n with thousands separators: 1000000 → "1,000,000".
func humanInt(n int64) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

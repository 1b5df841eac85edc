package llm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/ollama/ollama/api"

	"quire/app/fault"
)

var (
	// ErrUnavailable matches every error meaning the model server cannot
	// serve the model now: unreachable, too slow, model not installed,
	// server-side failure. The errors carrying it are fault.Unavailable
	// (HTTP: 503 model_unavailable).
	ErrUnavailable = errors.New("model server unavailable")
	// ErrModelNotFound additionally matches a model that is not installed.
	ErrModelNotFound = errors.New("model not installed")
	// ErrIncomplete means a chat stream ended without Ollama's final done
	// message (a dropped connection): the reply is partial.
	ErrIncomplete = errors.New("the model server stopped before finishing the reply")
)

// UnavailableError explains why the model server could not serve a call.
// Its message is written for the person who has to fix it.
type UnavailableError struct {
	URL     string
	Model   string
	Reason  string
	Missing bool  // the model is not installed
	Err     error // the underlying error, for logs
}

func (e *UnavailableError) Error() string { return e.Reason }

func (e *UnavailableError) Is(target error) bool {
	return target == ErrUnavailable || (e.Missing && target == ErrModelNotFound)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// classify turns an error of the official client into a fault.Unavailable
// wrapping an *UnavailableError when it means the server cannot serve the
// model (base is the host's URL); a request the server refused (an embedding model asked to chat)
// becomes fault.Invalid on the field "model"; the caller's own cancellation
// comes back unchanged.
func classify(ctx context.Context, base string, err error, model string) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return err // the caller gave up; nothing is wrong with the server
	}
	ue := &UnavailableError{URL: base, Model: model, Err: err}
	var se api.StatusError
	var ne net.Error
	var urlErr *url.Error
	switch {
	case errors.As(err, &se) && se.StatusCode == http.StatusNotFound:
		ue.Missing = true
		ue.Reason = fmt.Sprintf("the model %q is not installed on the Ollama server at %s; install it with `ollama pull %s` or choose another model in the admin settings",
			model, base, model)
	case errors.As(err, &se) && se.StatusCode >= 500:
		ue.Reason = fmt.Sprintf("the Ollama server at %s failed with the model %q (%d %s); check its log", base, model, se.StatusCode, se.ErrorMessage)
	case errors.As(err, &se):
		f := &fault.Error{Kind: fault.Invalid, Field: "model", Err: err,
			Message: fmt.Sprintf("the Ollama server refused the request for %q: %s", model, se.ErrorMessage)}
		switch msg := strings.ToLower(se.ErrorMessage); {
		case strings.Contains(msg, "context length") || strings.Contains(msg, "context window"):
			f.Field, f.Code = "messages", "context_length_exceeded"
		case strings.Contains(msg, "tools"):
			f.Field = "tools"
		case strings.Contains(msg, "image") || strings.Contains(msg, "vision"):
			f.Field = "messages"
		}
		return f
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		ue.Reason = fmt.Sprintf("the Ollama server at %s did not answer in time; it may be overloaded or still loading the model", base)
	case errors.Is(err, syscall.ECONNREFUSED):
		ue.Reason = fmt.Sprintf("cannot reach the Ollama server at %s (connection refused); start Ollama or correct its URL in the admin settings", base)
	case errors.As(err, &urlErr) || errors.As(err, &ne):
		ue.Reason = fmt.Sprintf("cannot reach the Ollama server at %s (%v); start Ollama or correct its URL in the admin settings", base, err)
	default:
		return err
	}
	return ue.fault()
}

// fault is the use-case form of the error: HTTP answers it 503 model_unavailable.
func (e *UnavailableError) fault() error {
	return &fault.Error{Kind: fault.Unavailable, Message: e.Reason, Err: e}
}

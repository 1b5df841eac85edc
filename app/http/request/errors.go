package request

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/fault"
)

// APIError is an error with its place in docs/API.md's error contract.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *APIError) Error() string { return e.Message }

func Errorf(status int, code, format string, a ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

func Invalid(field, format string, a ...any) *APIError {
	e := Errorf(fiber.StatusBadRequest, "invalid_request", format, a...)
	e.Field = field
	return e
}

func BadRequest(format string, a ...any) *APIError {
	return Errorf(fiber.StatusBadRequest, "invalid_request", format, a...)
}

func Unauthenticated(msg string) *APIError {
	return Errorf(fiber.StatusUnauthorized, "unauthenticated", "%s", msg)
}

func Forbidden(format string, a ...any) *APIError {
	return Errorf(fiber.StatusForbidden, "forbidden", format, a...)
}

func NotFound(what string) *APIError {
	return Errorf(fiber.StatusNotFound, "not_found", "%s not found", what)
}

func Conflict(format string, a ...any) *APIError {
	return Errorf(fiber.StatusConflict, "conflict", format, a...)
}

func TooLarge(format string, a ...any) *APIError {
	return Errorf(fiber.StatusRequestEntityTooLarge, "payload_too_large", format, a...)
}

func RateLimited(retryAfterSeconds int) *APIError {
	return Errorf(fiber.StatusTooManyRequests, "rate_limited", "too many attempts; try again in %s", HumanSeconds(retryAfterSeconds))
}

func HumanSeconds(s int) string {
	if s < 90 {
		return strconv.Itoa(s) + " seconds"
	}
	return strconv.Itoa((s+59)/60) + " minutes"
}

// codeForStatus names errors that did not come from our handlers (the router's
// 404 and 405, fasthttp's 413).
func codeForStatus(status int) string {
	switch status {
	case 400:
		return "invalid_request"
	case 401:
		return "unauthenticated"
	case 402:
		return "quota_exceeded"
	case 403:
		return "forbidden"
	case 404, 405:
		return "not_found"
	case 409:
		return "conflict"
	case 410:
		return "gone"
	case 413:
		return "payload_too_large"
	case 415:
		return "unsupported_media_type"
	case 429:
		return "rate_limited"
	case 503:
		return "model_unavailable"
	}
	return "internal"
}

// ToAPIError converts any handler error into the contract's shape.
func ToAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	if f, ok := fault.As(err); ok {
		return FaultError(f)
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		switch fe.Code {
		case fiber.StatusNotFound:
			msg = "no such endpoint or page"
		case fiber.StatusMethodNotAllowed:
			return Errorf(fiber.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this path")
		case fiber.StatusRequestEntityTooLarge:
			msg = "request body is larger than this server accepts"
		}
		return Errorf(fe.Code, codeForStatus(fe.Code), "%s", msg)
	}
	return nil
}

// faultStatus is the one mapping of use-case failures to HTTP: status and
// docs/API.md's code for each kind.
var faultStatus = map[fault.Kind]struct {
	status int
	code   string
}{
	fault.Invalid: {400, "invalid_request"}, fault.NotFound: {404, "not_found"}, fault.Forbidden: {403, "forbidden"},
	fault.Conflict: {409, "conflict"}, fault.Gone: {410, "gone"}, fault.TooLarge: {413, "payload_too_large"},
	fault.Unsupported: {415, "unsupported_media_type"}, fault.Quota: {402, "quota_exceeded"},
	fault.RateLimited: {429, "rate_limited"}, fault.Unavailable: {503, "model_unavailable"}, fault.Failed: {502, "model_failed"},
}

func FaultError(f *fault.Error) *APIError {
	m, ok := faultStatus[f.Kind]
	if !ok {
		m.status, m.code = 500, "internal"
	}
	ae := &APIError{Status: m.status, Code: m.code, Message: f.Message, Field: f.Field}
	if f.Code != "" {
		ae.Code = f.Code
	}
	return ae
}

// DecodeJSON reads a JSON object body into v and explains what is wrong with it
// when it cannot: a person reading the message should know what to change.
// Unknown fields are refused, so a typo is an error rather than silently ignored.
func DecodeJSON(c *fiber.Ctx, v any) error { return DecodeBody(c, v, true) }

// DecodeJSONLenient accepts unknown fields: OpenAI clients send many we do not use.
func DecodeJSONLenient(c *fiber.Ctx, v any) error { return DecodeBody(c, v, false) }

func DecodeBody(c *fiber.Ctx, v any, strict bool) error {
	body := c.Body()
	if len(strings.TrimSpace(string(body))) == 0 {
		return BadRequest("request body is empty; send a JSON object")
	}
	if ct := string(c.Request().Header.ContentType()); !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		return Errorf(fiber.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json (got %q)", ct)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("malformed JSON: unexpected data after the JSON object")
	}
	return nil
}

func jsonProblem(err error) *APIError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return BadRequest("malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return BadRequest("the body must be a JSON object, not %s", typ.Value)
		}
		return Invalid(typ.Field, "field %q must be %s, not %s", typ.Field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("malformed JSON: the body ends before the JSON object is complete")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Invalid(f, "unknown field %q", f)
	}
	return BadRequest("malformed JSON: %s", err.Error())
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// RetryAfter is 429 with the Retry-After header set to d (at least a second).
func RetryAfter(c *fiber.Ctx, d time.Duration) *APIError {
	secs := int(d.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return RateLimited(secs)
}

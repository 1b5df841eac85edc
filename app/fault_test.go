package app

import (
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/fault"
	"quire/app/http/request"
)

// Use cases return faults; the HTTP layer maps each kind to docs/API.md's status
// and code in one place, with Retry-After for rate limits.
func TestFaultsMapToTheContract(t *testing.T) {
	ts := newTestServer(t)
	ts.srv.App().Get("/api/test-fault", func(c *fiber.Ctx) error {
		return &fault.Error{Kind: fault.RateLimited, Message: "slow down", RetryAfter: 3 * time.Second}
	})
	res := ts.do(req{method: "GET", path: "/api/test-fault"})
	if res.Status != 429 || res.errCode() != "rate_limited" || res.Header.Get("Retry-After") != "3" {
		t.Fatalf("%d %s %v", res.Status, res.Body, res.Header)
	}
	for k, want := range map[fault.Kind]int{fault.Invalid: 400, fault.NotFound: 404, fault.Quota: 402, fault.Unavailable: 503, fault.TooLarge: 413} {
		if got := request.FaultError(&fault.Error{Kind: k}).Status; got != want {
			t.Errorf("kind %d → %d, want %d", k, got, want)
		}
	}
	if ae := request.FaultError(&fault.Error{Kind: fault.NotFound, Code: "model_not_found", Field: "model"}); ae.Code != "model_not_found" || ae.Field != "model" {
		t.Errorf("specific code or field lost: %+v", ae)
	}
}

// Package http is Quire's HTTP surface and the only package that imports
// Fiber: the route table, authentication and the one authorisation layer, how
// much of each body is read, and the mapping of every error to docs/API.md's
// shapes. Handlers live in its subpackages: api (the JSON API), openai (the
// OpenAI-compatible /v1) and ui (the HTML pages); they call the use cases in
// the packages below (account, answer, knowledge, plan, …) through deps.Deps.
package http

import (
	"io/fs"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/fault"
	"quire/app/http/api"
	"quire/app/http/deps"
	"quire/app/http/mcp"
	"quire/app/http/openai"
	"quire/app/http/request"
	"quire/app/http/ui"
	"quire/app/limit"
	"quire/store"
)

// Server routes requests to the handlers.
type Server struct {
	*deps.Deps
	fiber   *fiber.App
	api     *api.Handlers
	openai  *openai.Handlers
	mcp     *mcp.Handlers
	ui      *ui.Pages
	v1Calls *limit.Limiter // /v1 requests per API key per minute (nil: unlimited)
	touched sync.Map       // token id → time of the last last_used_at write
}

// New builds the HTTP server over the dependencies; web is the embedded UI
// (templates, static).
func New(d *deps.Deps, web fs.FS) (*Server, error) {
	s := &Server{Deps: d}
	if d.Config.V1RequestsPerMinute > 0 {
		s.v1Calls = limit.New(d.Config.V1RequestsPerMinute, time.Minute)
	}
	var err error
	s.api = &api.Handlers{Deps: d}
	s.openai = &openai.Handlers{Deps: d}
	s.mcp = mcp.New(d)
	if s.ui, err = ui.New(d, s.api, web); err != nil {
		return nil, err
	}
	s.fiber = fiber.New(fiber.Config{
		AppName:               "quire",
		DisableStartupMessage: true,
		// Bodies are streamed, so that none is read before its route and caller
		// are known (request/bodies.go); without the multipart pre-parse, fasthttp
		// would read a whole upload to memory or disk before any handler.
		// BodyLimit is then only where fasthttp stops buffering and starts streaming.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    d.Config.MaxBodyKB << 10,
		ReadTimeout:                  d.Config.ReadTimeout.Duration, // slowloris (read_timeout, default 30s); uploads must fit in it
		WriteTimeout:                 0,                             // streamed replies may last minutes
		IdleTimeout:                  120 * time.Second,
		ErrorHandler:                 s.handleError,
		ProxyHeader:                  "",
	})
	s.register(web)
	return s, nil
}

// App exposes the Fiber app (tests call its Test method).
func (s *Server) App() *fiber.App { return s.fiber }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.fiber.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown(timeout time.Duration) error { return s.fiber.ShutdownWithTimeout(timeout) }

// handleError renders every error in the contract's shape: JSON for the API,
// an HTML page for the UI. Unexpected errors are logged and reported as internal.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	ae := request.ToAPIError(err)
	if ae == nil && store.IsDiskFull(err) {
		s.Log.Error("disk full", "method", c.Method(), "path", c.Path(), "err", err)
		ae = request.Errorf(fiber.StatusInsufficientStorage, "insufficient_storage", "the server's disk is full, so nothing was saved; an administrator needs to free space (quire doctor shows how much is left)")
	}
	if ae == nil {
		s.Log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
		ae = request.Errorf(fiber.StatusInternalServerError, "internal", "something went wrong on the server; it has been logged")
	}
	if f, ok := fault.As(err); ok && f.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(f.RetryAfter.Seconds()+0.999)))
	}
	if ae.Status == fiber.StatusTooManyRequests && c.GetRespHeader(fiber.HeaderRetryAfter) == "" {
		c.Set(fiber.HeaderRetryAfter, "60")
	}
	if isV1Path(c.Path()) {
		status, body := openai.ErrorBody(err, ae)
		return c.Status(status).JSON(fiber.Map{"error": body})
	}
	if isPagePath(c.Path()) {
		request.ForgetBoundKey(c) // also on paths that match no route: the layout would list the key owner's workspaces
		return s.ui.RenderError(c, ae)
	}
	return c.Status(ae.Status).JSON(fiber.Map{"error": ae})
}

// isV1Path is the OpenAI-compatible API, whose errors take OpenAI's shape.
func isV1Path(p string) bool { return p == "/v1" || strings.HasPrefix(p, "/v1/") }

// isPagePath tells UI pages from API calls for error rendering: everything a
// program calls (the API, /v1, /mcp, /metrics for Prometheus, static files)
// answers errors in the JSON shape, whatever went wrong.
func isPagePath(p string) bool {
	for _, api := range []string{"/api", "/v1", "/mcp", "/metrics", "/static"} {
		if rest, ok := strings.CutPrefix(p, api); ok && (rest == "" || rest[0] == '/') {
			return false
		}
	}
	return true
}

package http

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"quire/app/auth"
	"quire/app/fault"
	"quire/app/http/request"
	"quire/app/knowledge"
	"quire/app/ops"
	"quire/store"
)

// securityHeaders sets the headers every response carries.
func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	return c.Next()
}

// requestID gives every response an x-request-id: the client's own when it
// sent a sane one, else a new one.
func requestID(c *fiber.Ctx) error {
	id := c.Get("X-Request-Id")
	if id == "" || len(id) > 128 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		id = "req_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	c.Set("X-Request-Id", id)
	return c.Next()
}

// v1CORS lets browser clients call /v1 from the origins in v1_cors_origins
// ("*" by default). /v1 is authenticated by bearer keys only, never by the
// session cookie's ambient authority, so no credentials are allowed; preflights
// are answered here, before authentication (browsers send none with them).
func (s *Server) v1CORS(c *fiber.Ctx) error {
	origin := c.Get(fiber.HeaderOrigin)
	if !isV1Path(c.Path()) || origin == "" {
		return c.Next()
	}
	allowed := false
	for o := range strings.SplitSeq(s.Config.V1CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o == "*" || strings.EqualFold(o, origin) {
			allowed = true
		}
	}
	if !allowed {
		return c.Next() // no CORS headers: the browser refuses the answer
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Append(fiber.HeaderVary, fiber.HeaderOrigin)
	c.Set(fiber.HeaderAccessControlExposeHeaders, "X-Request-Id, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining")
	if c.Method() == fiber.MethodOptions && c.Get(fiber.HeaderAccessControlRequestMethod) != "" {
		c.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST, OPTIONS")
		h := c.Get(fiber.HeaderAccessControlRequestHeaders)
		if h == "" {
			h = "Authorization, Content-Type"
		}
		c.Set(fiber.HeaderAccessControlAllowHeaders, h)
		c.Set(fiber.HeaderAccessControlMaxAge, "600")
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Next()
}

// v1RateLimit bounds /v1 requests per API key (v1_requests_per_minute): 429 with Retry-After.
func (s *Server) v1RateLimit(c *fiber.Ctx) error {
	if s.v1Calls == nil {
		return c.Next()
	}
	id := request.Identity(c)
	if id == nil || id.Token == nil {
		return c.Next()
	}
	ok, wait := s.v1Calls.Take(strconv.FormatInt(id.Token.ID, 10))
	if !ok {
		return &fault.Error{Kind: fault.RateLimited, RetryAfter: wait,
			Message: fmt.Sprintf("this API key made more than %d requests in a minute; retry after %s", s.Config.V1RequestsPerMinute, request.HumanSeconds(int(wait.Seconds()+0.999)))}
	}
	return c.Next()
}

// logRequests writes one structured line per request.
func (s *Server) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		if ae := request.ToAPIError(err); ae != nil {
			status = ae.Status
		} else {
			status = fiber.StatusInternalServerError
		}
	}
	s.observeRequest(c, status, time.Since(start)) // Prometheus metrics (observeRequest, below)
	s.Log.Debug("request", "method", c.Method(), "path", c.Path(), "status", status, "ms", time.Since(start).Milliseconds())
	return err
}

// authenticate resolves the caller from a bearer token or the session cookie.
// Cookie-authenticated unsafe requests must carry the session's CSRF token; a
// bearer token is never sent by a browser on its own, so it needs none.
func (s *Server) authenticate(c *fiber.Ctx) error {
	secret, viaCookie := "", false
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		var ok bool
		secret, ok = strings.CutPrefix(h, "Bearer ")
		if !ok || secret == "" {
			return request.Unauthenticated("the Authorization header must be \"Bearer <token>\"")
		}
	} else if v := c.Cookies(request.SessionCookie); v != "" {
		secret, viaCookie = v, true
	}
	if secret == "" {
		return c.Next()
	}
	hash := auth.HashToken(secret)
	tok, user, err := s.Store.Authenticate(c.UserContext(), hash)
	if errors.Is(err, store.ErrNotFound) {
		if viaCookie { // a stale cookie makes the visitor anonymous, not an error
			c.ClearCookie(request.SessionCookie)
			return c.Next()
		}
		return request.Unauthenticated("the token is unknown, revoked or expired; sign in again")
	}
	if err != nil {
		return err
	}
	if viaCookie && isUnsafe(c.Method()) {
		if !sameOrigin(c) || !auth.CheckCSRF(s.Secret, hash, csrfPresented(c)) {
			return request.Forbidden("the CSRF token is missing or wrong; reload the page and try again")
		}
	}
	s.touch(c, tok.ID)
	request.SetIdentity(c, &request.Caller{User: user, Token: tok, TokenHash: hash, ViaCookie: viaCookie})
	return c.Next()
}

// touch records a token's use at most once a minute, remembering the last write
// in memory so that authenticated reads never queue behind the single writer.
func (s *Server) touch(c *fiber.Ctx, tokenID int64) {
	now := time.Now()
	if last, ok := s.touched.Load(tokenID); ok && now.Sub(last.(time.Time)) < time.Minute {
		return
	}
	s.touched.Store(tokenID, now)
	_ = s.Store.TouchToken(c.UserContext(), tokenID)
}

func isUnsafe(method string) bool {
	switch method {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return false
	}
	return true
}

// csrfPresented is the X-CSRF-Token header. The token is never read from a form
// field: that would read (and parse) the body before the route decided how much
// of it to accept, and no page posts forms.
func csrfPresented(c *fiber.Ctx) string { return c.Get("X-CSRF-Token") }

// sameOrigin is true unless the request's Origin names another host, or is
// "null" (sandboxed frames, cross-site redirects). A request without Origin
// passes: the CSRF token, checked next to it, is what guards those.
func sameOrigin(c *fiber.Ctx) bool {
	o := c.Get(fiber.HeaderOrigin)
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == string(c.Request().Host())
}

// Access levels of the route table. Each route names one; authorize enforces it,
// so no handler checks roles itself.
type Access int

const (
	Public        Access = iota // anyone, signed in or not
	SignedIn                    // any signed-in user
	InstanceAdmin               // instance administrators
	WSMember                    // members of the {ws} workspace
	WSAdmin                     // admins and the owner of {ws}
	WSOwner                     // the owner of {ws}
	TeamManager                 // the owner of team {team}, or an admin of {ws}
	FolderOwner                 // the member who owns folder {id} in {ws}
	ChatOwner                   // the member who owns chat {chat} in {ws}
	ChatReader                  // the owner of chat {chat}, or a member it is shared with
	WorkspaceKey                // a personal API key bound to a workspace its owner belongs to (/v1)
	KBReader                    // a member who can see knowledge base {kb}
	KBManager                   // an admin of {ws}, or the creator of knowledge base {kb}
	DocReader                   // a member who can see document {doc}
	DocManager                  // an admin of {ws}, or the uploader of document {doc}
)

func (a Access) String() string {
	return [...]string{"public", "signed-in", "instance-admin", "ws-member", "ws-admin", "ws-owner", "team-manager", "folder-owner", "chat-owner", "chat-reader", "workspace-key", "kb-reader", "kb-manager", "doc-reader", "doc-manager"}[a]
}

func (a Access) MinRole() string {
	switch a {
	case WSOwner:
		return store.RoleOwner
	case WSAdmin:
		return store.RoleAdmin
	case WSMember, TeamManager, FolderOwner, ChatOwner, ChatReader, KBReader, KBManager, DocReader, DocManager:
		return store.RoleMember
	}
	return ""
}

// authorize is the one place where access is decided. Outsiders of a workspace
// get 404 (its existence is not leaked), members whose role is too low get 403.
func (s *Server) authorize(r Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if r.Page {
			request.ForgetBoundKey(c)
		}
		if r.Access == Public {
			return c.Next()
		}
		id := request.Identity(c)
		if id == nil {
			if r.Page {
				return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
			}
			return request.Unauthenticated("sign in or send \"Authorization: Bearer <token>\"")
		}
		if err := s.confineKey(c, r, id); err != nil {
			return err
		}
		switch r.Access {
		case InstanceAdmin:
			if !id.User.IsAdmin {
				return request.Forbidden("only instance administrators can do this")
			}
		case WorkspaceKey:
			if id.Token.Kind != store.TokenAPIKey || id.BoundWorkspace() == "" {
				return request.Forbidden("use a personal API key created for a workspace (Account → API keys)")
			}
			ws, err := s.loadKeyWorkspace(c, id)
			if err != nil {
				return err
			}
			if err := s.Plan.APIAccess(c.UserContext(), ws.ID); err != nil {
				return err // the workspace's plan has no API access (402)
			}
			request.SetWorkspace(c, ws)
		case WSMember, WSAdmin, WSOwner, TeamManager, FolderOwner, ChatOwner, ChatReader, KBReader, KBManager, DocReader, DocManager:
			wsID := c.Params("ws")
			ws, err := s.Store.WorkspaceForUser(c.UserContext(), wsID, id.User.ID)
			if errors.Is(err, store.ErrNotFound) {
				return request.NotFound("workspace")
			}
			if err != nil {
				return err
			}
			if store.RoleRank(ws.Role) < store.RoleRank(r.Access.MinRole()) {
				return request.Forbidden("this needs the %s role in this workspace; yours is %s", r.Access.MinRole(), ws.Role)
			}
			request.SetWorkspace(c, ws)
			if err := s.authorizeResource(c, r.Access, ws, id.User); err != nil {
				return err
			}
			if r.Access != TeamManager && strings.Contains(r.Path, "/:team") {
				if _, err := s.loadTeam(c, ws); err != nil { // a team route open to every member
					return err
				}
			}
		}
		return c.Next()
	}
}

// confineKey applies docs/API.md's rule for a personal API key created for a
// workspace: it reaches that workspace's routes, /v1 and what the route table
// opens to keys (Route.Key), never instance administration nor another
// workspace. Every other workspace id gets the same 403, existing or not, so
// nothing leaks; sessions and unbound keys pass untouched.
func (s *Server) confineKey(c *fiber.Ctx, r Route, id *request.Caller) error {
	bound := id.BoundWorkspace()
	if bound == "" {
		return nil
	}
	switch r.Access {
	case WorkspaceKey:
		return nil // the key's own workspace, checked by authorize
	case InstanceAdmin:
		return request.Forbidden("a key bound to a workspace cannot administer the instance; use a session or a key without a workspace")
	case SignedIn:
		switch r.Key {
		case KeyAllowed:
			return nil
		case KeyOwnWorkspace:
			ws, err := s.loadKeyWorkspace(c, id)
			if err != nil {
				return err
			}
			request.SetKeyWorkspace(c, ws)
			return nil
		}
		return request.Forbidden("a key bound to a workspace cannot do this; use a session or a key without a workspace")
	}
	if c.Params("ws") != bound {
		return request.Forbidden("this key is bound to another workspace")
	}
	return nil
}

// loadKeyWorkspace loads a bound key's workspace with its owner's current role.
func (s *Server) loadKeyWorkspace(c *fiber.Ctx, id *request.Caller) (*store.Workspace, error) {
	ws, err := s.Store.WorkspaceForUser(c.UserContext(), id.BoundWorkspace(), id.User.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, request.Forbidden("this key's workspace no longer includes you")
	}
	return ws, err
}

// authorizeResource applies the rules for resources inside a workspace: a team
// is managed by its owner or a workspace admin; a folder is private to its owner
// (others get 404, as for anything they cannot see).
func (s *Server) authorizeResource(c *fiber.Ctx, a Access, ws *store.Workspace, u *store.User) error {
	switch a {
	case TeamManager:
		team, err := s.loadTeam(c, ws)
		if err != nil {
			return err
		}
		if team.OwnerID != u.ID && store.RoleRank(ws.Role) < store.RoleRank(store.RoleAdmin) {
			return request.Forbidden("only the team's owner or a workspace admin can change this team")
		}
	case FolderOwner:
		id, err := strconv.ParseInt(c.Params("id"), 10, 64)
		if err != nil {
			return request.NotFound("folder")
		}
		f, err := s.Store.GetFolder(c.UserContext(), ws.ID, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && f.UserID != u.ID) {
			return request.NotFound("folder")
		}
		if err != nil {
			return err
		}
		request.SetFolder(c, f)
	case ChatOwner, ChatReader:
		ch, err := s.Store.GetChat(c.UserContext(), ws.ID, c.Params("chat"))
		if errors.Is(err, store.ErrNotFound) {
			return request.NotFound("chat")
		}
		if err != nil {
			return err
		}
		if ch.UserID != u.ID {
			shared, err := s.Store.IsSharedWith(c.UserContext(), ws.ID, ch.ID, u.ID)
			if err != nil {
				return err
			}
			if !shared {
				return request.NotFound("chat") // chats are private unless shared
			}
			if a == ChatOwner {
				return request.Forbidden("this chat is shared with you read-only")
			}
		}
		request.SetChat(c, ch)
	case KBReader, KBManager:
		// Visibility first: a knowledge base the caller cannot see does not exist for them.
		v := store.ViewerFor(ws, u.ID)
		kb, err := s.Store.GetKnowledgeBase(c.UserContext(), ws.ID, v, c.Params("kb"))
		if errors.Is(err, store.ErrNotFound) {
			return request.NotFound("knowledge base")
		}
		if err != nil {
			return err
		}
		if a == KBManager && !v.IsAdmin && kb.CreatedBy != u.ID {
			return request.Forbidden("only the knowledge base's creator or a workspace admin can change it")
		}
		request.SetKB(c, kb)
	case DocReader, DocManager:
		v := store.ViewerFor(ws, u.ID)
		d, err := s.Store.GetVisibleDocument(c.UserContext(), ws.ID, v, c.Params("doc"))
		if errors.Is(err, store.ErrNotFound) {
			return request.NotFound("document")
		}
		if err != nil {
			return err
		}
		if a == DocManager && !knowledge.MayManage(v, d) {
			return request.Forbidden("only the document's uploader or a workspace admin can change it")
		}
		request.SetDocument(c, d)
	}
	return nil
}

// loadTeam loads the {team} of the workspace into the request (404 when absent).
func (s *Server) loadTeam(c *fiber.Ctx, ws *store.Workspace) (*store.Team, error) {
	id, err := strconv.ParseInt(c.Params("team"), 10, 64)
	if err != nil {
		return nil, request.NotFound("team")
	}
	t, err := s.Store.GetTeam(c.UserContext(), ws.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, request.NotFound("team")
	}
	if err != nil {
		return nil, err
	}
	request.SetTeam(c, t)
	return t, nil
}

// observeRequest feeds the request metrics. The route label is the matched
// route-table pattern, so its values are bounded; anything else is "unmatched".
func (s *Server) observeRequest(c *fiber.Ctx, status int, d time.Duration) {
	// When no route matches, Fiber leaves the last middleware as the route: the
	// Use("/", authenticate) or Use("/static", ...) entries, whose patterns would
	// otherwise pass for the home page. A real "/" match only happens on "/".
	route := c.Route().Path
	switch {
	case strings.HasPrefix(route, "/static"):
		route = "/static"
	case route == "/" && c.Path() != "/":
		route = "unmatched"
	}
	ops.Default.ObserveRequest(route, c.Method(), status, d)
}

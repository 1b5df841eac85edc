package app

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
	"quire/app/knowledge"
	"quire/store"
)

const sessionCookie = "quire_session"

// local is one value the authorisation layer hands to the request's handler.
// Its key is of an unexported type, so no string key elsewhere can overwrite or
// misread it; get returns T's zero value (nil) when the route loaded none.
type local[T any] struct{ name string }

func (l local[T]) set(c *fiber.Ctx, v T) { c.Locals(l, v) }

func (l local[T]) get(c *fiber.Ctx) T {
	v, _ := c.Locals(l).(T)
	return v
}

// What authenticate and authorize load, one key per value.
var (
	identityLocal     = local[*identity]{"identity"}
	workspaceLocal    = local[*store.Workspace]{"workspace"}
	keyWorkspaceLocal = local[*store.Workspace]{"keyWorkspace"}
	folderLocal       = local[*store.Folder]{"folder"}
	chatLocal         = local[*store.Chat]{"chat"}
	kbLocal           = local[*store.KnowledgeBase]{"kb"}
	documentLocal     = local[*store.Document]{"document"}
	teamLocal         = local[*store.Team]{"team"}
)

// identity is who is calling, resolved once per request by authenticate.
type identity struct {
	user      *store.User
	token     *store.Token
	tokenHash []byte
	viaCookie bool
}

func identityOf(c *fiber.Ctx) *identity { return identityLocal.get(c) }

// userOf returns the signed-in user; authorize guarantees one on non-public routes.
func userOf(c *fiber.Ctx) *store.User { return identityOf(c).user }

// workspaceOf returns the workspace of a {ws} route with the caller's role.
func workspaceOf(c *fiber.Ctx) *store.Workspace { return workspaceLocal.get(c) }

// boundWorkspace is the workspace a personal API key was created for ("" for
// sessions and unbound keys). docs/API.md confines such a key to that workspace.
func (id *identity) boundWorkspace() string { return id.token.WorkspaceID }

// keyWorkspaceOf is, on a KeyOwnWorkspace route called with a bound key, the
// key's workspace with the caller's role: the list shows only its items. It is
// nil for every other caller, who sees all of their workspaces.
func keyWorkspaceOf(c *fiber.Ctx) *store.Workspace { return keyWorkspaceLocal.get(c) }

// forgetBoundKey makes a request with a workspace-bound key anonymous for the
// HTML UI: every page's layout lists all of the person's workspaces and
// invitations, which such a key must not reveal, and keys are for programs.
func forgetBoundKey(c *fiber.Ctx) {
	if id := identityOf(c); id != nil && id.boundWorkspace() != "" {
		identityLocal.set(c, nil)
	}
}

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
	for o := range strings.SplitSeq(s.cfg.V1CORSOrigins, ",") {
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
	id := identityOf(c)
	if id == nil || id.token == nil {
		return c.Next()
	}
	ok, wait := s.v1Calls.Take(strconv.FormatInt(id.token.ID, 10))
	if !ok {
		return &fault.Error{Kind: fault.RateLimited, RetryAfter: wait,
			Message: fmt.Sprintf("this API key made more than %d requests in a minute; retry after %s", s.cfg.V1RequestsPerMinute, humanSeconds(int(wait.Seconds()+0.999)))}
	}
	return c.Next()
}

// logRequests writes one structured line per request.
func (s *Server) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		if ae := toAPIError(err); ae != nil {
			status = ae.Status
		} else {
			status = fiber.StatusInternalServerError
		}
	}
	s.observeRequest(c, status, time.Since(start)) // Prometheus metrics (handlers_ops.go)
	s.log.Debug("request", "method", c.Method(), "path", c.Path(), "status", status, "ms", time.Since(start).Milliseconds())
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
			return unauthenticated("the Authorization header must be \"Bearer <token>\"")
		}
	} else if v := c.Cookies(sessionCookie); v != "" {
		secret, viaCookie = v, true
	}
	if secret == "" {
		return c.Next()
	}
	hash := auth.HashToken(secret)
	tok, user, err := s.store.Authenticate(c.UserContext(), hash)
	if errors.Is(err, store.ErrNotFound) {
		if viaCookie { // a stale cookie makes the visitor anonymous, not an error
			c.ClearCookie(sessionCookie)
			return c.Next()
		}
		return unauthenticated("the token is unknown, revoked or expired; sign in again")
	}
	if err != nil {
		return err
	}
	if viaCookie && isUnsafe(c.Method()) {
		if !sameOrigin(c) || !auth.CheckCSRF(s.secret, hash, csrfPresented(c)) {
			return forbidden("the CSRF token is missing or wrong; reload the page and try again")
		}
	}
	s.touch(c, tok.ID)
	identityLocal.set(c, &identity{user: user, token: tok, tokenHash: hash, viaCookie: viaCookie})
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
	_ = s.store.TouchToken(c.UserContext(), tokenID)
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

func (a Access) minRole() string {
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
			forgetBoundKey(c)
		}
		if r.Access == Public {
			return c.Next()
		}
		id := identityOf(c)
		if id == nil {
			if r.Page {
				return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
			}
			return unauthenticated("sign in or send \"Authorization: Bearer <token>\"")
		}
		if err := s.confineKey(c, r, id); err != nil {
			return err
		}
		switch r.Access {
		case InstanceAdmin:
			if !id.user.IsAdmin {
				return forbidden("only instance administrators can do this")
			}
		case WorkspaceKey:
			if id.token.Kind != store.TokenAPIKey || id.boundWorkspace() == "" {
				return forbidden("use a personal API key created for a workspace (Account → API keys)")
			}
			ws, err := s.loadKeyWorkspace(c, id)
			if err != nil {
				return err
			}
			if err := s.plan.APIAccess(c.UserContext(), ws.ID); err != nil {
				return err // the workspace's plan has no API access (402)
			}
			workspaceLocal.set(c, ws)
		case WSMember, WSAdmin, WSOwner, TeamManager, FolderOwner, ChatOwner, ChatReader, KBReader, KBManager, DocReader, DocManager:
			wsID := c.Params("ws")
			ws, err := s.store.WorkspaceForUser(c.UserContext(), wsID, id.user.ID)
			if errors.Is(err, store.ErrNotFound) {
				return notFound("workspace")
			}
			if err != nil {
				return err
			}
			if store.RoleRank(ws.Role) < store.RoleRank(r.Access.minRole()) {
				return forbidden("this needs the %s role in this workspace; yours is %s", r.Access.minRole(), ws.Role)
			}
			workspaceLocal.set(c, ws)
			if err := s.authorizeResource(c, r.Access, ws, id.user); err != nil {
				return err
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
func (s *Server) confineKey(c *fiber.Ctx, r Route, id *identity) error {
	bound := id.boundWorkspace()
	if bound == "" {
		return nil
	}
	switch r.Access {
	case WorkspaceKey:
		return nil // the key's own workspace, checked by authorize
	case InstanceAdmin:
		return forbidden("a key bound to a workspace cannot administer the instance; use a session or a key without a workspace")
	case SignedIn:
		switch r.Key {
		case KeyAllowed:
			return nil
		case KeyOwnWorkspace:
			ws, err := s.loadKeyWorkspace(c, id)
			if err != nil {
				return err
			}
			keyWorkspaceLocal.set(c, ws)
			return nil
		}
		return forbidden("a key bound to a workspace cannot do this; use a session or a key without a workspace")
	}
	if c.Params("ws") != bound {
		return forbidden("this key is bound to another workspace")
	}
	return nil
}

// loadKeyWorkspace loads a bound key's workspace with its owner's current role.
func (s *Server) loadKeyWorkspace(c *fiber.Ctx, id *identity) (*store.Workspace, error) {
	ws, err := s.store.WorkspaceForUser(c.UserContext(), id.boundWorkspace(), id.user.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, forbidden("this key's workspace no longer includes you")
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
			return forbidden("only the team's owner or a workspace admin can change this team")
		}
	case FolderOwner:
		id, err := strconv.ParseInt(c.Params("id"), 10, 64)
		if err != nil {
			return notFound("folder")
		}
		f, err := s.store.GetFolder(c.UserContext(), ws.ID, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && f.UserID != u.ID) {
			return notFound("folder")
		}
		if err != nil {
			return err
		}
		folderLocal.set(c, f)
	case ChatOwner, ChatReader:
		ch, err := s.store.GetChat(c.UserContext(), ws.ID, c.Params("chat"))
		if errors.Is(err, store.ErrNotFound) {
			return notFound("chat")
		}
		if err != nil {
			return err
		}
		if ch.UserID != u.ID {
			shared, err := s.store.IsSharedWith(c.UserContext(), ws.ID, ch.ID, u.ID)
			if err != nil {
				return err
			}
			if !shared {
				return notFound("chat") // chats are private unless shared
			}
			if a == ChatOwner {
				return forbidden("this chat is shared with you read-only")
			}
		}
		chatLocal.set(c, ch)
	case KBReader, KBManager:
		// Visibility first: a knowledge base the caller cannot see does not exist for them.
		v := store.ViewerFor(ws, u.ID)
		kb, err := s.store.GetKnowledgeBase(c.UserContext(), ws.ID, v, c.Params("kb"))
		if errors.Is(err, store.ErrNotFound) {
			return notFound("knowledge base")
		}
		if err != nil {
			return err
		}
		if a == KBManager && !v.IsAdmin && kb.CreatedBy != u.ID {
			return forbidden("only the knowledge base's creator or a workspace admin can change it")
		}
		kbLocal.set(c, kb)
	case DocReader, DocManager:
		v := store.ViewerFor(ws, u.ID)
		d, err := s.store.GetVisibleDocument(c.UserContext(), ws.ID, v, c.Params("doc"))
		if errors.Is(err, store.ErrNotFound) {
			return notFound("document")
		}
		if err != nil {
			return err
		}
		if a == DocManager && !knowledge.MayManage(v, d) {
			return forbidden("only the document's uploader or a workspace admin can change it")
		}
		documentLocal.set(c, d)
	}
	return nil
}

// loadTeam loads the {team} of the workspace into the request (404 when absent).
func (s *Server) loadTeam(c *fiber.Ctx, ws *store.Workspace) (*store.Team, error) {
	id, err := strconv.ParseInt(c.Params("team"), 10, 64)
	if err != nil {
		return nil, notFound("team")
	}
	t, err := s.store.GetTeam(c.UserContext(), ws.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("team")
	}
	if err != nil {
		return nil, err
	}
	teamLocal.set(c, t)
	return t, nil
}

// clientKey identifies the caller's address for rate limits.
func clientKey(c *fiber.Ctx) string { return "ip:" + c.IP() }

func retryAfter(c *fiber.Ctx, d time.Duration) *apiError {
	secs := int(d.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return rateLimited(secs)
}

package http

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"quire/app/audit"
	"quire/app/http/request"
	"quire/store"
)

// auditActor puts the caller into the request's context as the audit actor,
// so use cases record sign-ins and passage reads without new parameters. It
// runs on every route, signed in or not (a failed login has an address).
func (s *Server) auditActor(r Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a := audit.Actor{Kind: audit.KindAnonymous, Address: c.IP(), Route: r.Method + " " + r.Path}
		if id := request.Identity(c); id != nil {
			a.UserID, a.TokenID, a.Email, a.Kind = id.User.ID, id.Token.ID, id.User.Email, audit.KindSession
			if id.Token.Kind == store.TokenAPIKey {
				a.Kind = audit.KindAPIKey
			}
		}
		c.SetUserContext(audit.WithActor(c.UserContext(), a))
		return c.Next()
	}
}

// auditStep records a route whose table entry names an action (Route.Audit).
// It wraps authorisation, so a signed-in caller refused by it is recorded as
// denied; anonymous refusals are not (nothing to attribute, and a stranger
// could fill the log). The workspace is the one authorisation loaded — never
// a raw path id an outsider typed — and the target comes from the route's
// last parameter, or from the created object's id in the answer.
func (s *Server) auditStep(r Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := c.Next()
		if request.Identity(c) == nil || s.Audit == nil {
			return err
		}
		status := c.Response().StatusCode()
		if err != nil {
			status = fiber.StatusInternalServerError
			if ae := request.ToAPIError(err); ae != nil {
				status = ae.Status
			}
		}
		ev := audit.Event{Action: r.Audit, Outcome: outcomeOf(status), Target: auditTarget(c, r)}
		if ws := request.Workspace(c); ws != nil {
			ev.Workspace = ws.ID
		}
		ev.Details = map[string]any{"status": status}
		if t, ok := createdTarget(c, r); ok && status < 300 {
			ev.Target = t
			if t.Type == "workspace" && ev.Workspace == "" {
				ev.Workspace = t.ID // a new workspace's log starts with its creation
			}
		}
		if ev.Workspace == "" && status < 300 {
			ev.Workspace = answeredWorkspace(c, r) // joining by invitation, a key for a workspace
		}
		for k, v := range auditFields(c) {
			ev.Details[k] = v
		}
		for _, p := range c.Route().Params {
			if p != "ws" && p != "token" {
				ev.Details[p] = clipParam(c.Params(p))
			}
		}
		s.Audit.Record(c.UserContext(), ev)
		return err
	}
}

func outcomeOf(status int) string {
	switch {
	case status < 400:
		return store.AuditOK
	case status == fiber.StatusUnauthorized || status == fiber.StatusForbidden || status == fiber.StatusNotFound || status == fiber.StatusPaymentRequired:
		return store.AuditDenied
	}
	return store.AuditFailed
}

// targetTypes names what a route parameter identifies; ":id" takes its name
// from the path segment before it (tokens/:id is an API key).
var targetTypes = map[string]string{
	"doc": "document", "kb": "knowledge_base", "chat": "chat", "team": "team", "user_id": "user", "share_id": "share",
	"msg": "message", "name": "backup", "token": "invitation", "ws": "workspace",
	"tokens": "api_key", "invitations": "invitation", "users": "user", "folders": "folder",
}

// lastParam is the last ":param" of a route pattern ("" when none).
func lastParam(path string) string {
	i := strings.LastIndex(path, "/:")
	if i < 0 {
		return ""
	}
	p, _, _ := strings.Cut(path[i+2:], "/")
	return p
}

func auditTarget(c *fiber.Ctx, r Route) audit.Target {
	p := lastParam(r.Path)
	if p == "" {
		return audit.Target{}
	}
	typ := targetTypes[p]
	if p == "id" {
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			if s == ":id" && i > 0 {
				typ = targetTypes[segs[i-1]]
			}
		}
	}
	t := audit.Target{Type: typ, ID: clipParam(c.Params(p))}
	if p == "token" {
		t.ID = "" // the invitation's secret: never in the log (the invitation is found by the workspace it joins)
	}
	// Labels from what authorisation loaded: the name at the time, kept if it is renamed or deleted.
	switch p {
	case "doc":
		if d := request.Document(c); d != nil {
			t.Label = d.Name
		}
	case "kb":
		if kb := request.KB(c); kb != nil {
			t.Label = kb.Name
		}
	case "chat":
		if ch := request.Chat(c); ch != nil {
			t.Label = ch.Name
		}
	case "team":
		if tm := request.Team(c); tm != nil {
			t.Label = tm.Name
		}
	case "ws":
		if ws := request.Workspace(c); ws != nil {
			t.Label = ws.Name
		}
	case "id":
		if f := request.Folder(c); f != nil && typ == "folder" {
			t.Label = f.Name
		}
	}
	return t
}

// maxAuditJSON bounds the bodies the step looks into: the fields it keeps are
// near the top of small JSON objects, and a larger body is not worth parsing
// on the request's time.
const maxAuditJSON = 16 << 10

// createdTypes are the collections a POST creates in, by the path's last
// segment, and what their new member is.
var createdTypes = map[string]string{"workspaces": "workspace", "documents": "document", "url": "document", "teams": "team",
	"knowledge-bases": "knowledge_base", "tokens": "api_key", "invitations": "invitation", "users": "user", "members": "user",
	"shares": "share", "folders": "folder", "chats": "chat", "backups": "backup"}

// createdTarget is the object a create route made: the "id" (and its name)
// of the JSON answer; false for other routes.
func createdTarget(c *fiber.Ctx, r Route) (audit.Target, bool) {
	t := audit.Target{Type: createdTypes[r.Path[strings.LastIndex(r.Path, "/")+1:]]}
	if r.Method != fiber.MethodPost || t.Type == "" || c.Response().IsBodyStream() { // a stream would be drained into memory
		return t, false
	}
	body := c.Response().Body()
	if len(body) == 0 || len(body) > maxAuditJSON || body[0] != '{' {
		return t, false
	}
	var v struct {
		ID       json.RawMessage `json:"id"`
		UserID   json.RawMessage `json:"user_id"` // a member added
		Name     string          `json:"name"`
		Email    string          `json:"email"`
		Invite   string          `json:"invite_url"` // "adding" a person sent an invitation
		Document *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"document"`
	}
	if json.Unmarshal(body, &v) != nil {
		return t, false
	}
	id := strings.Trim(cmp.Or(string(v.ID), string(v.UserID)), `"`)
	if v.Document != nil && id == "" {
		id, v.Name = v.Document.ID, v.Document.Name
	}
	t.ID, t.Label = clipParam(id), cmp.Or(v.Name, v.Email)
	if v.Invite != "" {
		t.Type = "invitation"
	}
	return t, true
}

// answeredWorkspace is the workspace_id of a POST's JSON answer: Quire's own
// answer to what the caller just did, so it may file the entry under that
// workspace (a path id alone may not: an outsider chooses it).
func answeredWorkspace(c *fiber.Ctx, r Route) string {
	if r.Method != fiber.MethodPost || c.Response().IsBodyStream() {
		return ""
	}
	body := c.Response().Body()
	if len(body) == 0 || len(body) > maxAuditJSON || body[0] != '{' {
		return ""
	}
	var v struct {
		WorkspaceID string `json:"workspace_id"`
	}
	_ = json.Unmarshal(body, &v)
	return clipParam(v.WorkspaceID)
}

// auditKeep are the request fields worth keeping: what changed (roles,
// flags, access), never free text or secrets (passwords, keys).
var auditKeep = map[string]bool{
	"role": true, "is_admin": true, "disabled": true, "public": true, "action": true, "visibility": true,
	"team_ids": true, "document_ids": true, "knowledge_base_id": true, "workspace_id": true, "user_id": true,
	"signup_policy": true, "allow_public_chats": true, "allow_private_urls": true, "default_chat_model": true,
	"default_embedding_model": true, "max_upload_mb": true, "token_limit": true, "credit_limit": true, "ollama_url": true,
	"model": true, "url": true, "shared_with_workspace": true, "enabled": true,
}

// auditFields are the kept fields of a small JSON request body, and the
// names of every field it set (settings changed, what a PATCH touched).
func auditFields(c *fiber.Ctx) map[string]any {
	body := c.Body()
	if len(body) == 0 || len(body) > maxAuditJSON || body[0] != '{' || !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	out := map[string]any{}
	names := make([]string, 0, len(m))
	for k, raw := range m {
		if len(names) < 32 {
			names = append(names, clipParam(k))
		}
		if auditKeep[k] && len(raw) <= 1024 {
			out[k] = raw
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		out["fields"] = names
	}
	return out
}

// clipParam bounds a path parameter copied into the log (a hostile client
// chooses it).
func clipParam(s string) string {
	if len(s) > 128 {
		s = s[:128]
	}
	return strings.ToValidUTF8(s, "")
}

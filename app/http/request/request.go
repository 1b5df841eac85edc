// Package request is what an HTTP handler knows of the call it serves: who is
// calling (set once by authentication), what the authorisation layer loaded
// for the route (workspace, chat, document, …), the body, and the error values
// handlers return (mapped to docs/API.md's shapes by the server's error handler).
package request

import (
	"github.com/gofiber/fiber/v2"

	"quire/store"
)

// SessionCookie holds a browser session's token.
const SessionCookie = "quire_session"

// local is one value the authorisation layer hands to the request's handler.
// Its key is of an unexported type, so no string key elsewhere can overwrite or
// misread it; get returns T's zero value (nil) when the route loaded none.
type local[T any] struct{ name string }

func (l local[T]) set(c *fiber.Ctx, v T) { c.Locals(l, v) }

func (l local[T]) get(c *fiber.Ctx) T {
	v, _ := c.Locals(l).(T)
	return v
}

// What authentication and authorisation load, one key per value.
var (
	identityLocal     = local[*Caller]{"identity"}
	workspaceLocal    = local[*store.Workspace]{"workspace"}
	keyWorkspaceLocal = local[*store.Workspace]{"keyWorkspace"}
	folderLocal       = local[*store.Folder]{"folder"}
	chatLocal         = local[*store.Chat]{"chat"}
	kbLocal           = local[*store.KnowledgeBase]{"kb"}
	documentLocal     = local[*store.Document]{"document"}
	teamLocal         = local[*store.Team]{"team"}
)

// Caller is who is calling, resolved once per request by authentication.
type Caller struct {
	User      *store.User
	Token     *store.Token
	TokenHash []byte
	ViaCookie bool
}

// BoundWorkspace is the workspace a personal API key was created for ("" for
// sessions and unbound keys): such a key is confined to that workspace.
func (id *Caller) BoundWorkspace() string { return id.Token.WorkspaceID }

// Identity is the caller, nil when anonymous.
func Identity(c *fiber.Ctx) *Caller { return identityLocal.get(c) }

// User is the signed-in user; authorisation guarantees one on non-public routes.
func User(c *fiber.Ctx) *store.User { return Identity(c).User }

// Workspace is the workspace of a {ws} route with the caller's role.
func Workspace(c *fiber.Ctx) *store.Workspace { return workspaceLocal.get(c) }

// KeyWorkspace is, on a route listing items across workspaces called with a
// bound key, the key's workspace with the caller's role: the list shows only its
// items. It is nil for every other caller, who sees all of their workspaces.
func KeyWorkspace(c *fiber.Ctx) *store.Workspace { return keyWorkspaceLocal.get(c) }

// Folder is the {id} folder of a FolderOwner route.
func Folder(c *fiber.Ctx) *store.Folder { return folderLocal.get(c) }

// Chat is the {chat} of a chat route.
func Chat(c *fiber.Ctx) *store.Chat { return chatLocal.get(c) }

// KB is the {kb} knowledge base of a knowledge base route.
func KB(c *fiber.Ctx) *store.KnowledgeBase { return kbLocal.get(c) }

// Document is the {doc} of a document route.
func Document(c *fiber.Ctx) *store.Document { return documentLocal.get(c) }

// Team is the {team} of a team route.
func Team(c *fiber.Ctx) *store.Team { return teamLocal.get(c) }

// Viewer is the caller as the knowledge visibility rules see them.
func Viewer(c *fiber.Ctx) store.Viewer { return store.ViewerFor(Workspace(c), User(c).ID) }

// The setters are for the authentication and authorisation middleware only.

func SetIdentity(c *fiber.Ctx, id *Caller)              { identityLocal.set(c, id) }
func SetWorkspace(c *fiber.Ctx, ws *store.Workspace)    { workspaceLocal.set(c, ws) }
func SetKeyWorkspace(c *fiber.Ctx, ws *store.Workspace) { keyWorkspaceLocal.set(c, ws) }
func SetFolder(c *fiber.Ctx, f *store.Folder)           { folderLocal.set(c, f) }
func SetChat(c *fiber.Ctx, ch *store.Chat)              { chatLocal.set(c, ch) }
func SetKB(c *fiber.Ctx, kb *store.KnowledgeBase)       { kbLocal.set(c, kb) }
func SetDocument(c *fiber.Ctx, d *store.Document)       { documentLocal.set(c, d) }
func SetTeam(c *fiber.Ctx, t *store.Team)               { teamLocal.set(c, t) }

// ForgetBoundKey makes a request with a workspace-bound key anonymous for the
// HTML UI: every page's layout lists all of the person's workspaces and
// invitations, which such a key must not reveal, and keys are for programs.
func ForgetBoundKey(c *fiber.Ctx) {
	if id := Identity(c); id != nil && id.BoundWorkspace() != "" {
		identityLocal.set(c, nil)
	}
}

// ClientKey identifies the client machine for rate limits on anonymous calls.
func ClientKey(c *fiber.Ctx) string { return "ip:" + c.IP() }

package app

import (
	"io/fs"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

// Route is one entry of the route table: what it serves, who may call it.
type Route struct {
	Method  string
	Path    string
	Access  Access
	Page    bool     // an HTML page: anonymous visitors are sent to /login
	Upload  bool     // takes a file body bigger than max_body_kb
	Key     KeyScope // what a workspace-bound API key may do on a SignedIn route
	Handler fiber.Handler
}

// KeyScope is a SignedIn route's rule for personal API keys bound to a
// workspace. docs/API.md confines such a key to its workspace, so the zero value
// refuses it: a new account-wide route stays closed to keys until its entry
// says otherwise. On other routes the access level decides: workspace routes
// and /v1 confine the key to its workspace, instance administration refuses
// it, and pages treat it as no session (their layout lists every workspace).
type KeyScope int

const (
	KeyRefused      KeyScope = iota // 403: account-wide actions and data that span workspaces
	KeyAllowed                      // the caller's own account, which shows nothing of other workspaces
	KeyOwnWorkspace                 // a list across workspaces: only the key's workspace's items (keyWorkspaceOf)
)

// Routes is the whole HTTP surface of Quire at a glance. The tenancy test walks
// every entry as anonymous, outsider, member, admin and owner, and with keys
// bound to the walk's workspace and to another one.
func (s *Server) Routes() []Route {
	get, post, patch, put, del := fiber.MethodGet, fiber.MethodPost, fiber.MethodPatch, fiber.MethodPut, fiber.MethodDelete
	return []Route{
		// Health
		{Method: get, Path: "/api/health", Access: Public, Handler: s.health},
		{Method: get, Path: "/api/ready", Access: Public, Handler: s.ready},

		// Auth and account
		{Method: post, Path: "/api/auth/signup", Access: Public, Handler: s.signup},
		{Method: post, Path: "/api/auth/login", Access: Public, Handler: s.login},
		{Method: post, Path: "/api/auth/logout", Access: SignedIn, Key: KeyAllowed, Handler: s.logout}, // revokes only the token that calls it
		{Method: post, Path: "/api/auth/verify-email", Access: Public, Handler: s.verifyEmail},
		{Method: post, Path: "/api/auth/password-reset", Access: Public, Handler: s.requestPasswordReset},
		{Method: post, Path: "/api/auth/password-reset/confirm", Access: Public, Handler: s.confirmPasswordReset},
		{Method: get, Path: "/api/me", Access: SignedIn, Key: KeyAllowed, Handler: s.getMe},
		// Bound keys: no account changes, keys, usage totals or invitations (they span workspaces).
		{Method: patch, Path: "/api/me", Access: SignedIn, Handler: s.patchMe},
		{Method: del, Path: "/api/me", Access: SignedIn, Handler: s.deleteMe},
		{Method: post, Path: "/api/me/password", Access: SignedIn, Handler: s.changePassword},
		{Method: get, Path: "/api/me/tokens", Access: SignedIn, Handler: s.listTokens},
		{Method: post, Path: "/api/me/tokens", Access: SignedIn, Handler: s.createToken},
		{Method: del, Path: "/api/me/tokens/:id", Access: SignedIn, Handler: s.deleteToken},
		{Method: get, Path: "/api/me/usage", Access: SignedIn, Handler: s.myUsage},
		{Method: get, Path: "/api/me/invitations", Access: SignedIn, Handler: s.listMyInvitations},
		{Method: post, Path: "/api/me/invitations/:id/accept", Access: SignedIn, Handler: s.acceptMyInvitation},
		{Method: post, Path: "/api/me/invitations/:id/decline", Access: SignedIn, Handler: s.declineMyInvitation},

		// Workspaces and members
		{Method: get, Path: "/api/workspaces", Access: SignedIn, Key: KeyOwnWorkspace, Handler: s.listWorkspaces},
		{Method: post, Path: "/api/workspaces", Access: SignedIn, Handler: s.createWorkspace},
		{Method: get, Path: "/api/workspaces/:ws", Access: WSMember, Handler: s.getWorkspace},
		{Method: patch, Path: "/api/workspaces/:ws", Access: WSAdmin, Handler: s.patchWorkspace},
		{Method: del, Path: "/api/workspaces/:ws", Access: WSOwner, Handler: s.deleteWorkspace},
		{Method: post, Path: "/api/workspaces/:ws/transfer", Access: WSOwner, Handler: s.transferWorkspace},
		{Method: post, Path: "/api/workspaces/:ws/leave", Access: WSMember, Handler: s.leaveWorkspace},
		{Method: get, Path: "/api/workspaces/:ws/members", Access: WSMember, Handler: s.listMembers},
		{Method: post, Path: "/api/workspaces/:ws/members", Access: WSAdmin, Handler: s.addMember},
		{Method: patch, Path: "/api/workspaces/:ws/members/:user_id", Access: WSAdmin, Handler: s.patchMember},
		{Method: del, Path: "/api/workspaces/:ws/members/:user_id", Access: WSAdmin, Handler: s.removeMember},

		// Usage and cost
		{Method: get, Path: "/api/workspaces/:ws/usage", Access: WSAdmin, Handler: s.workspaceUsage},
		{Method: get, Path: "/api/workspaces/:ws/usage/limits", Access: WSMember, Handler: s.usageLimits},
		{Method: get, Path: "/api/workspaces/:ws/usage/export", Access: WSAdmin, Handler: s.exportUsage}, // CSV

		// Billing (Stripe; 404 billing_disabled when not configured)
		{Method: get, Path: "/api/billing/plans", Access: SignedIn, Handler: s.billingPlans},
		{Method: get, Path: "/api/workspaces/:ws/billing", Access: WSMember, Handler: s.workspaceBilling},
		{Method: post, Path: "/api/workspaces/:ws/billing/checkout", Access: WSOwner, Handler: s.billingCheckout},
		{Method: post, Path: "/api/workspaces/:ws/billing/portal", Access: WSOwner, Handler: s.billingPortal},
		{Method: post, Path: "/api/stripe/webhook", Access: Public, Handler: s.stripeWebhook}, // signed by Stripe

		// Teams
		{Method: get, Path: "/api/workspaces/:ws/teams", Access: WSMember, Handler: s.listTeams},
		{Method: post, Path: "/api/workspaces/:ws/teams", Access: WSAdmin, Handler: s.createTeam},
		{Method: get, Path: "/api/workspaces/:ws/teams/:team", Access: WSMember, Handler: s.getTeam},
		{Method: patch, Path: "/api/workspaces/:ws/teams/:team", Access: TeamManager, Handler: s.patchTeam},
		{Method: del, Path: "/api/workspaces/:ws/teams/:team", Access: TeamManager, Handler: s.deleteTeam},
		{Method: get, Path: "/api/workspaces/:ws/teams/:team/members", Access: WSMember, Handler: s.listTeamMembers},
		{Method: post, Path: "/api/workspaces/:ws/teams/:team/members", Access: TeamManager, Handler: s.addTeamMember},
		{Method: del, Path: "/api/workspaces/:ws/teams/:team/members/:user_id", Access: TeamManager, Handler: s.removeTeamMember},

		// Invitations
		{Method: get, Path: "/api/workspaces/:ws/invitations", Access: WSAdmin, Handler: s.listInvitations},
		{Method: post, Path: "/api/workspaces/:ws/invitations", Access: WSAdmin, Handler: s.createInvitation},
		{Method: del, Path: "/api/workspaces/:ws/invitations/:id", Access: WSAdmin, Handler: s.cancelInvitation},
		{Method: post, Path: "/api/workspaces/:ws/invitations/:id/resend", Access: WSAdmin, Handler: s.resendInvitation},
		{Method: post, Path: "/api/invitations/:token/accept", Access: SignedIn, Handler: s.acceptInvitationToken},
		{Method: post, Path: "/api/invitations/:token/decline", Access: SignedIn, Handler: s.declineInvitationToken},

		// Folders (each member's own)
		{Method: get, Path: "/api/workspaces/:ws/folders", Access: WSMember, Handler: s.listFolders},
		{Method: post, Path: "/api/workspaces/:ws/folders", Access: WSMember, Handler: s.createFolder},
		{Method: patch, Path: "/api/workspaces/:ws/folders/:id", Access: FolderOwner, Handler: s.patchFolder},
		{Method: del, Path: "/api/workspaces/:ws/folders/:id", Access: FolderOwner, Handler: s.deleteFolder},

		// Knowledge bases and documents (visibility rules in store/knowledge.go)
		{Method: get, Path: "/api/workspaces/:ws/knowledge-bases", Access: WSMember, Handler: s.listKnowledgeBases},
		{Method: post, Path: "/api/workspaces/:ws/knowledge-bases", Access: WSAdmin, Handler: s.createKnowledgeBase},
		{Method: get, Path: "/api/workspaces/:ws/knowledge-bases/:kb", Access: KBReader, Handler: s.getKnowledgeBase},
		{Method: patch, Path: "/api/workspaces/:ws/knowledge-bases/:kb", Access: KBManager, Handler: s.patchKnowledgeBase},
		{Method: del, Path: "/api/workspaces/:ws/knowledge-bases/:kb", Access: KBManager, Handler: s.deleteKnowledgeBase},
		{Method: get, Path: "/api/workspaces/:ws/knowledge-bases/:kb/access", Access: KBManager, Handler: s.getKBAccess},
		{Method: put, Path: "/api/workspaces/:ws/knowledge-bases/:kb/access", Access: KBManager, Handler: s.putKBAccess},
		{Method: get, Path: "/api/workspaces/:ws/knowledge-bases/:kb/documents", Access: KBReader, Handler: s.listKBDocuments},
		{Method: post, Path: "/api/workspaces/:ws/knowledge-bases/:kb/documents", Access: KBManager, Handler: s.addKBDocuments},
		{Method: post, Path: "/api/workspaces/:ws/knowledge-bases/:kb/documents/remove", Access: KBManager, Handler: s.removeKBDocuments},
		{Method: post, Path: "/api/workspaces/:ws/documents", Access: WSMember, Upload: true, Handler: s.uploadDocument},
		{Method: post, Path: "/api/workspaces/:ws/documents/url", Access: WSMember, Handler: s.addURLDocument},
		{Method: get, Path: "/api/workspaces/:ws/documents", Access: WSMember, Handler: s.listDocuments},
		{Method: post, Path: "/api/workspaces/:ws/documents/bulk", Access: WSMember, Handler: s.bulkDocuments}, // each document authorised as its own endpoint
		{Method: get, Path: "/api/workspaces/:ws/documents/:doc", Access: DocReader, Handler: s.getDocument},
		{Method: patch, Path: "/api/workspaces/:ws/documents/:doc", Access: DocManager, Handler: s.patchDocument},
		{Method: del, Path: "/api/workspaces/:ws/documents/:doc", Access: DocManager, Handler: s.deleteDocument},
		{Method: get, Path: "/api/workspaces/:ws/documents/:doc/file", Access: DocReader, Handler: s.documentFile},
		{Method: get, Path: "/api/workspaces/:ws/documents/:doc/chunks", Access: DocReader, Handler: s.documentChunks},
		{Method: post, Path: "/api/workspaces/:ws/documents/:doc/reprocess", Access: DocManager, Handler: s.reprocessDocument},
		{Method: post, Path: "/api/workspaces/:ws/search", Access: WSMember, Handler: s.searchAPI},

		// Chats (private to their owner unless shared or published)
		{Method: get, Path: "/api/workspaces/:ws/chats", Access: WSMember, Handler: s.listChats},
		{Method: post, Path: "/api/workspaces/:ws/chats", Access: WSMember, Handler: s.createChat},
		{Method: get, Path: "/api/workspaces/:ws/chats/:chat", Access: ChatReader, Handler: s.getChat},
		{Method: patch, Path: "/api/workspaces/:ws/chats/:chat", Access: ChatOwner, Handler: s.patchChat},
		{Method: del, Path: "/api/workspaces/:ws/chats/:chat", Access: ChatOwner, Handler: s.deleteChat},
		{Method: get, Path: "/api/workspaces/:ws/chats/:chat/messages", Access: ChatReader, Handler: s.listMessages},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/messages", Access: ChatOwner, Handler: s.postMessage},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/regenerate", Access: ChatOwner, Handler: s.regenerate},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/messages/:msg/edit", Access: ChatOwner, Handler: s.editMessage},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/stop", Access: ChatOwner, Handler: s.stopChat},
		{Method: get, Path: "/api/workspaces/:ws/chats/:chat/shares", Access: ChatOwner, Handler: s.listShares},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/shares", Access: ChatOwner, Handler: s.createShare},
		{Method: del, Path: "/api/workspaces/:ws/chats/:chat/shares/:share_id", Access: ChatOwner, Handler: s.deleteShare},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/public", Access: ChatOwner, Handler: s.setPublic},
		{Method: get, Path: "/api/public/chats/:public_id", Access: Public, Handler: s.getPublicChat},
		{Method: get, Path: "/api/me/shared-chats", Access: SignedIn, Key: KeyOwnWorkspace, Handler: s.listSharedWithMe},

		// OpenAI-compatible (workspace-bound API keys)
		{Method: get, Path: "/v1/models", Access: WorkspaceKey, Handler: s.openAIModels},
		{Method: get, Path: "/v1/models/:model", Access: WorkspaceKey, Handler: s.openAIModel},
		{Method: post, Path: "/v1/responses", Access: WorkspaceKey, Handler: s.openAIResponses},
		{Method: post, Path: "/v1/completions", Access: WorkspaceKey, Handler: s.openAITextCompletions},
		{Method: post, Path: "/v1/chat/completions", Access: WorkspaceKey, Handler: s.openAIChat},
		{Method: post, Path: "/v1/embeddings", Access: WorkspaceKey, Handler: s.openAIEmbeddings},

		// Instance administration
		{Method: get, Path: "/api/admin/settings", Access: InstanceAdmin, Handler: s.getSettings},
		{Method: patch, Path: "/api/admin/settings", Access: InstanceAdmin, Handler: s.patchSettings},
		{Method: get, Path: "/api/admin/users", Access: InstanceAdmin, Handler: s.listUsers},
		{Method: patch, Path: "/api/admin/users/:id", Access: InstanceAdmin, Handler: s.patchUser},
		{Method: get, Path: "/api/admin/outbox", Access: InstanceAdmin, Handler: s.listOutbox},

		// Operations: online backups, Prometheus metrics (handlers_ops.go)
		{Method: post, Path: "/api/admin/backups", Access: InstanceAdmin, Handler: s.createBackup},
		{Method: get, Path: "/api/admin/backups", Access: InstanceAdmin, Handler: s.listBackups},
		{Method: get, Path: "/api/admin/backups/:name", Access: InstanceAdmin, Handler: s.downloadBackup},
		{Method: get, Path: "/metrics", Access: s.metricsAccess(), Handler: s.metrics},
		{Method: get, Path: "/api/admin/models", Access: InstanceAdmin, Handler: s.adminModels},
		{Method: post, Path: "/api/admin/models/pull", Access: InstanceAdmin, Handler: s.pullModel},
		{Method: get, Path: "/api/admin/jobs", Access: InstanceAdmin, Handler: s.adminJobs},
		{Method: post, Path: "/api/admin/reindex", Access: InstanceAdmin, Handler: s.reindex},

		// UI pages
		{Method: get, Path: "/", Access: SignedIn, Page: true, Handler: s.pageHome},
		{Method: get, Path: "/login", Access: Public, Page: true, Handler: s.pageLogin},
		{Method: get, Path: "/signup", Access: Public, Page: true, Handler: s.pageSignup},
		{Method: get, Path: "/reset", Access: Public, Page: true, Handler: s.pageReset},
		{Method: get, Path: "/reset/confirm", Access: Public, Page: true, Handler: s.pageResetConfirm},
		{Method: get, Path: "/verify-email", Access: Public, Page: true, Handler: s.pageVerifyEmail},
		{Method: get, Path: "/account", Access: SignedIn, Page: true, Handler: s.pageAccount},
		{Method: get, Path: "/workspaces/new", Access: SignedIn, Page: true, Handler: s.pageNewWorkspace},
		{Method: get, Path: "/w/:ws", Access: WSMember, Page: true, Handler: s.pageWorkspace},
		{Method: get, Path: "/w/:ws/members", Access: WSMember, Page: true, Handler: s.pageMembers},
		{Method: get, Path: "/w/:ws/settings", Access: WSMember, Page: true, Handler: s.pageWorkspaceSettings},
		{Method: get, Path: "/w/:ws/teams", Access: WSMember, Page: true, Handler: s.pageTeams},
		{Method: get, Path: "/w/:ws/folders", Access: WSMember, Page: true, Handler: s.pageFolders},
		{Method: get, Path: "/w/:ws/usage", Access: WSAdmin, Page: true, Handler: s.pageUsage},
		{Method: get, Path: "/w/:ws/billing", Access: WSMember, Page: true, Handler: s.pageBilling},
		{Method: get, Path: "/w/:ws/documents", Access: WSMember, Page: true, Handler: s.pageDocuments},
		{Method: get, Path: "/w/:ws/documents/:doc", Access: DocReader, Page: true, Handler: s.pageDocument},
		{Method: get, Path: "/w/:ws/knowledge", Access: WSMember, Page: true, Handler: s.pageKnowledgeBases},
		{Method: get, Path: "/w/:ws/search", Access: WSMember, Page: true, Handler: s.pageSearch},
		{Method: get, Path: "/w/:ws/knowledge/:kb", Access: KBReader, Page: true, Handler: s.pageKnowledgeBase},
		{Method: get, Path: "/w/:ws/chats", Access: WSMember, Page: true, Handler: s.pageChats},
		{Method: get, Path: "/w/:ws/c/:chat", Access: ChatReader, Page: true, Handler: s.pageChat},
		{Method: get, Path: "/shared", Access: SignedIn, Page: true, Handler: s.pageShared},
		{Method: get, Path: "/p/:public_id", Access: Public, Page: true, Handler: s.pagePublicChat},
		{Method: get, Path: "/invitations", Access: SignedIn, Page: true, Handler: s.pageInvitations},
		{Method: get, Path: "/invite/:token", Access: Public, Page: true, Handler: s.pageInvite},
		{Method: get, Path: "/admin", Access: InstanceAdmin, Page: true, Handler: s.pageAdminUsers},
		{Method: get, Path: "/admin/settings", Access: InstanceAdmin, Page: true, Handler: s.pageAdminSettings},
		{Method: get, Path: "/admin/outbox", Access: InstanceAdmin, Page: true, Handler: s.pageAdminOutbox},
		{Method: get, Path: "/admin/backups", Access: InstanceAdmin, Page: true, Handler: s.pageAdminBackups},
		{Method: get, Path: "/admin/models", Access: InstanceAdmin, Page: true, Handler: s.pageAdminModels},
		{Method: get, Path: "/admin/jobs", Access: InstanceAdmin, Page: true, Handler: s.pageAdminJobs},
	}
}

// register installs the middleware and the route table on the Fiber app.
func (s *Server) register(web fs.FS) {
	s.fiber.Use(requestID, securityHeaders, s.v1CORS, s.logRequests, s.readBodies) // bodies.go: nothing over max_body_kb is read here
	static, _ := fs.Sub(web, "static")
	s.fiber.Use("/static", s.pages.assets.serve, filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: plainMaxAge}))
	s.fiber.Use(s.authenticate)
	for _, r := range s.Routes() {
		handlers := []fiber.Handler{s.limitBody(r), s.authorize(r)}
		if r.Access == WorkspaceKey {
			handlers = append(handlers, s.v1RateLimit)
		}
		s.fiber.Add(r.Method, r.Path, append(handlers, r.Handler)...)
	}
}

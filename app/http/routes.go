package http

import (
	"io/fs"
	"slices"

	"github.com/gofiber/fiber/v2"
)

// Route is one entry of the route table: what it serves, who may call it.
type Route struct {
	Method  string
	Path    string
	Access  Access
	Page    bool     // an HTML page: anonymous visitors are sent to /login
	Upload  bool     // takes a file body bigger than max_body_kb
	Key     KeyScope // what a workspace-bound API key may do on a SignedIn route
	Audit   string   // the audit log's action for this route ("" records nothing here); see app/http/audit.go
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
	KeyOwnWorkspace                 // a api.List across workspaces: only the key's workspace's items (keyWorkspaceOf)
)

// Routes is the whole HTTP surface of Quire at a glance. The tenancy test walks
// every entry as anonymous, outsider, member, admin and owner, and with keys
// bound to the walk's workspace and to another one.
func (s *Server) Routes() []Route {
	get, post, patch, put, del := fiber.MethodGet, fiber.MethodPost, fiber.MethodPatch, fiber.MethodPut, fiber.MethodDelete
	return []Route{
		// Health
		{Method: get, Path: "/api/health", Access: Public, Handler: s.api.Health},
		{Method: get, Path: "/api/ready", Access: Public, Handler: s.api.Ready},

		// Auth and account
		{Method: post, Path: "/api/auth/signup", Access: Public, Handler: s.api.Signup},
		{Method: post, Path: "/api/auth/login", Access: Public, Handler: s.api.Login},
		{Method: post, Path: "/api/auth/ldap/login", Access: Public, Handler: s.api.LDAPLogin},                                   // a directory account ([ldap]; 404 without one)
		{Method: post, Path: "/api/setup", Access: Public, Handler: s.api.PostSetup},                                             // the first admin, with the one-time setup token
		{Method: post, Path: "/api/auth/logout", Access: SignedIn, Key: KeyAllowed, Audit: "auth.logout", Handler: s.api.Logout}, // revokes only the token that calls it
		{Method: post, Path: "/api/auth/verify-email", Access: Public, Handler: s.api.VerifyEmail},
		{Method: post, Path: "/api/auth/password-reset", Access: Public, Handler: s.api.RequestPasswordReset},
		{Method: post, Path: "/api/auth/password-reset/confirm", Access: Public, Handler: s.api.ConfirmPasswordReset},
		{Method: get, Path: "/api/me", Access: SignedIn, Key: KeyAllowed, Handler: s.api.GetMe},
		// Bound keys: no account changes, keys, usage totals or invitations (they span workspaces).
		{Method: patch, Path: "/api/me", Access: SignedIn, Audit: "account.updated", Handler: s.api.PatchMe},
		{Method: del, Path: "/api/me", Access: SignedIn, Audit: "account.deleted", Handler: s.api.DeleteMe},
		{Method: post, Path: "/api/me/password", Access: SignedIn, Audit: "account.password_changed", Handler: s.api.ChangePassword},
		{Method: get, Path: "/api/me/tokens", Access: SignedIn, Handler: s.api.ListTokens},
		{Method: post, Path: "/api/me/tokens", Access: SignedIn, Audit: "api_key.created", Handler: s.api.CreateToken},
		{Method: del, Path: "/api/me/tokens/:id", Access: SignedIn, Audit: "api_key.deleted", Handler: s.api.DeleteToken},
		{Method: get, Path: "/api/me/usage", Access: SignedIn, Handler: s.api.MyUsage},
		{Method: get, Path: "/api/me/invitations", Access: SignedIn, Handler: s.api.ListMyInvitations},
		{Method: post, Path: "/api/me/invitations/:id/accept", Access: SignedIn, Audit: "invitation.accepted", Handler: s.api.AcceptMyInvitation},
		{Method: post, Path: "/api/me/invitations/:id/decline", Access: SignedIn, Audit: "invitation.declined", Handler: s.api.DeclineMyInvitation},

		// Workspaces and members
		{Method: get, Path: "/api/workspaces", Access: SignedIn, Key: KeyOwnWorkspace, Handler: s.api.ListWorkspaces},
		{Method: post, Path: "/api/workspaces", Access: SignedIn, Audit: "workspace.created", Handler: s.api.CreateWorkspace},
		{Method: get, Path: "/api/workspaces/:ws", Access: WSMember, Handler: s.api.GetWorkspace},
		{Method: patch, Path: "/api/workspaces/:ws", Access: WSAdmin, Audit: "workspace.updated", Handler: s.api.PatchWorkspace},
		{Method: del, Path: "/api/workspaces/:ws", Access: WSOwner, Audit: "workspace.deleted", Handler: s.api.DeleteWorkspace},
		{Method: post, Path: "/api/workspaces/:ws/transfer", Access: WSOwner, Audit: "workspace.transferred", Handler: s.api.TransferWorkspace},
		{Method: post, Path: "/api/workspaces/:ws/leave", Access: WSMember, Audit: "member.left", Handler: s.api.LeaveWorkspace},
		{Method: get, Path: "/api/workspaces/:ws/members", Access: WSMember, Handler: s.api.ListMembers},
		{Method: post, Path: "/api/workspaces/:ws/members", Access: WSAdmin, Audit: "member.added", Handler: s.api.AddMember},
		{Method: patch, Path: "/api/workspaces/:ws/members/:user_id", Access: WSAdmin, Audit: "member.role_changed", Handler: s.api.PatchMember},
		{Method: del, Path: "/api/workspaces/:ws/members/:user_id", Access: WSAdmin, Audit: "member.removed", Handler: s.api.RemoveMember},

		// Usage and cost
		{Method: get, Path: "/api/workspaces/:ws/usage", Access: WSAdmin, Handler: s.api.WorkspaceUsage},
		{Method: get, Path: "/api/workspaces/:ws/usage/limits", Access: WSMember, Handler: s.api.UsageLimits},
		{Method: get, Path: "/api/workspaces/:ws/usage/export", Access: WSAdmin, Audit: "usage.exported", Handler: s.api.ExportUsage}, // CSV
		{Method: get, Path: "/api/workspaces/:ws/feedback", Access: WSAdmin, Handler: s.api.FeedbackSummary},
		{Method: get, Path: "/api/workspaces/:ws/audit", Access: WSAdmin, Handler: s.api.WorkspaceAudit}, // ?format=jsonl streams an export

		// Billing (Stripe; 404 billing_disabled when not configured)
		{Method: get, Path: "/api/billing/plans", Access: SignedIn, Handler: s.api.BillingPlans},
		{Method: get, Path: "/api/workspaces/:ws/billing", Access: WSMember, Handler: s.api.WorkspaceBilling},
		{Method: post, Path: "/api/workspaces/:ws/billing/checkout", Access: WSOwner, Audit: "billing.checkout", Handler: s.api.BillingCheckout},
		{Method: post, Path: "/api/workspaces/:ws/billing/portal", Access: WSOwner, Audit: "billing.portal", Handler: s.api.BillingPortal},
		{Method: post, Path: "/api/stripe/webhook", Access: Public, Handler: s.api.StripeWebhook}, // signed by Stripe

		// Teams
		{Method: get, Path: "/api/workspaces/:ws/teams", Access: WSMember, Handler: s.api.ListTeams},
		{Method: post, Path: "/api/workspaces/:ws/teams", Access: WSAdmin, Audit: "team.created", Handler: s.api.CreateTeam},
		{Method: get, Path: "/api/workspaces/:ws/teams/:team", Access: WSMember, Handler: s.api.GetTeam},
		{Method: patch, Path: "/api/workspaces/:ws/teams/:team", Access: TeamManager, Audit: "team.updated", Handler: s.api.PatchTeam},
		{Method: del, Path: "/api/workspaces/:ws/teams/:team", Access: TeamManager, Audit: "team.deleted", Handler: s.api.DeleteTeam},
		{Method: get, Path: "/api/workspaces/:ws/teams/:team/members", Access: WSMember, Handler: s.api.ListTeamMembers},
		{Method: post, Path: "/api/workspaces/:ws/teams/:team/members", Access: TeamManager, Audit: "team.member_added", Handler: s.api.AddTeamMember},
		{Method: del, Path: "/api/workspaces/:ws/teams/:team/members/:user_id", Access: TeamManager, Audit: "team.member_removed", Handler: s.api.RemoveTeamMember},

		// Group rules: directory groups → a role or a team, applied at SSO/LDAP sign-in (api/group_rules.go)
		{Method: get, Path: "/api/workspaces/:ws/group-rules", Access: WSAdmin, Handler: s.api.ListGroupRules},
		{Method: post, Path: "/api/workspaces/:ws/group-rules", Access: WSAdmin, Audit: "group_rule.created", Handler: s.api.CreateGroupRule},
		{Method: del, Path: "/api/workspaces/:ws/group-rules/:rule_id", Access: WSAdmin, Audit: "group_rule.deleted", Handler: s.api.DeleteGroupRule},

		// Invitations
		{Method: get, Path: "/api/workspaces/:ws/invitations", Access: WSAdmin, Handler: s.api.ListInvitations},
		{Method: post, Path: "/api/workspaces/:ws/invitations", Access: WSAdmin, Audit: "invitation.created", Handler: s.api.CreateInvitation},
		{Method: del, Path: "/api/workspaces/:ws/invitations/:id", Access: WSAdmin, Audit: "invitation.cancelled", Handler: s.api.CancelInvitation},
		{Method: post, Path: "/api/workspaces/:ws/invitations/:id/resend", Access: WSAdmin, Audit: "invitation.resent", Handler: s.api.ResendInvitation},
		{Method: post, Path: "/api/invitations/:token/accept", Access: SignedIn, Audit: "invitation.accepted", Handler: s.api.AcceptInvitationToken},
		{Method: post, Path: "/api/invitations/:token/decline", Access: SignedIn, Audit: "invitation.declined", Handler: s.api.DeclineInvitationToken},

		// Folders (each member's own)
		{Method: get, Path: "/api/workspaces/:ws/folders", Access: WSMember, Handler: s.api.ListFolders},
		{Method: post, Path: "/api/workspaces/:ws/folders", Access: WSMember, Handler: s.api.CreateFolder},
		{Method: patch, Path: "/api/workspaces/:ws/folders/:id", Access: FolderOwner, Handler: s.api.PatchFolder},
		{Method: del, Path: "/api/workspaces/:ws/folders/:id", Access: FolderOwner, Handler: s.api.DeleteFolder},

		// Knowledge bases and documents (visibility rules in store/knowledge.go)
		{Method: get, Path: "/api/workspaces/:ws/knowledge-bases", Access: WSMember, Handler: s.api.ListKnowledgeBases},
		{Method: post, Path: "/api/workspaces/:ws/knowledge-bases", Access: WSAdmin, Audit: "knowledge_base.created", Handler: s.api.CreateKnowledgeBase},
		{Method: get, Path: "/api/workspaces/:ws/knowledge-bases/:kb", Access: KBReader, Handler: s.api.GetKnowledgeBase},
		{Method: patch, Path: "/api/workspaces/:ws/knowledge-bases/:kb", Access: KBManager, Audit: "knowledge_base.updated", Handler: s.api.PatchKnowledgeBase},
		{Method: del, Path: "/api/workspaces/:ws/knowledge-bases/:kb", Access: KBManager, Audit: "knowledge_base.deleted", Handler: s.api.DeleteKnowledgeBase},
		{Method: get, Path: "/api/workspaces/:ws/knowledge-bases/:kb/access", Access: KBManager, Handler: s.api.GetKBAccess},
		{Method: put, Path: "/api/workspaces/:ws/knowledge-bases/:kb/access", Access: KBManager, Audit: "knowledge_base.access_changed", Handler: s.api.PutKBAccess},
		{Method: get, Path: "/api/workspaces/:ws/knowledge-bases/:kb/documents", Access: KBReader, Handler: s.api.ListKBDocuments},
		{Method: post, Path: "/api/workspaces/:ws/knowledge-bases/:kb/documents", Access: KBManager, Audit: "knowledge_base.documents_added", Handler: s.api.AddKBDocuments},
		{Method: post, Path: "/api/workspaces/:ws/knowledge-bases/:kb/documents/remove", Access: KBManager, Audit: "knowledge_base.documents_removed", Handler: s.api.RemoveKBDocuments},
		{Method: post, Path: "/api/workspaces/:ws/documents", Access: WSMember, Upload: true, Audit: "document.uploaded", Handler: s.api.UploadDocument},
		{Method: post, Path: "/api/workspaces/:ws/documents/url", Access: WSMember, Audit: "document.uploaded", Handler: s.api.AddURLDocument},
		{Method: get, Path: "/api/workspaces/:ws/documents", Access: WSMember, Handler: s.api.ListDocuments},
		{Method: post, Path: "/api/workspaces/:ws/documents/bulk", Access: WSMember, Audit: "document.bulk", Handler: s.api.BulkDocuments}, // each document authorised as its own endpoint
		{Method: get, Path: "/api/workspaces/:ws/documents/:doc", Access: DocReader, Handler: s.api.GetDocument},
		{Method: patch, Path: "/api/workspaces/:ws/documents/:doc", Access: DocManager, Audit: "document.renamed", Handler: s.api.PatchDocument},
		{Method: del, Path: "/api/workspaces/:ws/documents/:doc", Access: DocManager, Audit: "document.deleted", Handler: s.api.DeleteDocument},
		{Method: get, Path: "/api/workspaces/:ws/documents/:doc/file", Access: DocReader, Audit: "document.downloaded", Handler: s.api.DocumentFile},
		{Method: get, Path: "/api/workspaces/:ws/documents/:doc/chunks", Access: DocReader, Audit: "passages.read", Handler: s.api.DocumentChunks},
		{Method: post, Path: "/api/workspaces/:ws/documents/:doc/reprocess", Access: DocManager, Audit: "document.reprocessed", Handler: s.api.ReprocessDocument},
		{Method: post, Path: "/api/workspaces/:ws/search", Access: WSMember, Handler: s.api.SearchAPI},

		// Chats (private to their owner unless shared or published)
		{Method: get, Path: "/api/workspaces/:ws/chats", Access: WSMember, Handler: s.api.ListChats},
		{Method: post, Path: "/api/workspaces/:ws/chats", Access: WSMember, Handler: s.api.CreateChat},
		{Method: get, Path: "/api/workspaces/:ws/chats/:chat", Access: ChatReader, Handler: s.api.GetChat},
		{Method: patch, Path: "/api/workspaces/:ws/chats/:chat", Access: ChatOwner, Handler: s.api.PatchChat},
		{Method: del, Path: "/api/workspaces/:ws/chats/:chat", Access: ChatOwner, Audit: "chat.deleted", Handler: s.api.DeleteChat},
		{Method: get, Path: "/api/workspaces/:ws/chats/:chat/messages", Access: ChatReader, Handler: s.api.ListMessages},
		{Method: get, Path: "/api/workspaces/:ws/chats/:chat/export", Access: ChatReader, Audit: "chat.exported", Handler: s.api.ExportChat},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/messages", Access: ChatOwner, Handler: s.api.PostMessage},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/regenerate", Access: ChatOwner, Handler: s.api.Regenerate},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/messages/:msg/edit", Access: ChatOwner, Handler: s.api.EditMessage},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/stop", Access: ChatOwner, Handler: s.api.StopChat},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/messages/:msg/switch", Access: ChatOwner, Handler: s.api.SwitchBranch},
		{Method: get, Path: "/api/workspaces/:ws/chats/:chat/messages/:msg/citations/:n", Access: ChatReader, Handler: s.api.Citation},
		{Method: put, Path: "/api/workspaces/:ws/chats/:chat/messages/:msg/feedback", Access: ChatReader, Handler: s.api.RateMessage},
		{Method: del, Path: "/api/workspaces/:ws/chats/:chat/messages/:msg/feedback", Access: ChatReader, Handler: s.api.UnrateMessage},
		{Method: get, Path: "/api/workspaces/:ws/chats/:chat/shares", Access: ChatOwner, Handler: s.api.ListShares},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/shares", Access: ChatOwner, Audit: "chat.shared", Handler: s.api.CreateShare},
		{Method: del, Path: "/api/workspaces/:ws/chats/:chat/shares/:share_id", Access: ChatOwner, Audit: "chat.unshared", Handler: s.api.DeleteShare},
		{Method: post, Path: "/api/workspaces/:ws/chats/:chat/public", Access: ChatOwner, Audit: "chat.public_link_changed", Handler: s.api.SetPublic},
		{Method: get, Path: "/api/public/chats/:public_id", Access: Public, Handler: s.api.GetPublicChat},
		{Method: get, Path: "/api/me/shared-chats", Access: SignedIn, Key: KeyOwnWorkspace, Handler: s.api.ListSharedWithMe},

		// OpenAI-compatible (workspace-bound API keys)
		{Method: get, Path: "/v1/models", Access: WorkspaceKey, Handler: s.openai.OpenAIModels},
		{Method: get, Path: "/v1/models/:model", Access: WorkspaceKey, Handler: s.openai.OpenAIModel},
		{Method: post, Path: "/v1/responses", Access: WorkspaceKey, Handler: s.openai.OpenAIResponses},
		{Method: post, Path: "/v1/completions", Access: WorkspaceKey, Handler: s.openai.OpenAITextCompletions},
		{Method: post, Path: "/v1/chat/completions", Access: WorkspaceKey, Handler: s.openai.OpenAIChat},
		{Method: post, Path: "/v1/embeddings", Access: WorkspaceKey, Handler: s.openai.OpenAIEmbeddings},

		// Model Context Protocol for other assistants (workspace-bound API keys; GET and DELETE answer 405: no sessions)
		{Method: post, Path: "/mcp", Access: WorkspaceKey, Handler: s.mcp.Serve},
		{Method: get, Path: "/mcp", Access: WorkspaceKey, Handler: s.mcp.Serve},
		{Method: del, Path: "/mcp", Access: WorkspaceKey, Handler: s.mcp.Serve},

		// Instance administration
		{Method: get, Path: "/api/admin/settings", Access: InstanceAdmin, Handler: s.api.GetSettings},
		{Method: patch, Path: "/api/admin/settings", Access: InstanceAdmin, Audit: "settings.changed", Handler: s.api.PatchSettings},
		{Method: get, Path: "/api/admin/users", Access: InstanceAdmin, Handler: s.api.ListUsers},
		{Method: post, Path: "/api/admin/users", Access: InstanceAdmin, Audit: "user.created", Handler: s.api.AdminCreateUser},
		{Method: patch, Path: "/api/admin/users/:id", Access: InstanceAdmin, Audit: "user.updated", Handler: s.api.PatchUser},
		{Method: del, Path: "/api/admin/users/:id", Access: InstanceAdmin, Audit: "user.deleted", Handler: s.api.AdminDeleteUser},
		{Method: post, Path: "/api/admin/users/:id/approve", Access: InstanceAdmin, Audit: "user.approved", Handler: s.api.AdminApproveUser},
		{Method: post, Path: "/api/admin/users/:id/password-reset", Access: InstanceAdmin, Audit: "user.password_reset", Handler: s.api.AdminResetPassword},
		{Method: get, Path: "/api/admin/outbox", Access: InstanceAdmin, Handler: s.api.ListOutbox},
		{Method: get, Path: "/api/admin/audit", Access: InstanceAdmin, Handler: s.api.AdminAudit}, // ?format=jsonl streams an export

		// Operations: online backups, Prometheus metrics (api/ops.go)
		{Method: post, Path: "/api/admin/backups", Access: InstanceAdmin, Audit: "backup.created", Handler: s.api.CreateBackup},
		{Method: get, Path: "/api/admin/backups", Access: InstanceAdmin, Handler: s.api.ListBackups},
		{Method: get, Path: "/api/admin/backups/:name", Access: InstanceAdmin, Audit: "backup.downloaded", Handler: s.api.DownloadBackup},
		{Method: get, Path: "/metrics", Access: s.metricsAccess(), Handler: s.api.Metrics},
		{Method: get, Path: "/api/admin/models", Access: InstanceAdmin, Handler: s.api.AdminModels},
		{Method: post, Path: "/api/admin/models/pull", Access: InstanceAdmin, Audit: "model.pulled", Handler: s.api.PullModel},
		{Method: get, Path: "/api/admin/ollama-hosts", Access: InstanceAdmin, Handler: s.api.ListOllamaHosts},
		{Method: post, Path: "/api/admin/ollama-hosts", Access: InstanceAdmin, Audit: "ollama_host.added", Handler: s.api.AddOllamaHost},
		{Method: patch, Path: "/api/admin/ollama-hosts/:id", Access: InstanceAdmin, Audit: "ollama_host.changed", Handler: s.api.PatchOllamaHost},
		{Method: del, Path: "/api/admin/ollama-hosts/:id", Access: InstanceAdmin, Audit: "ollama_host.removed", Handler: s.api.DeleteOllamaHost},
		{Method: get, Path: "/api/admin/jobs", Access: InstanceAdmin, Handler: s.api.AdminJobs},
		{Method: post, Path: "/api/admin/reindex", Access: InstanceAdmin, Audit: "knowledge.reindexed", Handler: s.api.Reindex},

		// UI pages
		{Method: get, Path: "/", Access: SignedIn, Page: true, Handler: s.ui.PageHome},
		{Method: get, Path: "/login", Access: Public, Page: true, Handler: s.ui.PageLogin},
		{Method: get, Path: "/auth/oidc/:provider", Access: Public, Page: true, Handler: s.ui.SSOStart},             // to the provider (pages_sso.go)
		{Method: get, Path: "/auth/oidc/:provider/callback", Access: Public, Page: true, Handler: s.ui.SSOCallback}, // back from it: a session, or the login page with why not
		{Method: get, Path: "/signup", Access: Public, Page: true, Handler: s.ui.PageSignup},
		{Method: get, Path: "/setup", Access: Public, Page: true, Handler: s.ui.PageSetup},
		{Method: get, Path: "/reset", Access: Public, Page: true, Handler: s.ui.PageReset},
		{Method: get, Path: "/reset/confirm", Access: Public, Page: true, Handler: s.ui.PageResetConfirm},
		{Method: get, Path: "/verify-email", Access: Public, Page: true, Handler: s.ui.PageVerifyEmail},
		{Method: get, Path: "/account", Access: SignedIn, Page: true, Handler: s.ui.PageAccount},
		{Method: get, Path: "/workspaces/new", Access: SignedIn, Page: true, Handler: s.ui.PageNewWorkspace},
		{Method: get, Path: "/w/:ws", Access: WSMember, Page: true, Handler: s.ui.PageWorkspace},
		{Method: get, Path: "/w/:ws/members", Access: WSMember, Page: true, Handler: s.ui.PageMembers},
		{Method: get, Path: "/w/:ws/settings", Access: WSMember, Page: true, Handler: s.ui.PageWorkspaceSettings},
		{Method: get, Path: "/w/:ws/teams", Access: WSMember, Page: true, Handler: s.ui.PageTeams},
		{Method: get, Path: "/w/:ws/groups", Access: WSAdmin, Page: true, Handler: s.ui.PageGroupRules},
		{Method: get, Path: "/w/:ws/folders", Access: WSMember, Page: true, Handler: s.ui.PageFolders},
		{Method: get, Path: "/w/:ws/usage", Access: WSAdmin, Page: true, Handler: s.ui.PageUsage},
		{Method: get, Path: "/w/:ws/feedback", Access: WSAdmin, Page: true, Handler: s.ui.PageFeedback},
		{Method: get, Path: "/w/:ws/audit", Access: WSAdmin, Page: true, Handler: s.ui.PageWorkspaceAudit},
		{Method: get, Path: "/w/:ws/billing", Access: WSMember, Page: true, Handler: s.ui.PageBilling},
		{Method: get, Path: "/w/:ws/documents", Access: WSMember, Page: true, Handler: s.ui.PageDocuments},
		{Method: get, Path: "/w/:ws/documents/:doc", Access: DocReader, Page: true, Handler: s.ui.PageDocument},
		{Method: get, Path: "/w/:ws/knowledge", Access: WSMember, Page: true, Handler: s.ui.PageKnowledgeBases},
		{Method: get, Path: "/w/:ws/search", Access: WSMember, Page: true, Handler: s.ui.PageSearch},
		{Method: get, Path: "/w/:ws/knowledge/:kb", Access: KBReader, Page: true, Handler: s.ui.PageKnowledgeBase},
		{Method: get, Path: "/w/:ws/chats", Access: WSMember, Page: true, Handler: s.ui.PageChats},
		{Method: get, Path: "/w/:ws/c/:chat", Access: ChatReader, Page: true, Handler: s.ui.PageChat},
		{Method: get, Path: "/shared", Access: SignedIn, Page: true, Handler: s.ui.PageShared},
		{Method: get, Path: "/p/:public_id", Access: Public, Page: true, Handler: s.ui.PagePublicChat},
		{Method: get, Path: "/invitations", Access: SignedIn, Page: true, Handler: s.ui.PageInvitations},
		{Method: get, Path: "/invite/:token", Access: Public, Page: true, Handler: s.ui.PageInvite},
		{Method: get, Path: "/admin", Access: InstanceAdmin, Page: true, Handler: s.ui.PageAdminUsers},
		{Method: get, Path: "/admin/settings", Access: InstanceAdmin, Page: true, Handler: s.ui.PageAdminSettings},
		{Method: get, Path: "/admin/outbox", Access: InstanceAdmin, Page: true, Handler: s.ui.PageAdminOutbox},
		{Method: get, Path: "/admin/backups", Access: InstanceAdmin, Page: true, Handler: s.ui.PageAdminBackups},
		{Method: get, Path: "/admin/models", Access: InstanceAdmin, Page: true, Handler: s.ui.PageAdminModels},
		{Method: get, Path: "/admin/jobs", Access: InstanceAdmin, Page: true, Handler: s.ui.PageAdminJobs},
		{Method: get, Path: "/admin/audit", Access: InstanceAdmin, Page: true, Handler: s.ui.PageAdminAudit},
	}
}

// register installs the middleware and the route table on the Fiber app.
func (s *Server) register(web fs.FS) {
	s.fiber.Use(requestID, securityHeaders, s.v1CORS, s.logRequests, s.Bodies.Read) // request/bodies.go: nothing over max_body_kb is read here
	fingerprinted, plain := s.ui.Static(web)
	s.fiber.Use("/static", fingerprinted, plain)
	s.fiber.Use(s.authenticate)
	for _, r := range s.Routes() {
		handlers := []fiber.Handler{s.Bodies.Limit(r.Upload), s.auditActor(r), s.authorize(r)}
		if r.Audit != "" {
			handlers = slices.Insert(handlers, 2, s.auditStep(r)) // around authorize: refusals are recorded too
		}
		if r.Access == WorkspaceKey {
			handlers = append(handlers, s.v1RateLimit)
		}
		s.fiber.Add(r.Method, r.Path, append(handlers, r.Handler)...)
	}
}

// metricsAccess is who may scrape /metrics: instance admins (a personal API key
// without a workspace works as Prometheus's bearer token), or anyone when the
// operator sets metrics_public, e.g. behind a firewall that only lets Prometheus in.
func (s *Server) metricsAccess() Access {
	if s.Config.MetricsPublic {
		return Public
	}
	return InstanceAdmin
}

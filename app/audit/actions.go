package audit

// Actions are the actions Quire records, for the audit pages' filter (the
// route table's Audit entries and the use cases' Record calls use these names;
// docs/API.md describes each).
var Actions = []string{
	"account.deleted", "account.password_changed", "account.updated",
	"api_key.created", "api_key.deleted",
	"audit.dropped", "audit.exported", "audit.pruned",
	"auth.login", "auth.login_failed", "auth.logout",
	"backup.created", "backup.downloaded", "backup.restored",
	"billing.checkout", "billing.portal",
	"chat.deleted", "chat.exported", "chat.public_link_changed", "chat.shared", "chat.unshared",
	"document.bulk", "document.deleted", "document.downloaded", "document.renamed", "document.reprocessed", "document.uploaded",
	"invitation.accepted", "invitation.cancelled", "invitation.created", "invitation.declined", "invitation.resent",
	"knowledge.reindexed",
	"knowledge_base.access_changed", "knowledge_base.created", "knowledge_base.deleted", "knowledge_base.documents_added",
	"knowledge_base.documents_removed", "knowledge_base.updated",
	"member.added", "member.left", "member.removed", "member.role_changed",
	"model.pulled",
	"passages.read",
	"settings.changed",
	"team.created", "team.deleted", "team.member_added", "team.member_removed", "team.updated",
	"usage.exported",
	"user.approved", "user.created", "user.deleted", "user.password_reset", "user.updated",
	"workspace.created", "workspace.deleted", "workspace.transferred", "workspace.updated",
}

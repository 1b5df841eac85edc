package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"quire/app/auth"
	"quire/app/config"
	qhttp "quire/app/http"
	"quire/app/http/api"
	"quire/app/llm"
	"quire/store"
)

// The tenancy walk: every route of the route table, as every kind of caller.
// A new route is walked automatically; one with an unknown path parameter fails
// until the walk learns how to fill it.

var roles = []string{"anonymous", "outsider", "member", "admin", "owner", "instance-admin", "bound-key", "other-key"}

// isKeyRole: the caller holds a personal API key bound to a workspace, the
// walk's ("bound-key") or another one of theirs ("other-key").
func isKeyRole(role string) bool { return role == "bound-key" || role == "other-key" }

// world is a fresh set of people and a workspace for one (route, role) case, so
// destructive routes (delete workspace, delete account) cannot spoil other cases.
type world struct {
	root, owner, admin, member, target, spare, outsider user
	ws, other                                           api.WorkspaceJSON // other: owned by spare, for invitations to the caller
	team                                                *store.Team       // owned by target, a plain member
	chat                                                *store.Chat       // made on demand for the caller
	kb                                                  *store.KnowledgeBase
	doc                                                 *store.Document
	share                                               *store.Share
	mine                                                api.WorkspaceJSON // the owner's second workspace, for the key callers
	key                                                 user              // the owner with a workspace-bound API key
	keyWS, elsewhere                                    string            // the key's workspace, and the holder's one it is not bound to
}

func newWorld(ts *testServer) *world {
	w := &world{}
	for _, p := range []struct {
		u    *user
		name string
	}{{&w.root, "root"}, {&w.owner, "owner"}, {&w.admin, "admin"}, {&w.member, "member"}, {&w.target, "target"}, {&w.spare, "spare"}, {&w.outsider, "outsider"}} {
		*p.u = ts.quickUser(p.name)
	}
	if !w.root.IsAdmin {
		// Only the instance's first user is admin; promote the walk's root explicitly.
		t := true
		ts.store.UpdateUserAdmin(context.Background(), w.root.ID, &t, nil)
	}
	ctx := context.Background()
	ws, err := ts.store.CreateWorkspace(ctx, w.owner.ID, "Walk")
	if err != nil {
		ts.t.Fatal(err)
	}
	w.ws = api.WorkspaceView(ws)
	for _, m := range []struct {
		u    user
		role string
	}{{w.admin, "admin"}, {w.member, "member"}, {w.target, "member"}} {
		if err := ts.store.AddMember(ctx, ws.ID, m.u.ID, m.role); err != nil {
			ts.t.Fatal(err)
		}
	}
	var err2 error
	if w.team, err2 = ts.store.CreateTeam(ctx, ws.ID, w.target.ID, "Walkers", ""); err2 != nil {
		ts.t.Fatal(err2)
	}
	other, err := ts.store.CreateWorkspace(ctx, w.spare.ID, "Other")
	if err != nil {
		ts.t.Fatal(err)
	}
	w.other = api.WorkspaceView(other)
	return w
}

func (w *world) caller(role string) *user {
	switch role {
	case "outsider":
		return &w.outsider
	case "member":
		return &w.member
	case "admin":
		return &w.admin
	case "owner":
		return &w.owner
	case "instance-admin":
		return &w.root
	}
	return nil
}

// keyHolder gives the walk's owner everything a key that escaped its
// workspace could reach: instance administration, a second workspace, chats
// shared with them in both. Their key is bound to the walk's workspace
// ("bound-key") or to the second one ("other-key").
func (w *world) keyHolder(ts *testServer, role string) *user {
	ctx := context.Background()
	t := true
	if _, err := ts.store.UpdateUserAdmin(ctx, w.owner.ID, &t, nil); err != nil {
		ts.t.Fatal(err)
	}
	mine, err := ts.store.CreateWorkspace(ctx, w.owner.ID, "Mine")
	if err != nil {
		ts.t.Fatal(err)
	}
	w.mine = api.WorkspaceView(mine)
	if err := ts.store.AddMember(ctx, mine.ID, w.spare.ID, "member"); err != nil {
		ts.t.Fatal(err)
	}
	for _, c := range []struct {
		ws string
		by int64
	}{{w.ws.ID, w.admin.ID}, {mine.ID, w.spare.ID}} {
		ch, err := ts.store.CreateChat(ctx, c.ws, c.by, store.ChatFields{})
		if err != nil {
			ts.t.Fatal(err)
		}
		if _, err := ts.store.ShareChat(ctx, c.ws, ch.ID, w.owner.ID, c.by); err != nil {
			ts.t.Fatal(err)
		}
	}
	w.keyWS, w.elsewhere = w.ws.ID, mine.ID
	if role == "other-key" {
		w.keyWS, w.elsewhere = mine.ID, w.ws.ID
	}
	secret, h := auth.NewToken("qk_")
	if _, err := ts.store.CreateToken(ctx, w.owner.ID, store.TokenAPIKey, "walk key", h, w.keyWS, nil); err != nil {
		ts.t.Fatal(err)
	}
	w.key = user{w.owner.User, secret}
	return &w.key
}

var paramRe = regexp.MustCompile(`:(\w+)|\*`)

// fillPath substitutes every path parameter with a real id of the world.
func (w *world) fillPath(t *testing.T, ts *testServer, path string, caller *user) string {
	return paramRe.ReplaceAllStringFunc(path, func(p string) string {
		switch p {
		case ":ws":
			return w.ws.ID
		case ":user_id":
			return strconv.FormatInt(w.target.ID, 10)
		case ":model":
			return "quire-tiny-chat"
		case ":provider":
			return walkProvider // sso_test.go
		case ":rule_id":
			r, err := ts.store.CreateGroupRule(context.Background(), w.ws.ID, "walkers", "member", 0)
			if err != nil {
				t.Fatal(err)
			}
			return strconv.FormatInt(r.ID, 10)
		}
		if strings.HasPrefix(path, "/api/me/tokens/") && p == ":id" {
			if caller == nil {
				return "1"
			}
			// The caller's own API key.
			_, h := auth.NewToken("qk_")
			tok, err := ts.store.CreateToken(context.Background(), caller.ID, store.TokenAPIKey, "k", h, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			return strconv.FormatInt(tok.ID, 10)
		}
		if p == ":name" && strings.HasPrefix(path, "/api/admin/backups/") {
			// A real backup in the instance's backups folder.
			info, err := ts.srv.backups.Run(context.Background(), "manual")
			if err != nil {
				t.Fatal(err)
			}
			return info.Name
		}
		if strings.HasPrefix(path, "/api/admin/ollama-hosts/") && p == ":id" {
			// A host of the pool the admin added (nothing listens there).
			u := fmt.Sprintf("http://127.0.0.1:%d", 20000+emailSeq.Add(1))
			if err := ts.srv.settings.EditOllamaHosts(context.Background(), func(h []config.OllamaHost) ([]config.OllamaHost, error) {
				return append(h, config.OllamaHost{URL: u}), nil
			}); err != nil {
				t.Fatal(err)
			}
			return llm.HostID(u)
		}
		if strings.HasPrefix(path, "/api/admin/users/") && p == ":id" {
			return strconv.FormatInt(w.target.ID, 10)
		}
		ctx := context.Background()
		switch {
		case p == ":team":
			return strconv.FormatInt(w.team.ID, 10)
		case p == ":kb", p == ":doc":
			// A shared knowledge base and a document in it, made by the admin:
			// members see both and manage neither.
			if w.kb == nil {
				var err error
				if w.kb, err = ts.store.CreateKnowledgeBase(ctx, w.ws.ID, w.admin.ID, "Handbook", "", true); err != nil {
					t.Fatal(err)
				}
				rel := w.ws.ID + "/walk-doc"
				os.MkdirAll(filepath.Join(ts.cfg.FilesDir(), w.ws.ID), 0o750)
				os.WriteFile(filepath.Join(ts.cfg.FilesDir(), rel), []byte("hello"), 0o640)
				if w.doc, _, err = ts.store.CreateDocument(ctx, w.ws.ID, store.NewDocument{Name: "walk.txt", OriginalFilename: "walk.txt",
					MimeType: "text/plain", FileSize: 5, StoragePath: rel, UploadedBy: w.admin.ID, KnowledgeBaseIDs: []string{w.kb.ID}}); err != nil {
					t.Fatal(err)
				}
			}
			if p == ":kb" {
				return w.kb.ID
			}
			return w.doc.ID
		case p == ":msg":
			m, err := ts.store.AddMessage(ctx, w.ws.ID, w.chat.ID, "user", "walk question", "", "", store.MsgComplete)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(path, "/feedback") || strings.Contains(path, "/citations/") {
				// Answers are rated and cite; the caller has rated this one already, so withdrawing finds it.
				a, err := ts.store.AddMessage(ctx, w.ws.ID, w.chat.ID, "assistant", "", m.ID, "walk-model", store.MsgStreaming)
				if err != nil {
					t.Fatal(err)
				}
				if err := ts.store.FinishMessage(ctx, w.ws.ID, a.ID, store.MessageResult{Content: "Walk answer [1].", Status: store.MsgComplete,
					Citations: json.RawMessage(`[{"n":1,"chunk_id":"walk-chunk","document_id":"walk-doc","document_name":"walk.txt","snippet":"hello","cited":true}]`)}); err != nil {
					t.Fatal(err)
				}
				if caller != nil {
					if _, err := ts.store.SetFeedback(ctx, w.ws.ID, w.chat.ID, a.ID, caller.ID, 1, ""); err != nil {
						t.Fatal(err)
					}
				}
				return a.ID
			}
			return m.ID
		case p == ":n":
			return "1"
		case p == ":chat", p == ":share_id", p == ":public_id":
			// The caller's own chat (a member's for callers without one), shared
			// with the target member and published.
			if w.chat == nil {
				owner := w.member.ID
				if caller != nil && caller != &w.outsider && caller != &w.root {
					owner = caller.ID
				}
				var err error
				if w.chat, err = ts.store.CreateChat(ctx, w.ws.ID, owner, store.ChatFields{}); err != nil {
					t.Fatal(err)
				}
				if w.share, err = ts.store.ShareChat(ctx, w.ws.ID, w.chat.ID, w.target.ID, owner); err != nil {
					t.Fatal(err)
				}
				if err := ts.store.SetPublicID(ctx, w.ws.ID, w.chat.ID, "walk-public-"+w.chat.ID); err != nil {
					t.Fatal(err)
				}
			}
			switch p {
			case ":chat":
				return w.chat.ID
			case ":share_id":
				return strconv.FormatInt(w.share.ID, 10)
			}
			return "walk-public-" + w.chat.ID
		case strings.HasPrefix(path, "/api/workspaces/:ws/folders/"):
			// The caller's own folder (a member's for callers without one).
			owner := w.member.ID
			if caller != nil && caller != &w.outsider && caller != &w.root {
				owner = caller.ID
			}
			f, err := ts.store.CreateFolder(ctx, w.ws.ID, owner, 0, "Walk folder")
			if err != nil {
				t.Fatal(err)
			}
			return strconv.FormatInt(f.ID, 10)
		case strings.HasPrefix(path, "/api/workspaces/:ws/invitations/"):
			_, h := auth.NewToken("qi_")
			inv, err := ts.store.CreateInvitation(ctx, w.ws.ID, uniqueEmail("invitee"), "member", 0, w.owner.ID, h, time.Now().Add(time.Hour), 0)
			if err != nil {
				t.Fatal(err)
			}
			return strconv.FormatInt(inv.ID, 10)
		case p == ":token" || strings.HasPrefix(path, "/api/me/invitations/"):
			// A live invitation to the caller (into a workspace they are not in).
			email := uniqueEmail("invitee")
			if caller != nil {
				email = caller.Email
			}
			secret, h := auth.NewToken("qi_")
			inv, err := ts.store.CreateInvitation(ctx, w.other.ID, email, "member", 0, w.spare.ID, h, time.Now().Add(time.Hour), 0)
			if err != nil {
				t.Fatal(err)
			}
			if p == ":token" {
				return secret
			}
			return strconv.FormatInt(inv.ID, 10)
		}
		t.Fatalf("route %s: the tenancy walk does not know how to fill %s; teach fillPath", path, p)
		return ""
	})
}

// body gives each route a valid request body so that allowed callers succeed.
func (w *world) body(method, path string, caller *user) any {
	email := ""
	if caller != nil {
		email = caller.Email
	}
	switch method + " " + path {
	case "POST /api/auth/signup":
		return map[string]string{"email": uniqueEmail("walk"), "password": testPassword}
	case "POST /api/auth/login":
		if email == "" {
			email = w.spare.Email
		}
		return map[string]string{"email": email, "password": testPassword}
	case "POST /api/auth/verify-email":
		return map[string]string{"token": "not-a-token"}
	case "POST /api/auth/password-reset":
		return map[string]string{"email": uniqueEmail("nobody")}
	case "POST /api/auth/password-reset/confirm":
		return map[string]string{"token": "not-a-token", "password": testPassword}
	case "PATCH /api/me":
		return map[string]string{"name": "Renamed"}
	case "DELETE /api/me":
		return map[string]string{"current_password": testPassword}
	case "POST /api/me/password":
		return map[string]string{"current_password": testPassword, "new_password": "another-password"}
	case "POST /api/me/tokens":
		return map[string]string{"name": "walk key"}
	case "POST /api/workspaces":
		return map[string]string{"name": "Another"}
	case "PATCH /api/workspaces/:ws":
		return map[string]string{"name": "Renamed"}
	case "POST /api/workspaces/:ws/transfer":
		return map[string]int64{"user_id": w.target.ID}
	case "POST /api/workspaces/:ws/members":
		return map[string]string{"email": w.spare.Email, "role": "member"}
	case "PATCH /api/workspaces/:ws/members/:user_id":
		return map[string]string{"role": "admin"}
	case "POST /api/admin/ollama-hosts":
		return map[string]string{"url": fmt.Sprintf("http://127.0.0.1:%d", 20000+emailSeq.Add(1))}
	case "PATCH /api/admin/ollama-hosts/:id":
		return map[string]int{"weight": 3}
	case "POST /api/admin/models/pull":
		return map[string]string{"name": "no-such-model"}
	case "PATCH /api/admin/settings":
		return map[string]string{"signup_policy": "open"}
	case "PATCH /api/admin/users/:id":
		return map[string]bool{"is_admin": false}
	case "POST /api/admin/users":
		return map[string]string{"email": uniqueEmail("created"), "name": "Created"}
	case "POST /api/workspaces/:ws/teams", "PATCH /api/workspaces/:ws/teams/:team":
		return map[string]string{"name": "Team " + uniqueEmail("t")}
	case "POST /api/workspaces/:ws/teams/:team/members":
		return map[string]int64{"user_id": w.member.ID}
	case "POST /api/workspaces/:ws/group-rules":
		return map[string]string{"group": "walkers", "role": "member"}
	case "POST /api/workspaces/:ws/invitations":
		return map[string]string{"email": uniqueEmail("invitee"), "role": "member"}
	case "POST /api/workspaces/:ws/folders", "PATCH /api/workspaces/:ws/folders/:id":
		return map[string]string{"name": "Projects"}
	case "POST /api/workspaces/:ws/chats", "PATCH /api/workspaces/:ws/chats/:chat":
		return map[string]string{"name": "Walk chat"}
	case "POST /api/workspaces/:ws/chats/:chat/shares":
		return map[string]int64{"user_id": w.admin.ID}
	case "POST /api/workspaces/:ws/knowledge-bases", "PATCH /api/workspaces/:ws/knowledge-bases/:kb":
		return map[string]string{"name": "KB " + uniqueEmail("kb")}
	case "PUT /api/workspaces/:ws/knowledge-bases/:kb/access":
		return map[string]any{"shared_with_workspace": true, "team_ids": []int64{}}
	case "POST /api/workspaces/:ws/knowledge-bases/:kb/documents", "POST /api/workspaces/:ws/knowledge-bases/:kb/documents/remove":
		return map[string]any{"document_ids": []string{w.doc.ID}}
	case "POST /api/workspaces/:ws/documents/bulk":
		return map[string]any{"action": "reprocess", "document_ids": []string{"walk-none"}} // a bulk action answers 200 even when nothing matched
	case "POST /api/workspaces/:ws/documents/url":
		return map[string]string{"url": "http://127.0.0.1:1/page.html"}
	case "POST /api/workspaces/:ws/search":
		return map[string]any{"query": "handbook", "mode": "keyword"}
	case "PATCH /api/workspaces/:ws/documents/:doc":
		return map[string]string{"name": "renamed.txt"}
	case "POST /api/workspaces/:ws/billing/checkout":
		return map[string]string{"price_id": walkPriceID} // seeded by the billing walk (billing_api_test.go)
	case "POST /api/workspaces/:ws/chats/:chat/public":
		return map[string]bool{"enabled": true}
	case "POST /api/workspaces/:ws/chats/:chat/messages", "POST /api/workspaces/:ws/chats/:chat/messages/:msg/edit":
		return map[string]string{"content": "walk question"}
	case "PUT /api/workspaces/:ws/chats/:chat/messages/:msg/feedback":
		return map[string]string{"rating": "up", "note": "walk note"}
	}
	if method == "GET" || method == "DELETE" {
		return nil
	}
	return map[string]any{}
}

// accessSpec is who may call each route, written from docs/API.md independently of
// the route table: a wrong entry in the table fails the walk, and a new route
// fails until its intended access is written down here.
var accessSpec = map[string]qhttp.Access{
	"GET /api/health":                                                qhttp.Public,
	"GET /api/ready":                                                 qhttp.Public,
	"POST /api/auth/signup":                                          qhttp.Public,
	"POST /api/auth/login":                                           qhttp.Public,
	"POST /api/auth/ldap/login":                                      qhttp.Public,
	"POST /api/setup":                                                qhttp.Public,
	"POST /api/auth/logout":                                          qhttp.SignedIn,
	"POST /api/auth/verify-email":                                    qhttp.Public,
	"POST /api/auth/password-reset":                                  qhttp.Public,
	"POST /api/auth/password-reset/confirm":                          qhttp.Public,
	"GET /api/me":                                                    qhttp.SignedIn,
	"PATCH /api/me":                                                  qhttp.SignedIn,
	"DELETE /api/me":                                                 qhttp.SignedIn,
	"POST /api/me/password":                                          qhttp.SignedIn,
	"GET /api/me/tokens":                                             qhttp.SignedIn,
	"POST /api/me/tokens":                                            qhttp.SignedIn,
	"DELETE /api/me/tokens/:id":                                      qhttp.SignedIn,
	"GET /api/workspaces":                                            qhttp.SignedIn,
	"POST /api/workspaces":                                           qhttp.SignedIn,
	"GET /api/workspaces/:ws":                                        qhttp.WSMember,
	"PATCH /api/workspaces/:ws":                                      qhttp.WSAdmin,
	"DELETE /api/workspaces/:ws":                                     qhttp.WSOwner,
	"POST /api/workspaces/:ws/transfer":                              qhttp.WSOwner,
	"POST /api/workspaces/:ws/leave":                                 qhttp.WSMember,
	"GET /api/workspaces/:ws/members":                                qhttp.WSMember,
	"POST /api/workspaces/:ws/members":                               qhttp.WSAdmin,
	"PATCH /api/workspaces/:ws/members/:user_id":                     qhttp.WSAdmin,
	"DELETE /api/workspaces/:ws/members/:user_id":                    qhttp.WSAdmin,
	"GET /api/me/invitations":                                        qhttp.SignedIn,
	"POST /api/me/invitations/:id/accept":                            qhttp.SignedIn,
	"POST /api/me/invitations/:id/decline":                           qhttp.SignedIn,
	"GET /api/workspaces/:ws/teams":                                  qhttp.WSMember,
	"POST /api/workspaces/:ws/teams":                                 qhttp.WSAdmin,
	"GET /api/workspaces/:ws/teams/:team":                            qhttp.WSMember,
	"PATCH /api/workspaces/:ws/teams/:team":                          qhttp.TeamManager,
	"DELETE /api/workspaces/:ws/teams/:team":                         qhttp.TeamManager,
	"GET /api/workspaces/:ws/teams/:team/members":                    qhttp.WSMember,
	"POST /api/workspaces/:ws/teams/:team/members":                   qhttp.TeamManager,
	"DELETE /api/workspaces/:ws/teams/:team/members/:user_id":        qhttp.TeamManager,
	"GET /api/workspaces/:ws/invitations":                            qhttp.WSAdmin,
	"POST /api/workspaces/:ws/invitations":                           qhttp.WSAdmin,
	"DELETE /api/workspaces/:ws/invitations/:id":                     qhttp.WSAdmin,
	"POST /api/workspaces/:ws/invitations/:id/resend":                qhttp.WSAdmin,
	"POST /api/invitations/:token/accept":                            qhttp.SignedIn,
	"POST /api/invitations/:token/decline":                           qhttp.SignedIn,
	"GET /api/workspaces/:ws/folders":                                qhttp.WSMember,
	"POST /api/workspaces/:ws/folders":                               qhttp.WSMember,
	"PATCH /api/workspaces/:ws/folders/:id":                          qhttp.FolderOwner,
	"DELETE /api/workspaces/:ws/folders/:id":                         qhttp.FolderOwner,
	"GET /w/:ws/teams":                                               qhttp.WSMember,
	"GET /w/:ws/folders":                                             qhttp.WSMember,
	"GET /invitations":                                               qhttp.SignedIn,
	"GET /invite/:token":                                             qhttp.Public,
	"GET /api/workspaces/:ws/chats":                                  qhttp.WSMember,
	"POST /api/workspaces/:ws/chats":                                 qhttp.WSMember,
	"GET /api/workspaces/:ws/chats/:chat":                            qhttp.ChatReader,
	"PATCH /api/workspaces/:ws/chats/:chat":                          qhttp.ChatOwner,
	"DELETE /api/workspaces/:ws/chats/:chat":                         qhttp.ChatOwner,
	"GET /api/workspaces/:ws/chats/:chat/messages":                   qhttp.ChatReader,
	"GET /api/workspaces/:ws/chats/:chat/export":                     qhttp.ChatReader,
	"GET /api/workspaces/:ws/chats/:chat/shares":                     qhttp.ChatOwner,
	"POST /api/workspaces/:ws/chats/:chat/shares":                    qhttp.ChatOwner,
	"DELETE /api/workspaces/:ws/chats/:chat/shares/:share_id":        qhttp.ChatOwner,
	"POST /api/workspaces/:ws/chats/:chat/public":                    qhttp.ChatOwner,
	"GET /api/public/chats/:public_id":                               qhttp.Public,
	"GET /api/me/shared-chats":                                       qhttp.SignedIn,
	"POST /api/workspaces/:ws/chats/:chat/messages":                  qhttp.ChatOwner,
	"POST /api/workspaces/:ws/chats/:chat/regenerate":                qhttp.ChatOwner,
	"POST /api/workspaces/:ws/chats/:chat/messages/:msg/edit":        qhttp.ChatOwner,
	"POST /api/workspaces/:ws/chats/:chat/stop":                      qhttp.ChatOwner,
	"GET /w/:ws/chats":                                               qhttp.WSMember,
	"GET /w/:ws/c/:chat":                                             qhttp.ChatReader,
	"GET /shared":                                                    qhttp.SignedIn,
	"GET /p/:public_id":                                              qhttp.Public,
	"GET /v1/models":                                                 qhttp.WorkspaceKey,
	"GET /v1/models/:model":                                          qhttp.WorkspaceKey,
	"POST /v1/responses":                                             qhttp.WorkspaceKey,
	"POST /v1/completions":                                           qhttp.WorkspaceKey,
	"POST /v1/chat/completions":                                      qhttp.WorkspaceKey,
	"POST /v1/embeddings":                                            qhttp.WorkspaceKey,
	"POST /mcp":                                                      qhttp.WorkspaceKey,
	"GET /mcp":                                                       qhttp.WorkspaceKey,
	"DELETE /mcp":                                                    qhttp.WorkspaceKey,
	"GET /api/me/usage":                                              qhttp.SignedIn,
	"GET /api/workspaces/:ws/usage":                                  qhttp.WSAdmin,
	"GET /api/workspaces/:ws/usage/limits":                           qhttp.WSMember,
	"GET /api/workspaces/:ws/usage/export":                           qhttp.WSAdmin,
	"GET /w/:ws/usage":                                               qhttp.WSAdmin,
	"GET /api/billing/plans":                                         qhttp.SignedIn,
	"GET /api/workspaces/:ws/billing":                                qhttp.WSMember,
	"POST /api/workspaces/:ws/billing/checkout":                      qhttp.WSOwner,
	"POST /api/workspaces/:ws/billing/portal":                        qhttp.WSOwner,
	"POST /api/stripe/webhook":                                       qhttp.Public,
	"GET /w/:ws/billing":                                             qhttp.WSMember,
	"GET /api/workspaces/:ws/knowledge-bases":                        qhttp.WSMember,
	"POST /api/workspaces/:ws/knowledge-bases":                       qhttp.WSAdmin,
	"GET /api/workspaces/:ws/knowledge-bases/:kb":                    qhttp.KBReader,
	"PATCH /api/workspaces/:ws/knowledge-bases/:kb":                  qhttp.KBManager,
	"DELETE /api/workspaces/:ws/knowledge-bases/:kb":                 qhttp.KBManager,
	"GET /api/workspaces/:ws/knowledge-bases/:kb/access":             qhttp.KBManager,
	"PUT /api/workspaces/:ws/knowledge-bases/:kb/access":             qhttp.KBManager,
	"GET /api/workspaces/:ws/knowledge-bases/:kb/documents":          qhttp.KBReader,
	"POST /api/workspaces/:ws/knowledge-bases/:kb/documents":         qhttp.KBManager,
	"POST /api/workspaces/:ws/knowledge-bases/:kb/documents/remove":  qhttp.KBManager,
	"POST /api/workspaces/:ws/documents":                             qhttp.WSMember,
	"GET /api/workspaces/:ws/documents":                              qhttp.WSMember,
	"GET /api/workspaces/:ws/documents/:doc":                         qhttp.DocReader,
	"PATCH /api/workspaces/:ws/documents/:doc":                       qhttp.DocManager,
	"DELETE /api/workspaces/:ws/documents/:doc":                      qhttp.DocManager,
	"GET /api/workspaces/:ws/documents/:doc/file":                    qhttp.DocReader,
	"GET /api/workspaces/:ws/documents/:doc/chunks":                  qhttp.DocReader,
	"GET /w/:ws/documents":                                           qhttp.WSMember,
	"GET /w/:ws/documents/:doc":                                      qhttp.DocReader,
	"GET /w/:ws/knowledge":                                           qhttp.WSMember,
	"GET /w/:ws/knowledge/:kb":                                       qhttp.KBReader,
	"POST /api/workspaces/:ws/documents/url":                         qhttp.WSMember,
	"POST /api/workspaces/:ws/documents/bulk":                        qhttp.WSMember,
	"GET /api/admin/models":                                          qhttp.InstanceAdmin,
	"POST /api/admin/models/pull":                                    qhttp.InstanceAdmin,
	"GET /api/admin/ollama-hosts":                                    qhttp.InstanceAdmin,
	"POST /api/admin/ollama-hosts":                                   qhttp.InstanceAdmin,
	"PATCH /api/admin/ollama-hosts/:id":                              qhttp.InstanceAdmin,
	"DELETE /api/admin/ollama-hosts/:id":                             qhttp.InstanceAdmin,
	"GET /api/admin/jobs":                                            qhttp.InstanceAdmin,
	"GET /admin/models":                                              qhttp.InstanceAdmin,
	"GET /admin/jobs":                                                qhttp.InstanceAdmin,
	"POST /api/workspaces/:ws/search":                                qhttp.WSMember,
	"GET /w/:ws/search":                                              qhttp.WSMember,
	"POST /api/workspaces/:ws/documents/:doc/reprocess":              qhttp.DocManager,
	"POST /api/admin/reindex":                                        qhttp.InstanceAdmin,
	"GET /api/admin/settings":                                        qhttp.InstanceAdmin,
	"PATCH /api/admin/settings":                                      qhttp.InstanceAdmin,
	"GET /api/admin/users":                                           qhttp.InstanceAdmin,
	"PATCH /api/admin/users/:id":                                     qhttp.InstanceAdmin,
	"POST /api/admin/users":                                          qhttp.InstanceAdmin,
	"DELETE /api/admin/users/:id":                                    qhttp.InstanceAdmin,
	"POST /api/admin/users/:id/approve":                              qhttp.InstanceAdmin,
	"POST /api/admin/users/:id/password-reset":                       qhttp.InstanceAdmin,
	"GET /api/admin/outbox":                                          qhttp.InstanceAdmin,
	"POST /api/admin/backups":                                        qhttp.InstanceAdmin,
	"GET /api/admin/backups":                                         qhttp.InstanceAdmin,
	"GET /api/admin/backups/:name":                                   qhttp.InstanceAdmin,
	"GET /metrics":                                                   qhttp.InstanceAdmin, // unless metrics_public
	"GET /":                                                          qhttp.SignedIn,
	"GET /login":                                                     qhttp.Public,
	"GET /auth/oidc/:provider":                                       qhttp.Public,
	"GET /auth/oidc/:provider/callback":                              qhttp.Public,
	"GET /api/workspaces/:ws/group-rules":                            qhttp.WSAdmin,
	"POST /api/workspaces/:ws/group-rules":                           qhttp.WSAdmin,
	"DELETE /api/workspaces/:ws/group-rules/:rule_id":                qhttp.WSAdmin,
	"GET /w/:ws/groups":                                              qhttp.WSAdmin,
	"GET /signup":                                                    qhttp.Public,
	"GET /setup":                                                     qhttp.Public,
	"GET /reset":                                                     qhttp.Public,
	"GET /reset/confirm":                                             qhttp.Public,
	"GET /verify-email":                                              qhttp.Public,
	"GET /account":                                                   qhttp.SignedIn,
	"GET /workspaces/new":                                            qhttp.SignedIn,
	"GET /w/:ws":                                                     qhttp.WSMember,
	"GET /w/:ws/members":                                             qhttp.WSMember,
	"GET /w/:ws/settings":                                            qhttp.WSMember,
	"GET /admin":                                                     qhttp.InstanceAdmin,
	"GET /admin/settings":                                            qhttp.InstanceAdmin,
	"GET /admin/outbox":                                              qhttp.InstanceAdmin,
	"GET /admin/backups":                                             qhttp.InstanceAdmin,
	"POST /api/workspaces/:ws/chats/:chat/messages/:msg/switch":      qhttp.ChatOwner,
	"GET /api/workspaces/:ws/chats/:chat/messages/:msg/citations/:n": qhttp.ChatReader,
	"PUT /api/workspaces/:ws/chats/:chat/messages/:msg/feedback":     qhttp.ChatReader,
	"DELETE /api/workspaces/:ws/chats/:chat/messages/:msg/feedback":  qhttp.ChatReader,
	"GET /api/workspaces/:ws/feedback":                               qhttp.WSAdmin,
	"GET /w/:ws/feedback":                                            qhttp.WSAdmin,

	// The audit log: instance admins see everything, workspace owners and admins their workspace.
	"GET /api/admin/audit":          qhttp.InstanceAdmin,
	"GET /admin/audit":              qhttp.InstanceAdmin,
	"GET /api/workspaces/:ws/audit": qhttp.WSAdmin,
	"GET /w/:ws/audit":              qhttp.WSAdmin,
}

// keyRule is what a personal API key bound to a workspace may reach on a
// route (docs/API.md, Auth: its workspace's routes, /v1, /mcp and the caller's own
// /api/me reads; never /api/admin/* or other workspaces). Written down per
// route like accessSpec, so a new route fails the walk until someone decides.
type keyRule int

const (
	keyNo    keyRule = iota // refused: 403 on the API; pages treat the key as no session
	keyYes                  // any bound key: public routes, own account reads, /v1 (the key's workspace)
	keyWS                   // the key's workspace only: as its holder there; a key bound elsewhere gets 403
	keyOwnWS                // allowed, but the list shows only the key's workspace's items
)

var keySpec = map[string]keyRule{
	"GET /api/health":                                               keyYes,
	"GET /api/ready":                                                keyYes,
	"POST /api/auth/signup":                                         keyYes,
	"POST /api/auth/login":                                          keyYes,
	"POST /api/auth/ldap/login":                                     keyYes,
	"POST /api/setup":                                               keyYes,
	"POST /api/auth/logout":                                         keyYes,
	"POST /api/auth/verify-email":                                   keyYes,
	"POST /api/auth/password-reset":                                 keyYes,
	"POST /api/auth/password-reset/confirm":                         keyYes,
	"GET /api/me":                                                   keyYes,
	"PATCH /api/me":                                                 keyNo,
	"DELETE /api/me":                                                keyNo,
	"POST /api/me/password":                                         keyNo,
	"GET /api/me/tokens":                                            keyNo,
	"POST /api/me/tokens":                                           keyNo,
	"DELETE /api/me/tokens/:id":                                     keyNo,
	"GET /api/workspaces":                                           keyOwnWS,
	"POST /api/workspaces":                                          keyNo,
	"GET /api/workspaces/:ws":                                       keyWS,
	"PATCH /api/workspaces/:ws":                                     keyWS,
	"DELETE /api/workspaces/:ws":                                    keyWS,
	"POST /api/workspaces/:ws/transfer":                             keyWS,
	"POST /api/workspaces/:ws/leave":                                keyWS,
	"GET /api/workspaces/:ws/members":                               keyWS,
	"POST /api/workspaces/:ws/members":                              keyWS,
	"PATCH /api/workspaces/:ws/members/:user_id":                    keyWS,
	"DELETE /api/workspaces/:ws/members/:user_id":                   keyWS,
	"GET /api/me/invitations":                                       keyNo,
	"POST /api/me/invitations/:id/accept":                           keyNo,
	"POST /api/me/invitations/:id/decline":                          keyNo,
	"GET /api/workspaces/:ws/teams":                                 keyWS,
	"POST /api/workspaces/:ws/teams":                                keyWS,
	"GET /api/workspaces/:ws/teams/:team":                           keyWS,
	"PATCH /api/workspaces/:ws/teams/:team":                         keyWS,
	"DELETE /api/workspaces/:ws/teams/:team":                        keyWS,
	"GET /api/workspaces/:ws/teams/:team/members":                   keyWS,
	"POST /api/workspaces/:ws/teams/:team/members":                  keyWS,
	"DELETE /api/workspaces/:ws/teams/:team/members/:user_id":       keyWS,
	"GET /api/workspaces/:ws/invitations":                           keyWS,
	"POST /api/workspaces/:ws/invitations":                          keyWS,
	"DELETE /api/workspaces/:ws/invitations/:id":                    keyWS,
	"POST /api/workspaces/:ws/invitations/:id/resend":               keyWS,
	"POST /api/invitations/:token/accept":                           keyNo,
	"POST /api/invitations/:token/decline":                          keyNo,
	"GET /api/workspaces/:ws/folders":                               keyWS,
	"POST /api/workspaces/:ws/folders":                              keyWS,
	"PATCH /api/workspaces/:ws/folders/:id":                         keyWS,
	"DELETE /api/workspaces/:ws/folders/:id":                        keyWS,
	"GET /w/:ws/teams":                                              keyNo,
	"GET /w/:ws/folders":                                            keyNo,
	"GET /invitations":                                              keyNo,
	"GET /invite/:token":                                            keyYes,
	"GET /api/workspaces/:ws/chats":                                 keyWS,
	"POST /api/workspaces/:ws/chats":                                keyWS,
	"GET /api/workspaces/:ws/chats/:chat":                           keyWS,
	"PATCH /api/workspaces/:ws/chats/:chat":                         keyWS,
	"DELETE /api/workspaces/:ws/chats/:chat":                        keyWS,
	"GET /api/workspaces/:ws/chats/:chat/messages":                  keyWS,
	"GET /api/workspaces/:ws/chats/:chat/export":                    keyWS,
	"GET /api/workspaces/:ws/chats/:chat/shares":                    keyWS,
	"POST /api/workspaces/:ws/chats/:chat/shares":                   keyWS,
	"DELETE /api/workspaces/:ws/chats/:chat/shares/:share_id":       keyWS,
	"POST /api/workspaces/:ws/chats/:chat/public":                   keyWS,
	"GET /api/public/chats/:public_id":                              keyYes,
	"GET /api/me/shared-chats":                                      keyOwnWS,
	"POST /api/workspaces/:ws/chats/:chat/messages":                 keyWS,
	"POST /api/workspaces/:ws/chats/:chat/regenerate":               keyWS,
	"POST /api/workspaces/:ws/chats/:chat/messages/:msg/edit":       keyWS,
	"POST /api/workspaces/:ws/chats/:chat/stop":                     keyWS,
	"GET /w/:ws/chats":                                              keyNo,
	"GET /w/:ws/c/:chat":                                            keyNo,
	"GET /shared":                                                   keyNo,
	"GET /p/:public_id":                                             keyYes,
	"GET /v1/models":                                                keyYes,
	"GET /v1/models/:model":                                         keyYes,
	"POST /v1/responses":                                            keyYes,
	"POST /v1/completions":                                          keyYes,
	"POST /v1/chat/completions":                                     keyYes,
	"POST /v1/embeddings":                                           keyYes,
	"POST /mcp":                                                     keyYes,
	"GET /mcp":                                                      keyYes,
	"DELETE /mcp":                                                   keyYes,
	"GET /api/me/usage":                                             keyNo,
	"GET /api/workspaces/:ws/usage":                                 keyWS,
	"GET /api/workspaces/:ws/usage/limits":                          keyWS,
	"GET /api/workspaces/:ws/usage/export":                          keyWS,
	"GET /w/:ws/usage":                                              keyNo,
	"GET /api/billing/plans":                                        keyNo,
	"GET /api/workspaces/:ws/billing":                               keyWS,
	"POST /api/workspaces/:ws/billing/checkout":                     keyWS,
	"POST /api/workspaces/:ws/billing/portal":                       keyWS,
	"POST /api/stripe/webhook":                                      keyYes,
	"GET /w/:ws/billing":                                            keyNo,
	"GET /api/workspaces/:ws/knowledge-bases":                       keyWS,
	"POST /api/workspaces/:ws/knowledge-bases":                      keyWS,
	"GET /api/workspaces/:ws/knowledge-bases/:kb":                   keyWS,
	"PATCH /api/workspaces/:ws/knowledge-bases/:kb":                 keyWS,
	"DELETE /api/workspaces/:ws/knowledge-bases/:kb":                keyWS,
	"GET /api/workspaces/:ws/knowledge-bases/:kb/access":            keyWS,
	"PUT /api/workspaces/:ws/knowledge-bases/:kb/access":            keyWS,
	"GET /api/workspaces/:ws/knowledge-bases/:kb/documents":         keyWS,
	"POST /api/workspaces/:ws/knowledge-bases/:kb/documents":        keyWS,
	"POST /api/workspaces/:ws/knowledge-bases/:kb/documents/remove": keyWS,
	"POST /api/workspaces/:ws/documents":                            keyWS,
	"GET /api/workspaces/:ws/documents":                             keyWS,
	"GET /api/workspaces/:ws/documents/:doc":                        keyWS,
	"PATCH /api/workspaces/:ws/documents/:doc":                      keyWS,
	"DELETE /api/workspaces/:ws/documents/:doc":                     keyWS,
	"GET /api/workspaces/:ws/documents/:doc/file":                   keyWS,
	"GET /api/workspaces/:ws/documents/:doc/chunks":                 keyWS,
	"GET /w/:ws/documents":                                          keyNo,
	"GET /w/:ws/documents/:doc":                                     keyNo,
	"GET /w/:ws/knowledge":                                          keyNo,
	"GET /w/:ws/knowledge/:kb":                                      keyNo,
	"POST /api/workspaces/:ws/documents/url":                        keyWS,
	"POST /api/workspaces/:ws/documents/bulk":                       keyWS,
	"GET /api/admin/models":                                         keyNo,
	"POST /api/admin/models/pull":                                   keyNo,
	"GET /api/admin/ollama-hosts":                                   keyNo,
	"POST /api/admin/ollama-hosts":                                  keyNo,
	"PATCH /api/admin/ollama-hosts/:id":                             keyNo,
	"DELETE /api/admin/ollama-hosts/:id":                            keyNo,
	"GET /api/admin/jobs":                                           keyNo,
	"GET /admin/models":                                             keyNo,
	"GET /admin/jobs":                                               keyNo,
	"POST /api/workspaces/:ws/search":                               keyWS,
	"GET /w/:ws/search":                                             keyNo,
	"POST /api/workspaces/:ws/documents/:doc/reprocess":             keyWS,
	"POST /api/admin/reindex":                                       keyNo,
	"GET /api/admin/settings":                                       keyNo,
	"PATCH /api/admin/settings":                                     keyNo,
	"GET /api/admin/users":                                          keyNo,
	"PATCH /api/admin/users/:id":                                    keyNo,
	"POST /api/admin/users":                                         keyNo,
	"DELETE /api/admin/users/:id":                                   keyNo,
	"POST /api/admin/users/:id/approve":                             keyNo,
	"POST /api/admin/users/:id/password-reset":                      keyNo,
	"GET /api/admin/outbox":                                         keyNo,
	"POST /api/admin/backups":                                       keyNo,
	"GET /api/admin/backups":                                        keyNo,
	"GET /api/admin/backups/:name":                                  keyNo,
	"GET /metrics":                                                  keyNo,
	"GET /":                                                         keyNo,
	"GET /login":                                                    keyYes,
	"GET /auth/oidc/:provider":                                      keyYes,
	"GET /auth/oidc/:provider/callback":                             keyYes,
	"GET /api/workspaces/:ws/group-rules":                           keyWS,
	"POST /api/workspaces/:ws/group-rules":                          keyWS,
	"DELETE /api/workspaces/:ws/group-rules/:rule_id":               keyWS,
	"GET /w/:ws/groups":                                             keyNo,
	"GET /signup":                                                   keyYes,
	"GET /setup":                                                    keyYes,
	"GET /reset":                                                    keyYes,
	"GET /reset/confirm":                                            keyYes,
	"GET /verify-email":                                             keyYes,
	"GET /account":                                                  keyNo,
	"GET /workspaces/new":                                           keyNo,
	"GET /w/:ws":                                                    keyNo,
	"GET /w/:ws/members":                                            keyNo,
	"GET /w/:ws/settings":                                           keyNo,
	"GET /admin":                                                    keyNo,
	"GET /admin/settings":                                           keyNo,
	"GET /admin/outbox":                                             keyNo,
	"GET /admin/backups":                                            keyNo,

	// Versions, citations and ratings of a chat's messages.
	"POST /api/workspaces/:ws/chats/:chat/messages/:msg/switch":      keyWS,
	"GET /api/workspaces/:ws/chats/:chat/messages/:msg/citations/:n": keyWS,
	"PUT /api/workspaces/:ws/chats/:chat/messages/:msg/feedback":     keyWS,
	"DELETE /api/workspaces/:ws/chats/:chat/messages/:msg/feedback":  keyWS,
	"GET /api/workspaces/:ws/feedback":                               keyWS,
	"GET /w/:ws/feedback":                                            keyNo,

	// The audit log.
	"GET /api/admin/audit":          keyNo,
	"GET /admin/audit":              keyNo,
	"GET /api/workspaces/:ws/audit": keyWS,
	"GET /w/:ws/audit":              keyNo,
}

// callerAs is the caller of a role in this world (nil: anonymous).
func (w *world) callerAs(ts *testServer, role string) *user {
	if isKeyRole(role) {
		return w.keyHolder(ts, role)
	}
	return w.caller(role)
}

// expect is what a caller of the role must get from r (accessSpec in r.Access, keySpec).
func expect(r qhttp.Route, role string) (denied bool, status int) {
	if isKeyRole(role) {
		return keyExpectation(r, keySpec[r.Method+" "+r.Path], role)
	}
	return expectation(r, role)
}

// keyExpectation is what a key caller must get. The holder owns the walk's
// workspace, so where the key is let through they get what the owner gets.
func keyExpectation(r qhttp.Route, rule keyRule, role string) (denied bool, status int) {
	if r.Page {
		if r.Access == qhttp.Public {
			return false, 0
		}
		return true, 303 // like any visitor without a session
	}
	switch rule {
	case keyNo:
		return true, 403
	case keyWS:
		if role == "other-key" {
			return true, 403
		}
	case keyYes, keyOwnWS:
		if r.Access == qhttp.WorkspaceKey || r.Access == qhttp.Public || r.Access == qhttp.SignedIn {
			return false, 0
		}
	}
	return expectation(r, "owner")
}

// keyListItems checks a list that a bound key sees: something, and nothing
// of another workspace.
func keyListItems(t *testing.T, name string, res response, keyWS string) {
	var l struct{ Items []map[string]any }
	res.json(&l)
	if len(l.Items) == 0 {
		t.Errorf("%s: the key's workspace has items but the list is empty", name)
	}
	for _, it := range l.Items {
		ws, ok := it["workspace_id"]
		if !ok {
			ws = it["id"] // a workspace itself
		}
		if ws != keyWS {
			t.Errorf("%s: lists an item of workspace %v, the key is bound to %s", name, ws, keyWS)
		}
	}
}

// expectation is what a caller of the given role must get from a route.
func expectation(r qhttp.Route, role string) (denied bool, status int) {
	if r.Access == qhttp.Public {
		return false, 0
	}
	if role == "anonymous" {
		if r.Page {
			return true, 303
		}
		return true, 401
	}
	switch r.Access {
	case qhttp.SignedIn:
		return false, 0
	case qhttp.WorkspaceKey:
		return true, 403 // the walk's callers hold session tokens, not workspace keys
	case qhttp.InstanceAdmin:
		if role == "instance-admin" {
			return false, 0
		}
		return true, 403
	}
	// Workspace routes. The instance admin is an outsider of this workspace:
	// instance administration gives no access to tenants' data.
	if role == "outsider" || role == "instance-admin" {
		return true, 404
	}
	if store.RoleRank(role) < store.RoleRank(r.Access.MinRole()) {
		return true, 403
	}
	if (r.Access == qhttp.TeamManager || r.Access == qhttp.KBManager || r.Access == qhttp.DocManager) && store.RoleRank(role) < store.RoleRank("admin") {
		return true, 403 // the walk's team, knowledge base and document belong to others
	}
	return false, 0
}

func TestTenancyRouteWalk(t *testing.T) {
	ts := newTestServer(t, withWalkProvider(t))
	routes := ts.srv.Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes in the table", len(routes))
	}
	for _, r := range routes {
		spec, ok := accessSpec[r.Method+" "+r.Path]
		if !ok {
			t.Errorf("%s %s is not in accessSpec: write down who may call it", r.Method, r.Path)
			continue
		}
		if spec != r.Access {
			t.Errorf("%s %s: the route table gives %s access, the spec says %s", r.Method, r.Path, r.Access, spec)
		}
		rule, ok := keySpec[r.Method+" "+r.Path]
		if !ok {
			t.Errorf("%s %s is not in keySpec: write down what a workspace-bound API key may reach there", r.Method, r.Path)
			continue
		}
		r.Access = spec // walk against the spec, so the layer is checked against intent
		for _, role := range roles {
			name := fmt.Sprintf("%s %s as %s", r.Method, r.Path, role)
			w := newWorld(ts)
			caller := w.callerAs(ts, role)
			path := w.fillPath(t, ts, r.Path, caller)
			rq := req{method: r.Method, path: path, body: w.body(r.Method, r.Path, caller)}
			if caller != nil {
				rq.token = caller.token
			}
			res := ts.do(rq)
			denied, want := expect(r, role)
			if isKeyRole(role) {
				if r.Access != qhttp.Public && strings.Contains(string(res.Body), w.elsewhere) {
					t.Errorf("%s: the answer shows the holder's workspace %s, which the key is not bound to: %s", name, w.elsewhere, res.Body)
				}
				if rule == keyOwnWS && res.Status == 200 {
					keyListItems(t, name, res, w.keyWS)
				}
			}
			switch {
			case denied && res.Status != want:
				t.Errorf("%s: status %d, want %d (%s)", name, res.Status, want, res.Body)
			case denied && want == 303 && !strings.HasPrefix(res.Header.Get("Location"), "/login"):
				t.Errorf("%s: redirected to %q, want /login", name, res.Header.Get("Location"))
			case !denied && (res.Status == 401 || res.Status == 403 || (res.Status == 404 && res.errCode() != "billing_disabled") || (res.Status >= 500 && res.errCode() != "model_unavailable")):
				t.Errorf("%s: allowed caller got %d: %s", name, res.Status, res.Body)
			}
		}
	}
}

// Every route Fiber serves must come from the route table, so none escapes the walk.
func TestEveryServedRouteIsInTheTable(t *testing.T) {
	ts := newTestServer(t)
	table := map[string]bool{}
	for _, r := range ts.srv.Routes() {
		table[r.Method+" "+r.Path] = true
	}
	var stray []string
	for _, r := range ts.srv.App().GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" {
			continue
		}
		if !table[r.Method+" "+r.Path] {
			stray = append(stray, r.Method+" "+r.Path)
		}
	}
	sort.Strings(stray)
	if len(stray) > 0 {
		t.Fatalf("routes served outside the route table (not walked): %v", stray)
	}
}

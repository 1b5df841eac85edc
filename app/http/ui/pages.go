package ui

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/auth"
	"quire/app/http/api"
	"quire/app/http/request"
	"quire/app/settings"
	"quire/app/units"
	"quire/store"
)

// pages holds one parsed template set per page: the shared layout plus the page.
type pages struct {
	sets   map[string]*template.Template
	assets *assets // the static files the templates link, fingerprinted
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string { return t.Local().Format("2 Jan 2006") },
	"datetime": func(t time.Time) string {
		return t.Local().Format("2 Jan 2006 15:04")
	},
	"initial": func(s string) string {
		for _, r := range s {
			return strings.ToUpper(string(r))
		}
		return "?"
	},
	"rankAtLeast": func(role, min string) bool { return store.RoleRank(role) >= store.RoleRank(min) },
	"bytes":       units.Bytes,
	// sameModel treats "name" and "name:latest" as one model, as Ollama does.
	"sameModel": func(a, b string) bool {
		return a != "" && strings.TrimSuffix(a, ":latest") == strings.TrimSuffix(b, ":latest")
	},
	"list": func(items ...string) []string { return items },
	// msgData pairs a transcript message with its workspace (for source links).
	"msgData": func(m messagePage, ws string) map[string]any {
		return map[string]any{"ID": m.ID, "Role": m.Role, "Status": m.Status, "Content": m.Content, "ContentHTML": m.ContentHTML,
			"Error": m.Error, "Sources": m.Sources, "WS": ws, "Steps": m.Steps,
			"Siblings": strings.Join(m.SiblingIDs, ","), "Index": m.SiblingIndex, "Feedback": m.Feedback}
	},
	"deref": func(p any) any {
		switch v := p.(type) {
		case *float64:
			if v != nil {
				return *v
			}
		case *int:
			if v != nil {
				return *v
			}
		case *int64:
			if v != nil {
				return *v
			}
		}
		return ""
	},
}

func loadPages(web fs.FS) (*pages, error) {
	layout, err := fs.ReadFile(web, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	files, err := fs.Glob(web, "templates/*.html")
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(web, "static")
	if err != nil {
		return nil, err
	}
	a, err := loadAssets(static)
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}, assets: a}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		body, err := fs.ReadFile(web, f)
		if err != nil {
			return nil, err
		}
		t, err := template.New("layout").Funcs(funcs).Funcs(template.FuncMap{"asset": a.url}).Parse(string(layout))
		if err == nil {
			_, err = t.New(name).Parse(string(body))
		}
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", f, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// view is what every page template receives.
type view struct {
	Title      string
	User       *store.User
	CSRF       string
	Workspaces []store.Workspace
	Workspace  *store.Workspace
	Folders    []store.Folder // the caller's folders in Workspace, for the sidebar
	Recent     []store.Chat   // the caller's recent chats in Workspace, for the sidebar
	Invites    int            // pending invitations addressed to the caller
	Nav        string         // which sidebar entry is current
	Data       any
}

// render executes a page inside the layout. Pages are never cached by the browser
// because they show live, per-user state.
func (s *Pages) render(c *fiber.Ctx, name, title string, data any) error {
	t := s.pages.sets[name]
	if t == nil {
		return fmt.Errorf("no template %q", name)
	}
	v := view{Title: title, Data: data, Nav: name, Workspace: request.Workspace(c)}
	if id := request.Identity(c); id != nil {
		v.User = id.User
		v.CSRF = auth.CSRFToken(s.Secret, id.TokenHash)
		ws, err := s.Store.ListWorkspaces(c.UserContext(), id.User.ID, "", 200)
		if err != nil {
			return err
		}
		v.Workspaces = ws
		v.Workspace = s.layoutWorkspace(c, name, ws)
		inv, err := s.Account.Pending(c.UserContext(), id.User)
		if err != nil {
			return err
		}
		v.Invites = len(inv)
		if v.Workspace != nil {
			if v.Folders, err = s.Store.ListFolders(c.UserContext(), v.Workspace.ID, id.User.ID); err != nil {
				return err
			}
			if v.Recent, err = s.Store.ListChats(c.UserContext(), v.Workspace.ID, id.User.ID, store.ChatFilter{Status: store.ChatActive, Limit: 12}); err != nil {
				return err
			}
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}

func (s *Pages) RenderError(c *fiber.Ctx, e *request.APIError) error {
	c.Status(e.Status)
	if err := s.render(c, "error", fmt.Sprintf("%d", e.Status), e); err != nil {
		return c.Status(e.Status).SendString(e.Message)
	}
	return nil
}

// PageHome sends people to their first workspace, or to create one.
func (s *Pages) PageHome(c *fiber.Ctx) error {
	ws, err := s.Store.ListWorkspaces(c.UserContext(), request.User(c).ID, "", 1)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		return c.Redirect("/workspaces/new", fiber.StatusSeeOther)
	}
	return c.Redirect("/w/"+ws[0].ID, fiber.StatusSeeOther)
}

// signedOutPage renders an auth page, or sends a signed-in visitor home.
func (s *Pages) signedOutPage(name, title string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if request.Identity(c) != nil && name != "reset_confirm" && name != "verify_email" {
			return c.Redirect("/", fiber.StatusSeeOther)
		}
		return s.render(c, name, title, fiber.Map{
			"Next":   SafeNext(c.Query("next")),
			"Token":  c.Query("token"),
			"Policy": s.Settings.Get().SignupPolicy,
		})
	}
}

// maxNext bounds a post-login target: real paths are short, and the page
// should not echo an attacker's megabyte back.
const maxNext = 2048

// SafeNext only allows a path on this site as the post-login target, else "/".
// Browsers strip tabs and newlines from URLs and read a backslash as "/", so
// "/<TAB>/evil.example" becomes "//evil.example", another site: the target
// must be printable ASCII without spaces, backslashes or braces (braces are
// the UI's placeholders for response fields), parse as a bare path, and not
// begin with "//".
func SafeNext(next string) string {
	if len(next) > maxNext || !localPath(next) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	// Encoded forms ("/%09/host", "/%5Chost") are harmless to a browser but
	// not to everything that may decode the path once more on the way.
	dec, err := url.PathUnescape(next)
	if err != nil || strings.HasPrefix(dec, "//") || strings.ContainsFunc(dec, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\\' }) {
		return "/"
	}
	return next
}

// localPath: "/" followed by printable ASCII other than space, backslash and
// braces, and not a scheme-relative "//host".
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c <= ' ' || c >= 0x7f, c == '\\', c == '{', c == '}':
			return false
		}
	}
	return true
}

func (s *Pages) PageReset(c *fiber.Ctx) error { return s.signedOutPage("reset", "Reset password")(c) }
func (s *Pages) PageResetConfirm(c *fiber.Ctx) error {
	return s.signedOutPage("reset_confirm", "Choose a new password")(c)
}
func (s *Pages) PageVerifyEmail(c *fiber.Ctx) error {
	return s.signedOutPage("verify_email", "Verify email")(c)
}

func (s *Pages) PageNewWorkspace(c *fiber.Ctx) error {
	return s.render(c, "new_workspace", "New workspace", nil)
}

func (s *Pages) PageWorkspace(c *fiber.Ctx) error {
	ws, ctx := request.Workspace(c), c.UserContext()
	members, err := s.Store.ListMembers(ctx, ws.ID, 0, 200)
	if err != nil {
		return err
	}
	v := request.Viewer(c)
	docs, err := s.Store.ListDocuments(ctx, ws.ID, v, store.DocumentFilter{Limit: 6})
	if err != nil {
		return err
	}
	kbs, err := s.Store.ListKnowledgeBases(ctx, ws.ID, v, "", "", 200)
	if err != nil {
		return err
	}
	return s.render(c, "workspace", ws.Name, fiber.Map{"MemberCount": len(members), "Docs": api.MapSlice(docs, api.DocumentView), "KBCount": len(kbs),
		"PlanName": s.Plan.OrFree(ctx, ws.ID).Name})
}

func (s *Pages) PageMembers(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	members, err := s.Store.ListMembers(c.UserContext(), ws.ID, 0, 200)
	if err != nil {
		return err
	}
	data := fiber.Map{"Members": members, "Me": request.User(c).ID, "Mailed": s.Config.SMTP.Host != ""}
	if store.RoleRank(ws.Role) >= store.RoleRank(store.RoleAdmin) {
		if data["Invitations"], err = s.Store.ListInvitations(c.UserContext(), ws.ID); err != nil {
			return err
		}
		if data["Teams"], err = s.Store.ListTeams(c.UserContext(), ws.ID); err != nil {
			return err
		}
	}
	return s.render(c, "members", "Members · "+ws.Name, data)
}

func (s *Pages) PageWorkspaceSettings(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	members, err := s.Store.ListMembers(c.UserContext(), ws.ID, 0, 200)
	if err != nil {
		return err
	}
	return s.render(c, "workspace_settings", "Settings · "+ws.Name, fiber.Map{"Members": members})
}

func (s *Pages) PageAccount(c *fiber.Ctx) error {
	keys, err := s.Store.ListAPIKeys(c.UserContext(), request.User(c).ID)
	if err != nil {
		return err
	}
	// The MCP hint names this instance's /mcp as people reach it: base_url
	// when set, else the address this page was asked for.
	base := c.BaseURL()
	if s.Config.BaseURL != "" {
		base = s.Config.PublicURL()
	}
	return s.render(c, "account", "Account", fiber.Map{"Keys": keys, "MCPURL": base + "/mcp"})
}

func (s *Pages) PageAdminSettings(c *fiber.Ctx) error {
	data := fiber.Map{"Settings": s.Settings.Get(), "SMTP": s.Config.SMTP.Host != "", "ConfigCap": s.Config.MaxUploadMB}
	if src := s.Settings.Locked()["ollama_url"]; src != "" {
		data["OllamaURLSource"] = settings.SourceText(src)
	}
	return s.render(c, "admin_settings", "Settings · Admin", data)
}

func (s *Pages) PageAdminOutbox(c *fiber.Ctx) error {
	mail, err := s.Store.ListMail(c.UserContext(), 0, 100)
	if err != nil {
		return err
	}
	return s.render(c, "admin_outbox", "Outbox · Admin", fiber.Map{"Mail": s.outboxView(mail), "SMTP": s.Config.SMTP.Host != ""})
}

func (s *Pages) PageTeams(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	teams, err := s.Store.ListTeams(c.UserContext(), ws.ID)
	if err != nil {
		return err
	}
	members, err := s.Store.ListMembers(c.UserContext(), ws.ID, 0, 200)
	if err != nil {
		return err
	}
	return s.render(c, "teams", "Teams · "+ws.Name, fiber.Map{"Teams": teams, "Candidates": teamCandidates(teams, members), "Me": request.User(c).ID})
}

func (s *Pages) PageFolders(c *fiber.Ctx) error {
	return s.render(c, "folders", "Folders · "+request.Workspace(c).Name, nil)
}

func (s *Pages) PageInvitations(c *fiber.Ctx) error {
	inv, err := s.Account.Pending(c.UserContext(), request.User(c))
	if err != nil {
		return err
	}
	return s.render(c, "invitations", "Invitations", fiber.Map{"Invitations": inv, "Unverified": !request.User(c).EmailVerified})
}

// PageInvite is where a mailed invitation link lands: accept or decline when
// signed in as the invitee, otherwise create an account (or sign in) right here.
func (s *Pages) PageInvite(c *fiber.Ctx) error {
	token := c.Params("token")
	inv, err := s.Account.InvitationByToken(c.UserContext(), token, request.ClientKey(c))
	if errors.Is(err, store.ErrNotFound) {
		return request.NotFound("invitation")
	}
	if err != nil {
		return err
	}
	if inv.Status != store.InvitePending || inv.Expired() {
		return api.GoneReason(inv)
	}
	data := fiber.Map{"Invitation": inv, "Token": token}
	if id := request.Identity(c); id != nil {
		data["Matches"] = id.User.Email == inv.Email // both canonical: compared exactly
	} else if _, err := s.Store.UserByEmail(c.UserContext(), inv.Email); err == nil {
		data["HasAccount"] = true
	}
	return s.render(c, "invite", "Invitation to "+inv.WorkspaceName, data)
}

func (s *Pages) PageAdminModels(c *fiber.Ctx) error {
	data, err := s.adminModelsData(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, "admin_models", "Models · Admin", data)
}

func (s *Pages) PageAdminJobs(c *fiber.Ctx) error {
	tasks, err := s.Store.ListTasks(c.UserContext(), store.TaskFilter{Limit: 200})
	if err != nil {
		return err
	}
	names, err := s.Store.NamesOfTasks(c.UserContext(), tasks)
	if err != nil {
		return err
	}
	return s.render(c, "admin_jobs", "Jobs · Admin", fiber.Map{"Tasks": tasks, "Names": names})
}

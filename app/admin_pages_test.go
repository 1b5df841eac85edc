package app

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"quire/app/config"
	"quire/app/http/api"
	"quire/store"
)

// The jobs page and API name each task's workspace and document instead of
// showing their UUIDs.
func TestJobsNameWorkspacesAndDocuments(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("admin")
	ws := ts.createWorkspace(admin, "Acme Research")
	ctx := context.Background()
	doc, _, err := ts.store.CreateDocument(ctx, ws.ID, store.NewDocument{Name: "Employee handbook.pdf", UploadedBy: admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.EnqueueTask(ctx, store.NewTask{WorkspaceID: ws.ID, DocumentID: doc.ID, Kind: store.TaskEmbed}); err != nil {
		t.Fatal(err)
	}
	var jobs api.List[api.TaskJSON]
	ts.must(200, req{method: "GET", path: "/api/admin/jobs", token: admin.token}).json(&jobs)
	found := false
	for _, j := range jobs.Items {
		if j.DocumentID == doc.ID {
			found = true
			if j.DocumentName != "Employee handbook.pdf" || j.WorkspaceName != "Acme Research" {
				t.Fatalf("job %+v", j)
			}
		}
	}
	if !found {
		t.Fatalf("the task is not listed: %+v", jobs.Items)
	}
	page := string(ts.must(200, req{method: "GET", path: "/admin/jobs", token: admin.token}).Body)
	if !strings.Contains(page, ">Employee handbook.pdf</a>") || !strings.Contains(page, ">Acme Research</a>") || strings.Contains(page, ">"+doc.ID+"</a>") {
		t.Fatalf("the jobs page does not name the document and workspace:\n%s", page)
	}
}

// Without a mail server an invitation only reaches the outbox: the API and the
// members page say so (and offer the link to copy) instead of "Invitation sent".
func TestInvitationSaysWhenItWasNotMailed(t *testing.T) {
	for _, c := range []struct {
		name   string
		smtp   bool
		mailed bool
		page   string
	}{{"outbox only", false, false, "not mailed"}, {"mail server", true, true, "Invitation mailed to"}} {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, func(cfg *config.Config) {
				if c.smtp {
					cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.From = "127.0.0.1", 1, "quire@example.com"
				}
			})
			admin := ts.signup("admin")
			ws := ts.createWorkspace(admin, "Acme")
			var inv api.InvitationWithLink
			ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: admin.token, body: map[string]string{"email": "new@example.com"}}).json(&inv)
			if inv.Mailed != c.mailed || !strings.Contains(inv.InviteURL, "/invite/") {
				t.Fatalf("invitation %+v", inv)
			}
			page := string(ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/members", token: admin.token}).Body)
			if !strings.Contains(page, c.page) || !strings.Contains(page, `data-copy="#invite-url"`) {
				t.Fatalf("members page lacks %q or the copy button", c.page)
			}
		})
	}
}

// The outbox links only what points at this instance: a workspace named like
// a URL (chosen by any user) stays text, and markup in it stays escaped.
func TestOutboxLinksOnlyThisInstance(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("admin")
	ws := ts.createWorkspace(admin, `https://phish.example/reset <script>alert(1)</script> javascript:alert(2)`)
	var inv api.InvitationWithLink
	ts.must(201, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/invitations", token: admin.token, body: map[string]string{"email": "new@example.com"}}).json(&inv)
	page := string(ts.must(200, req{method: "GET", path: "/admin/outbox", token: admin.token}).Body)
	if !strings.Contains(page, `<a href="`+inv.InviteURL+`">`+inv.InviteURL+`</a>`) {
		t.Fatalf("the invitation link is not clickable:\n%s", page)
	}
	links := regexp.MustCompile(`<a href="([^"]*)"`).FindAllStringSubmatch(page, -1)
	for _, l := range links {
		if strings.Contains(l[1], "phish.example") || strings.HasPrefix(l[1], "javascript") {
			t.Fatalf("a link from a user's text: %s", l[1])
		}
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Fatal("markup from a workspace name is not escaped")
	}
}

// With billing off, /billing says so instead of showing the overview, and the
// overview names the plan rather than its key.
func TestBillingOffAndPlanName(t *testing.T) {
	ts := newTestServer(t)
	owner := ts.signup("owner")
	ws := ts.createWorkspace(owner, "Acme")
	res := ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/billing", token: owner.token})
	if page := string(res.Body); !strings.Contains(page, "Billing is not enabled") || !strings.Contains(page, "Self-hosted") {
		t.Fatalf("billing page with billing off:\n%s", page)
	}
	page := string(ts.must(200, req{method: "GET", path: "/w/" + ws.ID, token: owner.token}).Body)
	if strings.Contains(page, "self_hosted") || !strings.Contains(page, `<strong id="plan-name">Self-hosted</strong>`) {
		t.Fatalf("overview shows the plan as:\n%s", page)
	}
	// Someone outside the workspace learns nothing about it.
	stranger := ts.signup("stranger")
	ts.must(404, req{method: "GET", path: "/w/" + ws.ID + "/billing", token: stranger.token})
}

// selectedWorkspace is the workspace the sidebar's switcher has selected.
var selectedWorkspace = regexp.MustCompile(`<a role="menuitem" href="/w/([^"]+)" aria-current="page">`)

// Administration keeps the workspace of the last workspace page in the
// sidebar; a cookie naming a workspace the admin is not a member of selects nothing.
func TestAdminPagesKeepTheWorkspace(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("admin")
	mine := ts.createWorkspace(admin, "Acme")
	ts.createWorkspace(admin, "Another")
	other := ts.signup("other")
	theirs := ts.createWorkspace(other, "Their secrets")

	res := ts.must(200, req{method: "GET", path: "/w/" + mine.ID, token: admin.token})
	var cookie *http.Cookie
	for _, ck := range (&http.Response{Header: res.Header}).Cookies() {
		if ck.Name == "quire_ws" {
			cookie = ck
		}
	}
	if cookie == nil || cookie.Value != mine.ID || !cookie.HttpOnly {
		t.Fatalf("the workspace page does not remember the workspace: %v", res.Header["Set-Cookie"])
	}
	for _, path := range []string{"/admin", "/admin/settings", "/admin/models", "/admin/jobs", "/admin/outbox", "/admin/backups"} {
		page := string(ts.must(200, req{method: "GET", path: path, token: admin.token, headers: map[string]string{"Cookie": "quire_ws" + "=" + mine.ID}}).Body)
		if m := selectedWorkspace.FindStringSubmatch(page); m == nil || m[1] != mine.ID {
			t.Fatalf("%s: the switcher selects %v, want %s", path, m, mine.ID)
		}
	}
	for _, forged := range []string{theirs.ID, "nonexistent", `"><script>alert(1)</script>`, strings.Repeat("x", 3500)} {
		page := string(ts.must(200, req{method: "GET", path: "/admin/settings", token: admin.token, headers: map[string]string{"Cookie": "quire_ws" + "=" + forged}}).Body)
		if selectedWorkspace.MatchString(page) || strings.Contains(page, "Their secrets") || strings.Contains(page, "<script>alert(1)") {
			t.Fatalf("cookie %.40q selected a workspace or leaked one", forged)
		}
	}
}

// Removing the last administrator is refused with a sentence saying what to do.
func TestLastAdminRefusalIsASentence(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.signup("admin")
	res := ts.must(409, req{method: "PATCH", path: "/api/admin/users/" + strconv.FormatInt(admin.ID, 10), token: admin.token, body: map[string]bool{"is_admin": false}})
	var e struct{ Error struct{ Message string } }
	res.json(&e)
	if m := e.Error.Message; m == "" || m[0] < 'A' || m[0] > 'Z' || !strings.Contains(m, "Make someone else an administrator") {
		t.Fatalf("message %q", m)
	}
}

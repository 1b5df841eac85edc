package ui

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/audit"
	"quire/app/http/api"
	"quire/app/http/request"
	"quire/store"
)

// auditPageSize is how many rows an audit page shows.
const auditPageSize = 50

// auditPage is what the audit templates show: one page of rows, the filters
// as typed (a bad one is named in Error instead of showing an empty list),
// and the links to the next page and to the export.
type auditPage struct {
	Rows      []auditRow
	Query     map[string]string
	Actions   []string
	Error     string
	OlderURL  string
	ExportURL string
	ShowWS    bool
}

// auditRow is an entry with its workspace id as the admin page shows it:
// the first 8 characters (the whole id in the title), which tell workspaces
// apart without widening the table past a laptop's screen.
type auditRow struct {
	api.AuditEntryJSON
	WS, WSShort string
}

// PageAdminAudit is Administration → Audit log: every row, instance events included.
func (s *Pages) PageAdminAudit(c *fiber.Ctx) error {
	p, err := s.auditPage(c, "", "/admin/audit", "/api/admin/audit")
	if err != nil {
		return err
	}
	p.ShowWS = true
	return s.render(c, "admin_audit", "Audit log · Admin", p)
}

// PageWorkspaceAudit is a workspace's audit log, for its owners and admins.
func (s *Pages) PageWorkspaceAudit(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	p, err := s.auditPage(c, ws.ID, "/w/"+ws.ID+"/audit", "/api/workspaces/"+ws.ID+"/audit")
	if err != nil {
		return err
	}
	return s.render(c, "audit", "Audit log · "+ws.Name, p)
}

func (s *Pages) auditPage(c *fiber.Ctx, wsID, self, apiPath string) (*auditPage, error) {
	p := &auditPage{Query: map[string]string{}, Actions: audit.Actions}
	q := url.Values{}
	for _, k := range []string{"actor", "action", "target", "from", "to"} {
		if v := c.Query(k); v != "" {
			p.Query[k] = v
			q.Set(k, v)
		}
	}
	f, err := api.AuditFilter(c)
	if ae := request.ToAPIError(err); ae != nil {
		p.Error = ae.Message
		return p, nil
	} else if err != nil {
		return nil, err
	}
	if wsID != "" {
		f.Workspace = wsID
	} else {
		f.AllWorkspaces = true
	}
	if b, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil && b > 0 {
		f.Before = b
	}
	f.Limit = auditPageSize + 1
	rows, err := s.Store.ListAudit(c.UserContext(), f)
	if err != nil {
		return nil, err
	}
	more := len(rows) > auditPageSize
	if more {
		rows = rows[:auditPageSize]
	}
	p.Rows = api.MapSlice(rows, func(e *store.AuditEntry) auditRow {
		return auditRow{AuditEntryJSON: api.AuditView(e), WS: e.WorkspaceID, WSShort: e.WorkspaceID[:min(8, len(e.WorkspaceID))]}
	})
	if more {
		older := url.Values{}
		for k, v := range q {
			older[k] = v
		}
		older.Set("before", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		p.OlderURL = self + "?" + older.Encode()
	}
	q.Set("format", "jsonl")
	p.ExportURL = apiPath + "?" + q.Encode()
	return p, nil
}

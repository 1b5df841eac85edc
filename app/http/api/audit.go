package api

import (
	"bufio"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"quire/app/audit"
	"quire/app/http/request"
	"quire/store"
)

// AuditEntryJSON is one row of the audit log as the API shows it.
type AuditEntryJSON struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Actor       AuditActorJSON  `json:"actor"`
	WorkspaceID *string         `json:"workspace_id"`
	Action      string          `json:"action"`
	Target      AuditTargetJSON `json:"target"`
	ClientIP    string          `json:"client_ip"`
	Outcome     string          `json:"outcome"`
	Details     json.RawMessage `json:"details"`
	PrevHash    string          `json:"prev_hash"`
	Hash        string          `json:"hash"`
}

type AuditActorJSON struct {
	UserID *int64 `json:"user_id"`
	KeyID  *int64 `json:"key_id"` // the API key used; null for a session
	Email  string `json:"email"`
	Kind   string `json:"kind"` // session, api_key, anonymous, cli, system
}

type AuditTargetJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

func AuditView(e *store.AuditEntry) AuditEntryJSON {
	v := AuditEntryJSON{ID: e.ID, At: e.At, Actor: AuditActorJSON{UserID: e.UserID, Email: e.Email, Kind: e.ActorKind},
		Action: e.Action, Target: AuditTargetJSON{e.TargetType, e.TargetID, e.TargetLabel}, ClientIP: e.Address,
		Outcome: e.Outcome, Details: json.RawMessage(e.Details), PrevHash: e.PrevHash, Hash: e.Hash}
	if e.ActorKind == audit.KindAPIKey {
		v.Actor.KeyID = e.TokenID
	}
	if e.WorkspaceID != "" {
		v.WorkspaceID = &e.WorkspaceID
	}
	return v
}

// actionPattern is what an action filter may be: dotted lower-case words,
// a trailing dot for every action under a prefix ("document.").
var actionPattern = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)*\.?$`)

// AuditFilter reads the filters of an audit list (docs/API.md): each bad
// value is a 400 naming its parameter, never a silently empty list.
func AuditFilter(c *fiber.Ctx) (store.AuditFilter, error) {
	var f store.AuditFilter
	if v := strings.TrimSpace(c.Query("actor")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			f.ActorID = n
		} else if strings.Contains(v, "@") && len(v) <= 254 {
			f.ActorEmail = store.CanonicalEmail(v)
		} else {
			return f, request.Invalid("actor", "actor is a user id or an email address")
		}
	}
	if v := c.Query("action"); v != "" {
		if len(v) > 64 || !actionPattern.MatchString(v) {
			return f, request.Invalid("action", "action is a dotted action name such as document.deleted, or a prefix ending in a dot such as document.")
		}
		f.Action = v
	}
	// document_id: what was done to a document, and who received its
	// passages; target: any target id (a user's, a knowledge base's …).
	for _, name := range []string{"document_id", "target"} {
		v := c.Query(name)
		if v == "" {
			continue
		}
		if len(v) > 128 || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) {
			return f, request.Invalid(name, "%s is an id of at most 128 characters, without spaces", name)
		}
		if f.TargetID != "" && f.TargetID != v {
			return f, request.Invalid(name, "give document_id or target, not both")
		}
		f.TargetID = v
	}
	var err error
	if f.Since, err = auditTime(c, "from", false); err != nil {
		return f, err
	}
	if f.Until, err = auditTime(c, "to", true); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, request.Invalid("to", "to must be after from")
	}
	return f, nil
}

// auditTime reads an RFC 3339 time or a date (YYYY-MM-DD, UTC); a date as
// "to" includes that whole day.
func auditTime(c *fiber.Ctx, name string, end bool) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	if len(v) <= 40 {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			if end {
				t = t.Add(24 * time.Hour)
			}
			return t, nil
		}
	}
	return time.Time{}, request.Invalid(name, "%s is a date (2026-01-31) or a time (2026-01-31T09:00:00Z)", name)
}

// AdminAudit lists the whole audit log, instance events included
// (GET /api/admin/audit; ?workspace_id= narrows it to one workspace).
func (s *Handlers) AdminAudit(c *fiber.Ctx) error {
	f, err := AuditFilter(c)
	if err != nil {
		return err
	}
	if ws := c.Query("workspace_id"); ws != "" {
		if len(ws) > 128 {
			return request.Invalid("workspace_id", "workspace_id is a workspace id")
		}
		f.Workspace = ws
	} else {
		f.AllWorkspaces = true
	}
	return s.auditList(c, f, "")
}

// WorkspaceAudit lists one workspace's rows, never instance rows nor another
// workspace's (GET /api/workspaces/:ws/audit; owners and admins).
func (s *Handlers) WorkspaceAudit(c *fiber.Ctx) error {
	f, err := AuditFilter(c)
	if err != nil {
		return err
	}
	ws := request.Workspace(c)
	f.Workspace = ws.ID
	return s.auditList(c, f, ws.ID)
}

func (s *Handlers) auditList(c *fiber.Ctx, f store.AuditFilter, wsID string) error {
	switch c.Query("format") {
	case "":
	case "jsonl":
		return s.auditExport(c, f, wsID)
	default:
		return request.Invalid("format", "format is jsonl (or absent for a JSON page)")
	}
	limit, before, err := intPaging(c)
	if err != nil {
		return err
	}
	f.Before, f.Limit = before, limit+1
	rows, err := s.Store.ListAudit(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, func(e *store.AuditEntry) string { return strconv.FormatInt(e.ID, 10) }, AuditView))
}

// exportTimeout bounds one export: long enough for millions of rows, short
// enough that a client that stops reading does not hold a read connection forever.
const exportTimeout = 30 * time.Minute

// auditExport streams every selected row as JSON Lines, newest first, as the
// database yields them (nothing is collected in memory), and records the export.
func (s *Handlers) auditExport(c *fiber.Ctx, f store.AuditFilter, wsID string) error {
	if c.Query("cursor") != "" {
		return request.Invalid("cursor", "an export has every matching row; leave out cursor")
	}
	s.Audit.Record(c.UserContext(), audit.Event{Action: "audit.exported", Workspace: wsID, Details: map[string]any{"query": string(c.Request().URI().QueryString())}})
	name := "quire-audit-" + time.Now().UTC().Format("2006-01-02")
	if wsID != "" {
		name += "-" + wsID
	}
	c.Set(fiber.HeaderContentType, "application/x-ndjson; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.jsonl"`)
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		enc := json.NewEncoder(w)
		n := 0
		err := s.Store.EachAudit(ctx, f, func(e *store.AuditEntry) error {
			if err := enc.Encode(AuditView(e)); err != nil {
				return err
			}
			if n++; n%500 == 0 {
				return w.Flush() // a client that went away ends the export here
			}
			return nil
		})
		if err != nil {
			s.Log.Warn("audit export ended early", "err", err, "rows", n)
		}
	}))
	return nil
}

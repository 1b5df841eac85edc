package api

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/store"
)

// JSON shapes of docs/API.md. Handlers convert store types through these, so the
// contract's field names live in one place.

type UserJSON struct {
	ID            int64     `json:"id"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	IsAdmin       bool      `json:"is_admin"`
	Disabled      bool      `json:"disabled"`
	EmailVerified bool      `json:"email_verified"`
	CreatedAt     time.Time `json:"created_at"`
}

func userView(u *store.User) UserJSON {
	return UserJSON{u.ID, u.Email, u.Name, u.IsAdmin, u.Disabled, u.EmailVerified, u.CreatedAt}
}

type WorkspaceJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	OwnerID   int64     `json:"owner_id"`
	Role      string    `json:"role"`
	Plan      string    `json:"plan"`
	CreatedAt time.Time `json:"created_at"`
}

func WorkspaceView(w *store.Workspace) WorkspaceJSON {
	return WorkspaceJSON{w.ID, w.Name, w.OwnerID, w.Role, w.Plan, w.CreatedAt}
}

type MemberJSON struct {
	UserID   int64     `json:"user_id"`
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
	Managed  bool      `json:"managed"` // made by a group rule, which changes or removes it at sign-in
}

func memberView(m *store.Member) MemberJSON {
	return MemberJSON{m.UserID, m.Email, m.Name, m.Role, m.JoinedAt, m.Managed}
}

type TokenJSON struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	WorkspaceID *string    `json:"workspace_id"`
	Token       string     `json:"token,omitempty"` // only in the response that creates it
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

func tokenView(t *store.Token, secret string) TokenJSON {
	v := TokenJSON{ID: t.ID, Name: t.Name, Token: secret, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}
	if t.WorkspaceID != "" {
		v.WorkspaceID = &t.WorkspaceID
	}
	return v
}

type MailJSON struct {
	ID        int64     `json:"id"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	Sent      bool      `json:"sent"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func mailView(m *store.Mail) MailJSON {
	return MailJSON{m.ID, m.To, m.Subject, m.Body, m.Sent, m.Error, m.CreatedAt}
}

// MapSlice converts a page of store rows to their JSON views.
func MapSlice[T, V any](in []T, f func(*T) V) []V {
	out := make([]V, len(in))
	for i := range in {
		out[i] = f(&in[i])
	}
	return out
}

// List is docs/API.md's list envelope.
type List[V any] struct {
	Items      []V     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// paging reads ?limit= (1..200, default 50) and ?cursor=.
func paging(c *fiber.Ctx) (limit int, cursor string, err error) {
	limit = 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return 0, "", request.Invalid("limit", "limit must be a whole number from 1 to 200")
		}
		limit = n
	}
	if v := c.Query("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil {
			return 0, "", request.Invalid("cursor", "cursor is not one this server issued")
		}
		cursor = string(b)
	}
	return limit, cursor, nil
}

// intPaging is paging for a list keyed by an integer id: the limit and the
// key to continue after (0 from the start).
func intPaging(c *fiber.Ctx) (limit int, after int64, err error) {
	limit, cursor, err := paging(c)
	if err != nil {
		return 0, 0, err
	}
	after, err = intCursor(cursor)
	return limit, after, err
}

// intCursor decodes a cursor holding an integer key (0 when absent).
func intCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil {
		return 0, request.Invalid("cursor", "cursor is not one this server issued")
	}
	return n, nil
}

// page builds the envelope from limit+1 fetched rows: the extra row only says
// that there is more, and the cursor is the key of the last row returned.
func page[T, V any](rows []T, limit int, key func(*T) string, view func(*T) V) List[V] {
	out := List[V]{}
	if len(rows) > limit {
		rows = rows[:limit]
		k := base64.RawURLEncoding.EncodeToString([]byte(key(&rows[len(rows)-1])))
		out.NextCursor = &k
	}
	out.Items = MapSlice(rows, view)
	return out
}

type TeamMemberJSON struct {
	UserID  int64     `json:"user_id"`
	Email   string    `json:"email"`
	Name    string    `json:"name"`
	AddedAt time.Time `json:"added_at"`
}

type TeamJSON struct {
	ID          int64            `json:"id"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	OwnerID     *int64           `json:"owner_id"`
	MemberCount int              `json:"member_count"`
	Members     []TeamMemberJSON `json:"members"`
	CreatedAt   time.Time        `json:"created_at"`
}

func teamView(t *store.Team) TeamJSON {
	v := TeamJSON{ID: t.ID, Name: t.Name, Description: t.Description, MemberCount: len(t.Members), CreatedAt: t.CreatedAt,
		Members: MapSlice(t.Members, func(m *store.TeamMember) TeamMemberJSON { return TeamMemberJSON{m.UserID, m.Email, m.Name, m.AddedAt} })}
	if t.OwnerID != 0 {
		v.OwnerID = &t.OwnerID
	}
	return v
}

type InvitationJSON struct {
	ID            int64     `json:"id"`
	WorkspaceID   string    `json:"workspace_id"`
	WorkspaceName string    `json:"workspace_name"`
	Email         string    `json:"email"`
	Role          string    `json:"role"`
	TeamID        *int64    `json:"team_id"`
	TeamName      string    `json:"team_name,omitempty"`
	InviterName   string    `json:"inviter_name"`
	Status        string    `json:"status"`
	ExpiresAt     time.Time `json:"expires_at"`
	CreatedAt     time.Time `json:"created_at"`
}

func invitationView(i *store.Invitation) InvitationJSON {
	v := InvitationJSON{ID: i.ID, WorkspaceID: i.WorkspaceID, WorkspaceName: i.WorkspaceName, Email: i.Email, Role: i.Role,
		TeamName: i.TeamName, InviterName: i.InviterName, Status: i.Status, ExpiresAt: i.ExpiresAt, CreatedAt: i.CreatedAt}
	if i.TeamID != 0 {
		v.TeamID = &i.TeamID
	}
	return v
}

type FolderJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	ParentID  *int64    `json:"parent_id"`
	CreatedAt time.Time `json:"created_at"`
}

func folderView(f *store.Folder) FolderJSON {
	v := FolderJSON{ID: f.ID, Name: f.Name, CreatedAt: f.CreatedAt}
	if f.ParentID != 0 {
		v.ParentID = &f.ParentID
	}
	return v
}

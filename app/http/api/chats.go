package api

import (
	"encoding/json"
	"errors"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/answer"
	"quire/app/auth"
	"quire/app/http/request"
	"quire/app/markdown"
	"quire/store"
)

type ChatJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Model            string    `json:"model"`
	SystemPrompt     string    `json:"system_prompt"`
	Temperature      *float64  `json:"temperature"`
	TopP             *float64  `json:"top_p"`
	MaxTokens        *int      `json:"max_tokens"`
	AgentMode        *bool     `json:"agent_mode"` // null: on when the model can call tools
	KnowledgeBaseIDs []string  `json:"knowledge_base_ids"`
	FolderID         *int64    `json:"folder_id"`
	Status           string    `json:"status"`
	PublicID         *string   `json:"public_id"`
	OwnerID          int64     `json:"owner_id"`
	OwnerName        string    `json:"owner_name"`
	WorkspaceID      string    `json:"workspace_id"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func chatView(c *store.Chat) ChatJSON {
	v := ChatJSON{ID: c.ID, Name: c.Name, Model: c.Model, SystemPrompt: c.SystemPrompt, Temperature: c.Temperature, TopP: c.TopP,
		MaxTokens: c.MaxTokens, AgentMode: c.AgentMode, KnowledgeBaseIDs: c.KnowledgeBaseIDs, Status: c.Status, OwnerID: c.UserID, OwnerName: c.OwnerName,
		WorkspaceID: c.WorkspaceID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if v.KnowledgeBaseIDs == nil {
		v.KnowledgeBaseIDs = []string{}
	}
	if c.FolderID != 0 {
		v.FolderID = &c.FolderID
	}
	if c.PublicID != "" {
		v.PublicID = &c.PublicID
	}
	return v
}

type MessageJSON struct {
	ID             string          `json:"id"`
	Role           string          `json:"role"`
	Content        string          `json:"content"`
	SequenceNumber int             `json:"sequence_number"`
	ParentID       *string         `json:"parent_id"`
	Model          string          `json:"model"`
	Citations      json.RawMessage `json:"citations"`
	Steps          json.RawMessage `json:"steps"`                  // an agent reply's tool calls and results
	ContentHTML    template.HTML   `json:"content_html,omitempty"` // assistant replies: sanitised Markdown
	InputTokens    int             `json:"input_tokens"`
	OutputTokens   int             `json:"output_tokens"`
	Status         string          `json:"status"`
	Error          string          `json:"error,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
}

func MessageView(m *store.Message) MessageJSON {
	v := MessageJSON{ID: m.ID, Role: m.Role, Content: m.Content, SequenceNumber: m.SequenceNumber, Model: m.Model, Citations: m.Citations,
		InputTokens: m.InputTokens, OutputTokens: m.OutputTokens, Status: m.Status, Error: m.Error, CreatedAt: m.CreatedAt}
	if len(v.Citations) == 0 {
		v.Citations = json.RawMessage("[]")
	}
	v.Steps = m.Steps
	if len(v.Steps) == 0 {
		v.Steps = json.RawMessage("[]")
	}
	if m.ParentID != "" {
		v.ParentID = &m.ParentID
	}
	if m.Role == "assistant" {
		v.ContentHTML = markdown.Render(m.Content)
	}
	return v
}

// chatInput is the body of create and PATCH.
type chatInput struct {
	Name             *string   `json:"name"`
	Model            *string   `json:"model"`
	SystemPrompt     *string   `json:"system_prompt"`
	Temperature      *float64  `json:"temperature"`
	TopP             *float64  `json:"top_p"`
	MaxTokens        *int      `json:"max_tokens"`
	KnowledgeBaseIDs *[]string `json:"knowledge_base_ids"`
	FolderID         *int64    `json:"folder_id"`
	Status           *string   `json:"status"`

	AgentMode json.RawMessage `json:"agent_mode"` // absent: unchanged; null: follow the model
}

// fields validates the input into store fields.
func (in *chatInput) fields() (store.ChatFields, error) {
	f := store.ChatFields{Model: in.Model, SystemPrompt: in.SystemPrompt, FolderID: in.FolderID, KnowledgeBaseIDs: in.KnowledgeBaseIDs}
	if in.Name != nil {
		n, err := checkName("name", *in.Name, false)
		if err != nil {
			return f, err
		}
		f.Name = &n
	}
	if in.Model != nil && *in.Model != "" { // "" = the instance default
		if err := answer.CheckModelName("model", *in.Model); err != nil {
			return f, err
		}
	}
	if in.SystemPrompt != nil && len([]rune(*in.SystemPrompt)) > 20000 {
		return f, request.Invalid("system_prompt", "system_prompt must be at most 20,000 characters")
	}
	if err := answer.CheckSampling(in.Temperature, in.TopP, in.MaxTokens, 0); err != nil {
		return f, err
	}
	if in.Temperature != nil {
		f.Temperature = &in.Temperature
	}
	if in.TopP != nil {
		f.TopP = &in.TopP
	}
	if in.MaxTokens != nil {
		f.MaxTokens = &in.MaxTokens
	}
	if v := in.Status; v != nil && *v != store.ChatActive && *v != store.ChatArchived {
		return f, request.Invalid("status", "status must be \"active\" or \"archived\"")
	}
	f.Status = in.Status
	if in.AgentMode != nil {
		mode, err := agentMode(in.AgentMode)
		if err != nil {
			return f, err
		}
		f.AgentMode = &mode
	}
	if ids := in.KnowledgeBaseIDs; ids != nil && len(*ids) > 50 {
		return f, request.Invalid("knowledge_base_ids", "attach at most 50 knowledge bases")
	}
	return f, nil
}

func chatStoreError(err error) error {
	switch {
	case errors.Is(err, store.ErrInvalidFolder):
		return request.Invalid("folder_id", "folder_id must be one of your folders in this workspace")
	case errors.Is(err, store.ErrInvalidKB):
		return request.Invalid("knowledge_base_ids", "every knowledge base must exist in this workspace and be visible to you")
	}
	return err
}

func (s *Handlers) CreateChat(c *fiber.Ctx) error {
	var in chatInput
	if len(c.Body()) > 0 {
		if err := request.DecodeJSON(c, &in); err != nil {
			return err
		}
	}
	if in.Status != nil {
		return request.Invalid("status", "a new chat is active; archive it afterwards")
	}
	f, err := in.fields()
	if err != nil {
		return err
	}
	if f.Model == nil || *f.Model == "" {
		m := s.Settings.Get().DefaultChatModel
		f.Model = &m
	}
	if in.Model != nil && *in.Model != "" {
		if err := s.Answer.CheckChatModel(c.UserContext(), *in.Model); err != nil {
			return err
		}
	}
	ws := request.Workspace(c)
	if err := s.checkVisibleKBs(c, f.KnowledgeBaseIDs); err != nil {
		return err
	}
	ch, err := s.Store.CreateChat(c.UserContext(), ws.ID, request.User(c).ID, f)
	if err != nil {
		return chatStoreError(err)
	}
	return c.Status(fiber.StatusCreated).JSON(chatView(ch))
}

// checkVisibleKBs applies knowledge's visibility rule to the knowledge bases a
// chat is given (ids is nil when the request does not change them).
func (s *Handlers) checkVisibleKBs(c *fiber.Ctx, ids *[]string) error {
	if ids == nil {
		return nil
	}
	return s.Knowledge.CheckVisible(c.UserContext(), request.Workspace(c).ID, request.Viewer(c), *ids)
}

func (s *Handlers) ListChats(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	f := store.ChatFilter{Query: strings.TrimSpace(c.Query("q")), Status: c.Query("status"), Before: cursor, Limit: limit + 1}
	if v := c.Query("folder_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return request.Invalid("folder_id", "folder_id must be a folder id (0 for chats in no folder)")
		}
		f.FolderID = &id
	}
	if f.Status != "" && f.Status != store.ChatActive && f.Status != store.ChatArchived {
		return request.Invalid("status", "status must be \"active\" or \"archived\"")
	}
	rows, err := s.Store.ListChats(c.UserContext(), request.Workspace(c).ID, request.User(c).ID, f)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, store.ChatCursor, chatView))
}

func (s *Handlers) GetChat(c *fiber.Ctx) error { return c.JSON(chatView(request.Chat(c))) }

func (s *Handlers) PatchChat(c *fiber.Ctx) error {
	var in chatInput
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	f, err := in.fields()
	if err != nil {
		return err
	}
	if m := f.Model; m != nil && *m != "" && *m != request.Chat(c).Model { // a model since uninstalled does not block other changes
		if err := s.Answer.CheckChatModel(c.UserContext(), *m); err != nil {
			return err
		}
	}
	ws := request.Workspace(c)
	if err := s.checkVisibleKBs(c, f.KnowledgeBaseIDs); err != nil {
		return err
	}
	ch, err := s.Store.UpdateChat(c.UserContext(), ws.ID, request.Chat(c).ID, f)
	if err != nil {
		return chatStoreError(err)
	}
	return c.JSON(chatView(ch))
}

func (s *Handlers) DeleteChat(c *fiber.Ctx) error {
	if err := s.Store.DeleteChat(c.UserContext(), request.Workspace(c).ID, request.Chat(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// ListMessages pages through a chat's current path in sequence order
// (docs/API.md lists: ?limit= up to 200, default 50, and the next_cursor of
// the previous page). ?latest=true gives the newest page instead, still in
// sequence order, with next_cursor null: what a reader opening a long chat
// wants first. Each message has its versions and the caller's rating.
func (s *Handlers) ListMessages(c *fiber.Ctx) error {
	msgs, err := s.messagePage(c, request.Workspace(c).ID, request.Chat(c).ID)
	if err != nil {
		return err
	}
	if err := s.WithFeedback(c, msgs.Items); err != nil {
		return err
	}
	return c.JSON(msgs)
}

func (s *Handlers) messagePage(c *fiber.Ctx, wsID, chatID string) (List[BranchJSON], error) {
	limit, cursor, err := paging(c)
	if err != nil {
		return List[BranchJSON]{}, err
	}
	if c.QueryBool("latest") {
		if cursor != "" {
			return List[BranchJSON]{}, request.Invalid("cursor", "latest=true gives the newest page; it takes no cursor")
		}
		rows, err := s.Store.CurrentPath(c.UserContext(), wsID, chatID, store.PathPage{Latest: true, Limit: limit})
		return List[BranchJSON]{Items: MapSlice(rows, BranchView)}, err
	}
	after, err := intCursor(cursor)
	if err != nil {
		return List[BranchJSON]{}, err
	}
	rows, err := s.Store.CurrentPath(c.UserContext(), wsID, chatID, store.PathPage{AfterSeq: int(after), Limit: limit + 1})
	if err != nil {
		return List[BranchJSON]{}, err
	}
	return page(rows, limit, func(m *store.Branch) string { return strconv.Itoa(m.SequenceNumber) }, BranchView), nil
}

type ShareJSON struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func shareView(sh *store.Share) ShareJSON {
	return ShareJSON{sh.ID, sh.UserID, sh.Email, sh.Name, sh.CreatedAt}
}

func (s *Handlers) ListShares(c *fiber.Ctx) error {
	shares, err := s.Store.ListShares(c.UserContext(), request.Workspace(c).ID, request.Chat(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(List[ShareJSON]{Items: MapSlice(shares, shareView)})
}

func (s *Handlers) CreateShare(c *fiber.Ctx) error {
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	u := request.User(c)
	if in.UserID == u.ID {
		return request.Invalid("user_id", "this is your own chat")
	}
	sh, err := s.Store.ShareChat(c.UserContext(), request.Workspace(c).ID, request.Chat(c).ID, in.UserID, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return request.Invalid("user_id", "chats can only be shared with members of this workspace")
	case errors.Is(err, store.ErrConflict):
		return request.Conflict("the chat is already shared with that person")
	case err != nil:
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(shareView(sh))
}

func (s *Handlers) DeleteShare(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("share_id"), 10, 64)
	if err != nil {
		return request.NotFound("share")
	}
	if err := s.Store.Unshare(c.UserContext(), request.Workspace(c).ID, request.Chat(c).ID, id); errors.Is(err, store.ErrNotFound) {
		return request.NotFound("share")
	} else if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// SetPublic publishes the chat under a fresh unguessable id, or withdraws it:
// a withdrawn link is dead for good; publishing again makes a new one.
func (s *Handlers) SetPublic(c *fiber.Ctx) error {
	var in struct {
		Enabled *bool `json:"enabled"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Enabled == nil {
		return request.Invalid("enabled", "enabled must be true or false")
	}
	ch, ws := request.Chat(c), request.Workspace(c)
	publicID := ""
	if *in.Enabled {
		if !s.Settings.Get().AllowPublicChats {
			return request.Forbidden("the administrator of this instance does not allow public chats")
		}
		if err := s.Plan.PublicChats(c.UserContext(), ws.ID); err != nil {
			return err
		}
		publicID = ch.PublicID
		if publicID == "" {
			publicID, _ = auth.NewToken("")
		}
	}
	if err := s.Store.SetPublicID(c.UserContext(), ws.ID, ch.ID, publicID); err != nil {
		return err
	}
	out := fiber.Map{"public_id": nil, "url": nil}
	if publicID != "" {
		out["public_id"], out["url"] = publicID, s.Config.PublicURL()+"/p/"+publicID
	}
	return c.JSON(out)
}

// PublicChat is the read-only transcript behind a public link, one page of
// messages at a time (?limit=&cursor= as in GET messages).
type PublicChat struct {
	Name       string       `json:"name"`
	OwnerName  string       `json:"owner_name"`
	Messages   []BranchJSON `json:"messages"`
	NextCursor *string      `json:"next_cursor"`
	UpdatedAt  time.Time    `json:"updated_at"`
}

func (s *Handlers) LoadPublicChat(c *fiber.Ctx) (*PublicChat, error) {
	if !s.Settings.Get().AllowPublicChats {
		return nil, request.NotFound("chat")
	}
	ch, err := s.Store.ChatByPublicID(c.UserContext(), c.Params("public_id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, request.NotFound("chat")
	}
	if err != nil {
		return nil, err
	}
	// A link published under a plan that no longer allows it stops working.
	if ws, err := s.Store.WorkspaceByID(c.UserContext(), ch.WorkspaceID); err != nil {
		return nil, err
	} else if s.Plan.PublicChats(c.UserContext(), ws.ID) != nil {
		return nil, request.NotFound("chat")
	}
	msgs, err := s.messagePage(c, ch.WorkspaceID, ch.ID)
	if err != nil {
		return nil, err
	}
	for i := range msgs.Items {
		msgs.Items[i].Citations = citedOnly(msgs.Items[i].Citations) // what the reply drew on, not everything retrieved
		msgs.Items[i].Steps = stepsWithoutResults(msgs.Items[i].Steps)
	}
	return &PublicChat{Name: ch.Name, OwnerName: ch.OwnerName, Messages: msgs.Items, NextCursor: msgs.NextCursor, UpdatedAt: ch.UpdatedAt}, nil
}

func (s *Handlers) GetPublicChat(c *fiber.Ctx) error {
	pc, err := s.LoadPublicChat(c)
	if err != nil {
		return err
	}
	return c.JSON(pc)
}

func (s *Handlers) ListSharedWithMe(c *fiber.Ctx) error {
	var chats []store.Chat
	var err error
	if ws := request.KeyWorkspace(c); ws != nil {
		chats, err = s.Store.SharedWithIn(c.UserContext(), ws.ID, request.User(c).ID) // a bound key sees its workspace's only
	} else {
		chats, err = s.Store.SharedWith(c.UserContext(), request.User(c).ID)
	}
	if err != nil {
		return err
	}
	return c.JSON(List[ChatJSON]{Items: MapSlice(chats, chatView)})
}

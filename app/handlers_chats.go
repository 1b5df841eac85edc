package app

import (
	"encoding/json"
	"errors"
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/auth"
	"quire/store"
)

type chatJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Model            string    `json:"model"`
	SystemPrompt     string    `json:"system_prompt"`
	Temperature      *float64  `json:"temperature"`
	TopP             *float64  `json:"top_p"`
	MaxTokens        *int      `json:"max_tokens"`
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

func chatView(c *store.Chat) chatJSON {
	v := chatJSON{ID: c.ID, Name: c.Name, Model: c.Model, SystemPrompt: c.SystemPrompt, Temperature: c.Temperature, TopP: c.TopP,
		MaxTokens: c.MaxTokens, KnowledgeBaseIDs: c.KnowledgeBaseIDs, Status: c.Status, OwnerID: c.UserID, OwnerName: c.OwnerName,
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

type messageJSON struct {
	ID             string          `json:"id"`
	Role           string          `json:"role"`
	Content        string          `json:"content"`
	SequenceNumber int             `json:"sequence_number"`
	ParentID       *string         `json:"parent_id"`
	Model          string          `json:"model"`
	Citations      json.RawMessage `json:"citations"`
	ContentHTML    template.HTML   `json:"content_html,omitempty"` // assistant replies: sanitised Markdown
	InputTokens    int             `json:"input_tokens"`
	OutputTokens   int             `json:"output_tokens"`
	Status         string          `json:"status"`
	Error          string          `json:"error,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
}

func messageView(m *store.Message) messageJSON {
	v := messageJSON{ID: m.ID, Role: m.Role, Content: m.Content, SequenceNumber: m.SequenceNumber, Model: m.Model, Citations: m.Citations,
		InputTokens: m.InputTokens, OutputTokens: m.OutputTokens, Status: m.Status, Error: m.Error, CreatedAt: m.CreatedAt}
	if len(v.Citations) == 0 {
		v.Citations = json.RawMessage("[]")
	}
	if m.ParentID != "" {
		v.ParentID = &m.ParentID
	}
	if m.Role == "assistant" {
		v.ContentHTML = renderMarkdown(m.Content)
	}
	return v
}

func chatOf(c *fiber.Ctx) *store.Chat {
	return chatLocal.get(c)
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
		if err := checkModelName("model", *in.Model); err != nil {
			return f, err
		}
	}
	if in.SystemPrompt != nil && len([]rune(*in.SystemPrompt)) > 20000 {
		return f, invalid("system_prompt", "system_prompt must be at most 20,000 characters")
	}
	if err := checkSampling(in.Temperature, in.TopP, in.MaxTokens, 0); err != nil {
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
		return f, invalid("status", "status must be \"active\" or \"archived\"")
	}
	f.Status = in.Status
	if ids := in.KnowledgeBaseIDs; ids != nil && len(*ids) > 50 {
		return f, invalid("knowledge_base_ids", "attach at most 50 knowledge bases")
	}
	return f, nil
}

// modelName is what Ollama accepts as a model reference
// (registry/namespace/name:tag, or name@digest); anything else never names a model.
var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$`)

// maxReplyTokens caps max_tokens whatever the model: no local model writes
// more in one reply, and the quota reserves this much per call.
const maxReplyTokens = 32768

func checkModelName(field, name string) error {
	if len(name) > 200 {
		return invalid(field, "%s must be at most 200 characters", field)
	}
	if !modelName.MatchString(name) {
		return invalid(field, "%s must be an Ollama model name such as llama3.2:3b (letters, digits and . _ - : / @ +)", field)
	}
	return nil
}

// checkSampling validates sampling settings on every entry point that takes
// them. contextLength, when known, caps max_tokens further.
func checkSampling(temperature, topP *float64, maxTokens *int, contextLength int) error {
	if v := temperature; v != nil && (*v < 0 || *v > 2) {
		return invalid("temperature", "temperature must be from 0 to 2")
	}
	if v := topP; v != nil && (*v <= 0 || *v > 1) {
		return invalid("top_p", "top_p must be above 0 and at most 1")
	}
	limit := maxReplyTokens
	if contextLength > 0 {
		limit = min(limit, contextLength)
	}
	if v := maxTokens; v != nil && (*v < 1 || *v > limit) {
		return invalid("max_tokens", "max_tokens must be from 1 to %d", limit)
	}
	return nil
}

func chatStoreError(err error) error {
	switch {
	case errors.Is(err, store.ErrInvalidFolder):
		return invalid("folder_id", "folder_id must be one of your folders in this workspace")
	case errors.Is(err, store.ErrInvalidKB):
		return invalid("knowledge_base_ids", "every knowledge base must exist in this workspace and be visible to you")
	}
	return err
}

func (s *Server) createChat(c *fiber.Ctx) error {
	var in chatInput
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	if in.Status != nil {
		return invalid("status", "a new chat is active; archive it afterwards")
	}
	f, err := in.fields()
	if err != nil {
		return err
	}
	if f.Model == nil || *f.Model == "" {
		m := s.currentSettings().DefaultChatModel
		f.Model = &m
	}
	ws := workspaceOf(c)
	if err := s.checkVisibleKBs(c, f.KnowledgeBaseIDs); err != nil {
		return err
	}
	ch, err := s.store.CreateChat(c.UserContext(), ws.ID, userOf(c).ID, f)
	if err != nil {
		return chatStoreError(err)
	}
	return c.Status(fiber.StatusCreated).JSON(chatView(ch))
}

// checkVisibleKBs applies knowledge's visibility rule to the knowledge bases a
// chat is given (ids is nil when the request does not change them).
func (s *Server) checkVisibleKBs(c *fiber.Ctx, ids *[]string) error {
	if ids == nil {
		return nil
	}
	return s.knowledge.CheckVisible(c.UserContext(), workspaceOf(c).ID, viewerOf(c), *ids)
}

func (s *Server) listChats(c *fiber.Ctx) error {
	limit, cursor, err := paging(c)
	if err != nil {
		return err
	}
	f := store.ChatFilter{Query: strings.TrimSpace(c.Query("q")), Status: c.Query("status"), Before: cursor, Limit: limit + 1}
	if v := c.Query("folder_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return invalid("folder_id", "folder_id must be a folder id (0 for chats in no folder)")
		}
		f.FolderID = &id
	}
	if f.Status != "" && f.Status != store.ChatActive && f.Status != store.ChatArchived {
		return invalid("status", "status must be \"active\" or \"archived\"")
	}
	rows, err := s.store.ListChats(c.UserContext(), workspaceOf(c).ID, userOf(c).ID, f)
	if err != nil {
		return err
	}
	return c.JSON(page(rows, limit, store.ChatCursor, chatView))
}

func (s *Server) getChat(c *fiber.Ctx) error { return c.JSON(chatView(chatOf(c))) }

func (s *Server) patchChat(c *fiber.Ctx) error {
	var in chatInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	f, err := in.fields()
	if err != nil {
		return err
	}
	ws := workspaceOf(c)
	if err := s.checkVisibleKBs(c, f.KnowledgeBaseIDs); err != nil {
		return err
	}
	ch, err := s.store.UpdateChat(c.UserContext(), ws.ID, chatOf(c).ID, f)
	if err != nil {
		return chatStoreError(err)
	}
	return c.JSON(chatView(ch))
}

func (s *Server) deleteChat(c *fiber.Ctx) error {
	if err := s.store.DeleteChat(c.UserContext(), workspaceOf(c).ID, chatOf(c).ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listMessages pages through a chat's current path in sequence order
// (docs/API.md lists: ?limit= up to 200, default 50, and the next_cursor of
// the previous page). ?latest=true gives the newest page instead, still in
// sequence order, with next_cursor null: what a reader opening a long chat
// wants first. Each message has its versions and the caller's rating.
func (s *Server) listMessages(c *fiber.Ctx) error {
	msgs, err := s.messagePage(c, workspaceOf(c).ID, chatOf(c).ID)
	if err != nil {
		return err
	}
	if err := s.withFeedback(c, msgs.Items); err != nil {
		return err
	}
	return c.JSON(msgs)
}

func (s *Server) messagePage(c *fiber.Ctx, wsID, chatID string) (list[branchJSON], error) {
	limit, cursor, err := paging(c)
	if err != nil {
		return list[branchJSON]{}, err
	}
	if c.QueryBool("latest") {
		if cursor != "" {
			return list[branchJSON]{}, invalid("cursor", "latest=true gives the newest page; it takes no cursor")
		}
		rows, err := s.store.CurrentPath(c.UserContext(), wsID, chatID, store.PathPage{Latest: true, Limit: limit})
		return list[branchJSON]{Items: mapSlice(rows, branchView)}, err
	}
	after, err := intCursor(cursor)
	if err != nil {
		return list[branchJSON]{}, err
	}
	rows, err := s.store.CurrentPath(c.UserContext(), wsID, chatID, store.PathPage{AfterSeq: int(after), Limit: limit + 1})
	if err != nil {
		return list[branchJSON]{}, err
	}
	return page(rows, limit, func(m *store.Branch) string { return strconv.Itoa(m.SequenceNumber) }, branchView), nil
}

type shareJSON struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func shareView(sh *store.Share) shareJSON {
	return shareJSON{sh.ID, sh.UserID, sh.Email, sh.Name, sh.CreatedAt}
}

func (s *Server) listShares(c *fiber.Ctx) error {
	shares, err := s.store.ListShares(c.UserContext(), workspaceOf(c).ID, chatOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(list[shareJSON]{Items: mapSlice(shares, shareView)})
}

func (s *Server) createShare(c *fiber.Ctx) error {
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u := userOf(c)
	if in.UserID == u.ID {
		return invalid("user_id", "this is your own chat")
	}
	sh, err := s.store.ShareChat(c.UserContext(), workspaceOf(c).ID, chatOf(c).ID, in.UserID, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return invalid("user_id", "chats can only be shared with members of this workspace")
	case errors.Is(err, store.ErrConflict):
		return conflict("the chat is already shared with that person")
	case err != nil:
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(shareView(sh))
}

func (s *Server) deleteShare(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("share_id"), 10, 64)
	if err != nil {
		return notFound("share")
	}
	if err := s.store.Unshare(c.UserContext(), workspaceOf(c).ID, chatOf(c).ID, id); errors.Is(err, store.ErrNotFound) {
		return notFound("share")
	} else if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// setPublic publishes the chat under a fresh unguessable id, or withdraws it:
// a withdrawn link is dead for good; publishing again makes a new one.
func (s *Server) setPublic(c *fiber.Ctx) error {
	var in struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Enabled == nil {
		return invalid("enabled", "enabled must be true or false")
	}
	ch, ws := chatOf(c), workspaceOf(c)
	publicID := ""
	if *in.Enabled {
		if !s.currentSettings().AllowPublicChats {
			return forbidden("the administrator of this instance does not allow public chats")
		}
		if err := s.plan.PublicChats(c.UserContext(), ws.ID); err != nil {
			return err
		}
		publicID = ch.PublicID
		if publicID == "" {
			publicID, _ = auth.NewToken("")
		}
	}
	if err := s.store.SetPublicID(c.UserContext(), ws.ID, ch.ID, publicID); err != nil {
		return err
	}
	out := fiber.Map{"public_id": nil, "url": nil}
	if publicID != "" {
		out["public_id"], out["url"] = publicID, s.cfg.PublicURL()+"/p/"+publicID
	}
	return c.JSON(out)
}

// publicChat is the read-only transcript behind a public link, one page of
// messages at a time (?limit=&cursor= as in GET messages).
type publicChat struct {
	Name       string       `json:"name"`
	OwnerName  string       `json:"owner_name"`
	Messages   []branchJSON `json:"messages"`
	NextCursor *string      `json:"next_cursor"`
	UpdatedAt  time.Time    `json:"updated_at"`
}

func (s *Server) loadPublicChat(c *fiber.Ctx) (*publicChat, error) {
	if !s.currentSettings().AllowPublicChats {
		return nil, notFound("chat")
	}
	ch, err := s.store.ChatByPublicID(c.UserContext(), c.Params("public_id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("chat")
	}
	if err != nil {
		return nil, err
	}
	// A link published under a plan that no longer allows it stops working.
	if ws, err := s.store.WorkspaceByID(c.UserContext(), ch.WorkspaceID); err != nil {
		return nil, err
	} else if s.plan.PublicChats(c.UserContext(), ws.ID) != nil {
		return nil, notFound("chat")
	}
	msgs, err := s.messagePage(c, ch.WorkspaceID, ch.ID)
	if err != nil {
		return nil, err
	}
	for i := range msgs.Items {
		msgs.Items[i].Citations = citedOnly(msgs.Items[i].Citations) // what the reply drew on, not everything retrieved
	}
	return &publicChat{Name: ch.Name, OwnerName: ch.OwnerName, Messages: msgs.Items, NextCursor: msgs.NextCursor, UpdatedAt: ch.UpdatedAt}, nil
}

func (s *Server) getPublicChat(c *fiber.Ctx) error {
	pc, err := s.loadPublicChat(c)
	if err != nil {
		return err
	}
	return c.JSON(pc)
}

func (s *Server) listSharedWithMe(c *fiber.Ctx) error {
	var chats []store.Chat
	var err error
	if ws := keyWorkspaceOf(c); ws != nil {
		chats, err = s.store.SharedWithIn(c.UserContext(), ws.ID, userOf(c).ID) // a bound key sees its workspace's only
	} else {
		chats, err = s.store.SharedWith(c.UserContext(), userOf(c).ID)
	}
	if err != nil {
		return err
	}
	return c.JSON(list[chatJSON]{Items: mapSlice(chats, chatView)})
}

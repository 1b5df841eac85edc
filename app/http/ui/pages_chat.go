package ui

import (
	"context"
	"encoding/json"
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/answer"
	"quire/app/chat"
	"quire/app/http/api"
	"quire/app/http/request"
	"quire/store"
)

// messagePage is a message prepared for the transcript template.
type messagePage struct {
	api.BranchJSON
	Sources []chat.Source // cited only, numbered as cited
	Steps   []stepView    // an agent reply's tool steps, folded
}

func transcript(msgs []api.BranchJSON) []messagePage {
	out := make([]messagePage, len(msgs))
	for i := range msgs {
		out[i] = citedPage(msgs[i])
	}
	return out
}

// kbOption is a knowledge base offered for attaching to a chat.
type kbOption struct {
	ID, Name string
	Attached bool
}

// modelOption is a model offered in the composer's picker.
type modelOption struct {
	Name     string
	Selected bool
	Missing  bool // the chat's model, no longer installed (or the server is down)
}

// chatModels offers the installed chat models, the chat's own selected, and
// says so when the model server cannot be asked.
func (s *Pages) chatModels(ctx context.Context, current string) (opts []modelOption, down bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	names, err := s.Answer.ChatModels(ctx)
	found := false
	for _, n := range names {
		same := answer.SameModel(n, current)
		found = found || same
		opts = append(opts, modelOption{Name: n, Selected: same})
	}
	if current != "" && !found {
		opts = append([]modelOption{{Name: current, Selected: true, Missing: true}}, opts...)
	}
	return opts, err != nil
}

func (s *Pages) PageChats(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	f := store.ChatFilter{Query: strings.TrimSpace(c.Query("q")), Status: c.Query("status", store.ChatActive), Limit: 200}
	if f.Status == "all" {
		f.Status = ""
	}
	var folderName string
	if v := c.Query("folder"); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			f.FolderID = &id
			if id != 0 {
				if fo, err := s.Store.GetFolder(c.UserContext(), ws.ID, id); err == nil && fo.UserID == request.User(c).ID {
					folderName = fo.Name
				}
			}
		}
	}
	chats, err := s.Store.ListChats(c.UserContext(), ws.ID, request.User(c).ID, f)
	if err != nil {
		return err
	}
	return s.render(c, "chats", "Chats · "+ws.Name, fiber.Map{"Chats": chats, "Filter": f, "FolderName": folderName, "Status": c.Query("status", store.ChatActive)})
}

// chatPageMessages is how many of a chat's latest messages its page shows.
const chatPageMessages = 200

func (s *Pages) PageChat(c *fiber.Ctx) error {
	ch, ws, u := request.Chat(c), request.Workspace(c), request.User(c)
	ctx := c.UserContext()
	// A long chat opens on its latest messages; the API pages through the rest.
	path, err := s.Store.CurrentPath(ctx, ws.ID, ch.ID, store.PathPage{Latest: true, Limit: chatPageMessages})
	if err != nil {
		return err
	}
	msgs := api.MapSlice(path, api.BranchView)
	if err := s.api.WithFeedback(c, msgs); err != nil {
		return err
	}
	data := fiber.Map{"Chat": ch, "Messages": transcript(msgs), "Owner": ch.UserID == u.ID, "Running": s.Answer.Running(ch.ID) != nil}
	data["AgentMode"] = agentModeOption(ch.AgentMode)
	if ch.UserID == u.ID {
		if data["Shares"], err = s.Store.ListShares(ctx, ws.ID, ch.ID); err != nil {
			return err
		}
		if data["Members"], err = s.Store.ListMembers(ctx, ws.ID, 0, 200); err != nil {
			return err
		}
		data["Models"], data["ModelsDown"] = s.chatModels(ctx, ch.Model)
		data["DefaultModel"] = s.Settings.Get().DefaultChatModel
		data["AllowPublic"] = s.Settings.Get().AllowPublicChats
		if ch.PublicID != "" {
			data["PublicURL"] = s.Config.PublicURL() + "/p/" + ch.PublicID
		}
		v := store.ViewerFor(ws, u.ID)
		kbs, err := s.Store.ListKnowledgeBases(ctx, ws.ID, v, "", "", 200)
		if err != nil {
			return err
		}
		attached := map[string]bool{}
		for _, id := range ch.KnowledgeBaseIDs {
			attached[id] = true
		}
		var opts []kbOption
		for _, kb := range kbs {
			opts = append(opts, kbOption{kb.ID, kb.Name, attached[kb.ID]})
		}
		data["KBs"] = opts
	}
	title := ch.Name
	if title == "" {
		title = "New chat"
	}
	return s.render(c, "chat", title, data)
}

func (s *Pages) PageShared(c *fiber.Ctx) error {
	chats, err := s.Store.SharedWith(c.UserContext(), request.User(c).ID)
	if err != nil {
		return err
	}
	return s.render(c, "shared", "Shared with me", fiber.Map{"Chats": chats})
}

func (s *Pages) PagePublicChat(c *fiber.Ctx) error {
	pc, err := s.api.LoadPublicChat(c)
	if err != nil {
		return err
	}
	return s.render(c, "public_chat", pc.Name, fiber.Map{"Chat": pc, "Messages": transcript(pc.Messages)})
}

// citeLink is a citation link as linkCitations writes it.
var citeLink = regexp.MustCompile(`<a class="cite" href="#" data-cite="(\d{1,3})">\[\d{1,3}\]</a>`)

// citedPage prepares a message for the transcript: only its cited sources,
// and each [n] a link to its source's passage on the same page (#src-<id>-n,
// which works without script, as on a public page); an [n] that names no
// source is left as text rather than a dead link.
func citedPage(m api.BranchJSON) messagePage {
	p := messagePage{BranchJSON: m, Steps: stepViews(m.Steps)}
	var all []chat.Source
	_ = json.Unmarshal(m.Citations, &all)
	cited := map[string]bool{}
	for _, src := range all {
		if src.Cited {
			p.Sources = append(p.Sources, src)
			cited[strconv.Itoa(src.N)] = true
		}
	}
	if m.ContentHTML != "" {
		p.ContentHTML = template.HTML(citeLink.ReplaceAllStringFunc(string(m.ContentHTML), func(a string) string {
			n := citeLink.FindStringSubmatch(a)[1]
			if !cited[n] {
				return "[" + n + "]"
			}
			return `<a class="cite" href="#src-` + m.ID + `-` + n + `" data-cite="` + n + `">[` + n + `]</a>`
		}))
	}
	return p
}

package app

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/chat"
	"quire/store"
)

// messagePage is a message prepared for the transcript template.
type messagePage struct {
	branchJSON
	Sources []chat.Source // cited only, numbered as cited
}

func transcript(msgs []branchJSON) []messagePage {
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

// chatModels lists the chat-capable models Ollama has (none when it is down).
func (s *Server) chatModels(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	models, err := s.llm.List(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range models {
		if strings.Contains(strings.ToLower(m.Name), "embed") {
			continue // embedding models cannot chat
		}
		out = append(out, m.Name)
	}
	return out
}

func (s *Server) pageChats(c *fiber.Ctx) error {
	ws := workspaceOf(c)
	f := store.ChatFilter{Query: strings.TrimSpace(c.Query("q")), Status: c.Query("status", store.ChatActive), Limit: 200}
	if f.Status == "all" {
		f.Status = ""
	}
	var folderName string
	if v := c.Query("folder"); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			f.FolderID = &id
			if id != 0 {
				if fo, err := s.store.GetFolder(c.UserContext(), ws.ID, id); err == nil && fo.UserID == userOf(c).ID {
					folderName = fo.Name
				}
			}
		}
	}
	chats, err := s.store.ListChats(c.UserContext(), ws.ID, userOf(c).ID, f)
	if err != nil {
		return err
	}
	return s.render(c, "chats", "Chats · "+ws.Name, fiber.Map{"Chats": chats, "Filter": f, "FolderName": folderName, "Status": c.Query("status", store.ChatActive)})
}

// chatPageMessages is how many of a chat's latest messages its page shows.
const chatPageMessages = 200

func (s *Server) pageChat(c *fiber.Ctx) error {
	ch, ws, u := chatOf(c), workspaceOf(c), userOf(c)
	ctx := c.UserContext()
	// A long chat opens on its latest messages; the API pages through the rest.
	path, err := s.store.CurrentPath(ctx, ws.ID, ch.ID, store.PathPage{Latest: true, Limit: chatPageMessages})
	if err != nil {
		return err
	}
	msgs := mapSlice(path, branchView)
	if err := s.withFeedback(c, msgs); err != nil {
		return err
	}
	data := fiber.Map{"Chat": ch, "Messages": transcript(msgs), "Owner": ch.UserID == u.ID, "Running": s.answer.Running(ch.ID) != nil}
	if ch.UserID == u.ID {
		if data["Shares"], err = s.store.ListShares(ctx, ws.ID, ch.ID); err != nil {
			return err
		}
		if data["Members"], err = s.store.ListMembers(ctx, ws.ID, 0, 200); err != nil {
			return err
		}
		data["Models"] = s.chatModels(ctx)
		data["DefaultModel"] = s.currentSettings().DefaultChatModel
		data["AllowPublic"] = s.currentSettings().AllowPublicChats
		if ch.PublicID != "" {
			data["PublicURL"] = s.cfg.PublicURL() + "/p/" + ch.PublicID
		}
		v := store.ViewerFor(ws, u.ID)
		kbs, err := s.store.ListKnowledgeBases(ctx, ws.ID, v, "", "", 200)
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

func (s *Server) pageShared(c *fiber.Ctx) error {
	chats, err := s.store.SharedWith(c.UserContext(), userOf(c).ID)
	if err != nil {
		return err
	}
	return s.render(c, "shared", "Shared with me", fiber.Map{"Chats": chats})
}

func (s *Server) pagePublicChat(c *fiber.Ctx) error {
	pc, err := s.loadPublicChat(c)
	if err != nil {
		return err
	}
	return s.render(c, "public_chat", pc.Name, fiber.Map{"Chat": pc, "Messages": transcript(pc.Messages)})
}

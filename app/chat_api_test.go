package app

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"quire/app/http/api"
)

func TestChatCRUDAndPrivacy(t *testing.T) {
	ts := newTestServer(t)
	owner, member := ts.signup("owner"), ts.signup("member")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, member, "member")
	base := "/api/workspaces/" + ws.ID
	var folder api.FolderJSON
	ts.must(201, req{method: "POST", path: base + "/folders", token: member.token, body: map[string]string{"name": "Research"}}).json(&folder)

	var chat api.ChatJSON
	ts.must(201, req{method: "POST", path: base + "/chats", token: member.token, body: map[string]any{
		"name": "Pricing questions", "system_prompt": "Be brief.", "temperature": 0.2, "top_p": 0.9, "max_tokens": 256, "folder_id": folder.ID,
	}}).json(&chat)
	if chat.Name != "Pricing questions" || *chat.Temperature != 0.2 || *chat.MaxTokens != 256 || *chat.FolderID != folder.ID || chat.Status != "active" {
		t.Fatalf("created %+v", chat)
	}
	for field, body := range map[string]map[string]any{
		"temperature":        {"temperature": 3},
		"top_p":              {"top_p": 0},
		"max_tokens":         {"max_tokens": 0},
		"folder_id":          {"folder_id": 999},
		"knowledge_base_ids": {"knowledge_base_ids": []string{"no-such-kb"}},
	} {
		if res := ts.must(400, req{method: "POST", path: base + "/chats", token: member.token, body: body}); res.errField() != field {
			t.Errorf("%s: %s", field, res.Body)
		}
	}
	// Another member's folder is not a place for my chat.
	ts.must(400, req{method: "POST", path: base + "/chats", token: owner.token, body: map[string]any{"folder_id": folder.ID}})

	cp := base + "/chats/" + chat.ID
	// Private: even the workspace owner does not see it.
	ts.must(404, req{method: "GET", path: cp, token: owner.token})
	ts.must(404, req{method: "GET", path: cp + "/messages", token: owner.token})
	var l api.List[api.ChatJSON]
	ts.must(200, req{method: "GET", path: base + "/chats", token: owner.token}).json(&l)
	if len(l.Items) != 0 {
		t.Fatalf("owner lists a member's chats: %+v", l.Items)
	}

	// Filters: folder, search, archived.
	ts.must(201, req{method: "POST", path: base + "/chats", token: member.token, body: map[string]string{"name": "Loose"}})
	ts.must(200, req{method: "GET", path: fmt.Sprintf("%s/chats?folder_id=%d", base, folder.ID), token: member.token}).json(&l)
	if len(l.Items) != 1 || l.Items[0].ID != chat.ID {
		t.Fatalf("folder filter: %+v", l.Items)
	}
	ts.must(200, req{method: "GET", path: base + "/chats?q=pricing", token: member.token}).json(&l)
	if len(l.Items) != 1 {
		t.Fatalf("search: %d results", len(l.Items))
	}
	ts.must(200, req{method: "PATCH", path: cp, token: member.token, body: map[string]string{"status": "archived"}})
	ts.must(200, req{method: "GET", path: base + "/chats?status=active", token: member.token}).json(&l)
	if len(l.Items) != 1 || l.Items[0].Name != "Loose" {
		t.Fatalf("active filter: %+v", l.Items)
	}
	// Deleting the folder keeps the chat, now in no folder.
	ts.must(204, req{method: "DELETE", path: fmt.Sprintf("%s/folders/%d", base, folder.ID), token: member.token})
	ts.must(200, req{method: "GET", path: cp, token: member.token}).json(&chat)
	if chat.FolderID != nil {
		t.Fatalf("chat still in a deleted folder: %v", *chat.FolderID)
	}
	ts.must(204, req{method: "DELETE", path: cp, token: member.token})
	ts.must(404, req{method: "GET", path: cp, token: member.token})
}

func TestChatSharingAndPublicLinks(t *testing.T) {
	ts := newTestServer(t)
	owner, alice, bob, outsider := ts.signup("owner"), ts.signup("alice"), ts.signup("bob"), ts.signup("outsider")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, alice, "member")
	ts.addMember(ws, owner, bob, "member")
	base := "/api/workspaces/" + ws.ID
	var chat api.ChatJSON
	ts.must(201, req{method: "POST", path: base + "/chats", token: alice.token, body: map[string]string{"name": "Findings"}}).json(&chat)
	if _, err := ts.store.AddMessage(context.Background(), ws.ID, chat.ID, "user", "What did we learn?", "", "", "complete"); err != nil {
		t.Fatal(err)
	}
	cp := base + "/chats/" + chat.ID

	ts.must(400, req{method: "POST", path: cp + "/shares", token: alice.token, body: map[string]int64{"user_id": outsider.ID}})
	var share api.ShareJSON
	ts.must(201, req{method: "POST", path: cp + "/shares", token: alice.token, body: map[string]int64{"user_id": bob.ID}}).json(&share)
	ts.must(409, req{method: "POST", path: cp + "/shares", token: alice.token, body: map[string]int64{"user_id": bob.ID}})
	// Bob reads, read-only.
	ts.must(200, req{method: "GET", path: cp, token: bob.token})
	var msgs api.List[api.MessageJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: bob.token}).json(&msgs)
	if len(msgs.Items) != 1 || msgs.Items[0].SequenceNumber != 1 {
		t.Fatalf("shared messages %+v", msgs.Items)
	}
	ts.must(403, req{method: "PATCH", path: cp, token: bob.token, body: map[string]string{"name": "Mine now"}})
	ts.must(403, req{method: "DELETE", path: cp, token: bob.token})
	ts.must(403, req{method: "POST", path: cp + "/shares", token: bob.token, body: map[string]int64{"user_id": owner.ID}})
	var shared api.List[api.ChatJSON]
	ts.must(200, req{method: "GET", path: "/api/me/shared-chats", token: bob.token}).json(&shared)
	if len(shared.Items) != 1 || shared.Items[0].ID != chat.ID || shared.Items[0].OwnerName != "Alice" {
		t.Fatalf("shared with bob: %+v", shared.Items)
	}
	// Revoked: gone for Bob.
	ts.must(204, req{method: "DELETE", path: fmt.Sprintf("%s/shares/%d", cp, share.ID), token: alice.token})
	ts.must(404, req{method: "GET", path: cp, token: bob.token})

	// Public link: readable without signing in, dead once disabled, new when re-enabled.
	var pub struct {
		PublicID string `json:"public_id"`
		URL      string
	}
	ts.must(200, req{method: "POST", path: cp + "/public", token: alice.token, body: map[string]bool{"enabled": true}}).json(&pub)
	if len(pub.PublicID) < 40 || pub.URL == "" {
		t.Fatalf("public link %+v", pub)
	}
	var transcript api.PublicChat
	ts.must(200, req{method: "GET", path: "/api/public/chats/" + pub.PublicID}).json(&transcript)
	if transcript.Name != "Findings" || len(transcript.Messages) != 1 {
		t.Fatalf("public transcript %+v", transcript)
	}
	ts.must(200, req{method: "POST", path: cp + "/public", token: alice.token, body: map[string]bool{"enabled": false}})
	ts.must(404, req{method: "GET", path: "/api/public/chats/" + pub.PublicID})
	old := pub.PublicID
	ts.must(200, req{method: "POST", path: cp + "/public", token: alice.token, body: map[string]bool{"enabled": true}}).json(&pub)
	if pub.PublicID == old {
		t.Fatal("re-publishing revived the withdrawn link")
	}
	// The instance admin turns public chats off: publishing is refused and links die.
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: owner.token, body: map[string]bool{"allow_public_chats": false}})
	ts.must(404, req{method: "GET", path: "/api/public/chats/" + pub.PublicID})
	ts.must(403, req{method: "POST", path: cp + "/public", token: alice.token, body: map[string]bool{"enabled": true}})
}

func TestChatAttachesOnlyVisibleKnowledgeBases(t *testing.T) {
	ts := newTestServer(t)
	owner, member := ts.signup("owner"), ts.signup("member")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, member, "member")
	base := "/api/workspaces/" + ws.ID
	var open, closed api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: owner.token, body: map[string]any{"name": "Open"}}).json(&open)
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: owner.token, body: map[string]any{"name": "Closed", "shared_with_workspace": false}}).json(&closed)
	var ch api.ChatJSON
	ts.must(201, req{method: "POST", path: base + "/chats", token: member.token, body: map[string]any{"knowledge_base_ids": []string{open.ID}}}).json(&ch)
	if len(ch.KnowledgeBaseIDs) != 1 || ch.KnowledgeBaseIDs[0] != open.ID {
		t.Fatalf("attached %v", ch.KnowledgeBaseIDs)
	}
	if res := ts.must(400, req{method: "PATCH", path: base + "/chats/" + ch.ID, token: member.token, body: map[string]any{"knowledge_base_ids": []string{closed.ID}}}); res.errField() != "knowledge_base_ids" {
		t.Fatalf("restricted KB attached: %s", res.Body)
	}
	page := ts.must(200, req{method: "GET", path: "/w/" + ws.ID + "/c/" + ch.ID, headers: map[string]string{"Cookie": "quire_session=" + member.token}})
	if !strings.Contains(string(page.Body), "Open") || strings.Contains(string(page.Body), ">Closed<") {
		t.Fatal("the chat page offers knowledge bases the member cannot see")
	}
}

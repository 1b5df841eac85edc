package chatexport_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quire/app/chatexport"
	"quire/store"
)

// Messages reads a chat whole across pages, and only that workspace's chat.
func TestMessagesWholeAndScoped(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, _ := st.CreateUser(ctx, "a@example.com", "A", "x", true)
	ws, _ := st.CreateWorkspace(ctx, u.ID, "Acme")
	other, _ := st.CreateWorkspace(ctx, u.ID, "Other")
	ch, err := st.CreateChat(ctx, ws.ID, u.ID, store.ChatFields{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1001 {
		if _, err := st.AppendMessage(ctx, ws.ID, ch.ID, "user", fmt.Sprint(i), "", store.MsgComplete); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := chatexport.Messages(ctx, st, ws.ID, ch.ID)
	if err != nil || len(msgs) != 1001 || msgs[1000].Content != "1000" {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	if msgs, err := chatexport.Messages(ctx, st, other.ID, ch.ID); err != nil || len(msgs) != 0 {
		t.Fatalf("another workspace's id read %d messages (%v)", len(msgs), err)
	}
}

// A hostile title neither breaks the Markdown's heading nor the file name.
func TestHostileTitles(t *testing.T) {
	for name, file := range map[string]string{
		"":                                "chat.md",
		"Quarterly plan":                  "quarterly-plan.md",
		"a\r\nContent-Type: text/html":    "a-content-type-text-html.md",
		`"; filename="evil.exe`:           "filename-evil-exe.md",
		"../../../etc/passwd":             "etc-passwd.md",
		"\u202egnp.exe":                   "gnp-exe.md",
		"日本語":                             "chat.md",
		strings.Repeat("long words ", 20): strings.Repeat("long-words-", 5) + "long.md", // cut at a word's end
	} {
		ch := &store.Chat{Name: name}
		if got := chatexport.Filename(ch, "md"); got != file {
			t.Errorf("title %q: file %q, want %q", name, got, file)
		}
		md := string(chatexport.Markdown(ch, nil, time.Now()))
		if first, _, _ := strings.Cut(md, "\n"); strings.ContainsAny(first[2:], "\r") || !strings.HasPrefix(md, "# ") || strings.Count(md, "\n# ") != 0 {
			t.Errorf("title %q heads the export as %q", name, first)
		}
	}
}

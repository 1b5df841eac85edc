// Package chatexport writes a whole chat out for its readers to keep: every
// message in order, as Markdown or as data the HTTP layer shapes into JSON.
package chatexport

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"quire/app/chat"
	"quire/store"
)

// page is how many messages are read at a time.
const page = 500

// Messages reads the chat's current path (the versions on screen), oldest first.
func Messages(ctx context.Context, st *store.Store, wsID, chatID string) ([]store.Message, error) {
	var out []store.Message
	after := 0
	for {
		rows, err := st.CurrentPath(ctx, wsID, chatID, store.PathPage{AfterSeq: after, Limit: page})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out = append(out, r.Message)
		}
		if len(rows) < page {
			return out, nil
		}
		after = rows[len(rows)-1].SequenceNumber
	}
}

// Markdown is the chat as a Markdown document: its title, then each message
// under who wrote it, and under each answer the sources it cited.
func Markdown(ch *store.Chat, msgs []store.Message, at time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", Title(ch))
	fmt.Fprintf(&b, "Exported from Quire on %s", at.UTC().Format("2 January 2006, 15:04 UTC"))
	if ch.Model != "" {
		fmt.Fprintf(&b, " · model %s", ch.Model)
	}
	b.WriteString("\n")
	for _, m := range msgs {
		who := "You"
		if m.Role == "assistant" {
			who = "Assistant"
		}
		fmt.Fprintf(&b, "\n---\n\n**%s** · %s\n\n", who, m.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
		if text := strings.TrimSpace(m.Content); text != "" {
			b.WriteString(text + "\n")
		}
		switch m.Status {
		case store.MsgStopped:
			b.WriteString("\n_Stopped — the reply is incomplete._\n")
		case store.MsgFailed:
			fmt.Fprintf(&b, "\n_The reply failed: %s_\n", oneLine(m.Error))
		}
		if cited := citedSources(m.Citations); len(cited) > 0 {
			b.WriteString("\nSources:\n\n")
			for _, s := range cited {
				fmt.Fprintf(&b, "- [%d] %s", s.N, oneLine(s.DocumentName))
				if s.PageNumber != nil {
					fmt.Fprintf(&b, ", p. %d", *s.PageNumber)
				}
				if s.Heading != "" {
					fmt.Fprintf(&b, " — %s", oneLine(s.Heading))
				}
				b.WriteString("\n")
			}
		}
	}
	return []byte(b.String())
}

// Title is what a chat is called, "New chat" until it is named.
func Title(ch *store.Chat) string {
	if t := oneLine(ch.Name); t != "" {
		return t
	}
	return "New chat"
}

// citedSources are the sources an answer cites: the rest were offered to the
// model but not used.
func citedSources(raw json.RawMessage) []chat.Source {
	var all []chat.Source
	if json.Unmarshal(raw, &all) != nil {
		return nil
	}
	var out []chat.Source
	for _, s := range all {
		if s.Cited {
			out = append(out, s)
		}
	}
	return out
}

// oneLine keeps a name from breaking the document's structure.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Filename is the download's name: the title as lowercase ASCII letters,
// digits and hyphens (a header value and a file name on every system), at
// most 60 characters cut at a word's end, "chat" when nothing is left.
func Filename(ch *store.Chat, ext string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(ch.Name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	name := b.String()
	if len(name) > 60 { // at a word's end
		name = name[:60]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
	}
	if name == "" {
		name = "chat"
	}
	return name + "." + ext
}

package answer

import (
	"context"
	"regexp"
	"strings"
	"unicode"

	"quire/app/chat"
	"quire/app/plan"
	"quire/store"
)

var (
	// titleCitation is a citation mark with the space before it: "answers [1]." is "answers."
	titleCitation = regexp.MustCompile(`\s*\[\d+\]`)
	titleJunk     = regexp.MustCompile(`["“”*#_` + "`" + `]`)
	titleLabel    = regexp.MustCompile(`(?i)^\s*title\s*:\s*`)
	// titleLoose is a space left before punctuation once marks are gone.
	titleLoose = regexp.MustCompile(`\s+([.,;:!?])`)
)

// cleanTitle makes a model's title one plain line: no citation marks, quotes,
// Markdown or control and format characters (a right-to-left override would
// garble the chat list), no "Title:" label, and no closing full stop.
func cleanTitle(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
	s = titleCitation.ReplaceAllString(s, "")
	s = titleJunk.ReplaceAllString(s, "")
	s = titleLabel.ReplaceAllString(s, "")
	s = strings.Join(strings.Fields(s), " ")
	s = titleLoose.ReplaceAllString(s, "$1")
	return strings.TrimSpace(strings.TrimRight(s, ". "))
}

// title gives a new chat a short title from its first exchange. It runs
// after the reply is stored and the chat is free again; one title at a time
// per chat.
func (s *Service) title(r *run) {
	if _, naming := s.naming.LoadOrStore(r.chatID, true); naming {
		return
	}
	defer s.naming.Delete(r.chatID)
	ctx, cancel := context.WithTimeout(s.base, titleTimeout)
	defer cancel()
	max := 24
	req := chat.Request{Model: r.req.Model, MaxTokens: &max,
		Question: "Write a title of at most six words for a conversation that starts with this question. Reply with the title only.\n\n" + r.question.Content}
	// The title is a model call like any other: it fits the quota or is not made.
	in, out := chat.Estimate(req)
	hold, err := s.plan.Reserve(ctx, r.wsID, req.Model, in, out)
	var res chat.Result
	if err == nil {
		res, err = chat.Stream(ctx, s.llm, chat.Build(req), func(string) {})
	}
	title := cleanTitle(res.Content)
	if err != nil || title == "" {
		title = cleanTitle(r.question.Content) // fall back to the question itself
	}
	if rs := []rune(strings.Join(strings.Fields(title), " ")); len(rs) > 80 {
		title = string(rs[:80]) + "…"
	} else {
		title = string(rs)
	}
	bg := context.WithoutCancel(ctx)
	s.plan.Settle(bg, hold, plan.Call{WorkspaceID: r.wsID, Kind: store.UsageTitle, Model: req.Model, UserID: r.viewer.UserID, ChatID: r.chatID,
		Input: res.InputTokens, Output: res.OutputTokens, Duration: res.Duration})
	if _, err := s.st.UpdateChat(bg, r.wsID, r.chatID, store.ChatFields{Name: &title}); err != nil {
		s.log.Warn("naming chat", "chat_id", r.chatID, "err", err)
	}
}

// Package feedback is the rating of answers: a user's thumbs up or down on an
// assistant message, with an optional note, and the per-model and
// per-knowledge-base tallies workspace admins read as the first signal of
// answer quality.
package feedback

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"quire/app/fault"
	"quire/store"
)

// MaxNote is the longest note, in characters: a sentence or two about what
// was wrong, not a document.
const MaxNote = 2000

// notesShown is how many of the latest notes the summary lists.
const notesShown = 50

// Service rates answers.
type Service struct{ Store *store.Store }

// Rating is a rating as the API spells it.
type Rating string

// The two ratings.
const (
	Up   Rating = "up"
	Down Rating = "down"
)

// Rate records userID's rating of answer msgID of the chat (replacing theirs).
// A question cannot be rated; a message of another chat is not found.
func (s *Service) Rate(ctx context.Context, wsID, chatID, msgID string, userID int64, r Rating, note string) (*store.Feedback, error) {
	score := map[Rating]int{Up: 1, Down: -1}[r]
	if score == 0 {
		return nil, fault.Field("rating", `rating must be "up" or "down"`)
	}
	note, err := cleanNote(note)
	if err != nil {
		return nil, err
	}
	m, err := s.Store.GetMessage(ctx, wsID, chatID, msgID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "message not found")
	}
	if err != nil {
		return nil, err
	}
	if m.Role != "assistant" {
		return nil, fault.Field("msg", "only answers can be rated; this message is a question")
	}
	f, err := s.Store.SetFeedback(ctx, wsID, chatID, msgID, userID, score, note)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "message not found")
	}
	return f, err
}

// cleanNote trims a note and refuses one that is too long or carries control
// characters (line breaks and tabs are text; the rest would hide or garble
// what an admin reads).
func cleanNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if !utf8.ValidString(note) {
		return "", fault.Field("note", "the note is not valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(note); n > MaxNote {
		return "", fault.Field("note", "the note is %d characters; the limit is %d", n, MaxNote)
	}
	for _, r := range note {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			return "", fault.Field("note", "the note contains control characters; write plain text")
		}
	}
	return note, nil
}

// Withdraw removes userID's rating of a message of the chat.
func (s *Service) Withdraw(ctx context.Context, wsID, chatID, msgID string, userID int64) error {
	err := s.Store.DeleteFeedback(ctx, wsID, chatID, msgID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return fault.New(fault.NotFound, "you have not rated this message")
	}
	return err
}

// Mine is userID's ratings of the chat's messages, by message id.
func (s *Service) Mine(ctx context.Context, wsID, chatID string, userID int64) (map[string]store.Feedback, error) {
	return s.Store.FeedbackOf(ctx, wsID, chatID, userID)
}

// Summary is the workspace's ratings per model and knowledge base, with the
// latest notes.
func (s *Service) Summary(ctx context.Context, wsID string) (*store.FeedbackSummary, error) {
	return s.Store.SummarizeFeedback(ctx, wsID, notesShown)
}

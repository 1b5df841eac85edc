package answer

import (
	"context"
	"errors"

	"quire/app/fault"
	"quire/store"
)

// Versions of a turn: an edited question and a regenerated reply are stored
// as siblings of what they replace (the chat's messages are a tree), so every
// earlier version stays one "‹ 1/2 ›" away and nothing is deleted. Both
// answer on the branch they start; the model sees only that branch.

// Regenerate answers the last question of the chat's current path again: the
// new reply is a sibling of the replies it had. It returns the question too.
func (s *Service) Regenerate(ctx context.Context, t Turn) (*Generation, *store.Message, error) {
	last, err := s.st.CurrentPath(ctx, t.WorkspaceID, t.Chat.ID, store.PathPage{Latest: true, Limit: 2})
	if err != nil {
		return nil, nil, err
	}
	if len(last) == 0 {
		return nil, nil, fault.New(fault.Conflict, "there is nothing to regenerate yet; ask a question first")
	}
	q := last[len(last)-1].Message
	if q.Role == "assistant" {
		if len(last) < 2 || last[0].Role != "user" {
			return nil, nil, fault.New(fault.Conflict, "the last reply has no question to answer again")
		}
		q = last[0].Message
	}
	t.Question = &q
	g, err := s.Ask(ctx, t)
	return g, t.Question, err
}

// Edit stores content as a new version of question msgID (a sibling under the
// same parent) and answers it; the old question and what followed it are
// kept. It returns the new question too.
func (s *Service) Edit(ctx context.Context, t Turn, msgID, content string) (*Generation, *store.Message, error) {
	old, err := s.st.GetMessage(ctx, t.WorkspaceID, t.Chat.ID, msgID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fault.New(fault.NotFound, "message not found")
	}
	if err != nil {
		return nil, nil, err
	}
	if old.Role != "user" {
		return nil, nil, fault.Field("msg", "only your own questions can be edited")
	}
	if err := s.Idle(t.Chat.ID); err != nil {
		return nil, nil, err
	}
	if t.Question, err = s.st.AddMessage(ctx, t.WorkspaceID, t.Chat.ID, "user", content, old.ParentID, "", store.MsgComplete); err != nil {
		return nil, nil, err
	}
	g, err := s.Ask(ctx, t)
	return g, t.Question, err
}

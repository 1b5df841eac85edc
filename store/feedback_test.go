package store

import (
	"context"
	"testing"
)

func TestFeedbackPerUserAndSummary(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "f@example.com", "Fay", "x", false)
	v, _ := s.CreateUser(ctx, "g@example.com", "Gus", "x", false)
	ws, _ := s.CreateWorkspace(ctx, u.ID, "W")
	kb, _ := s.CreateKnowledgeBase(ctx, ws.ID, u.ID, "Handbook", "", true)
	chat, _ := s.CreateChat(ctx, ws.ID, u.ID, ChatFields{KnowledgeBaseIDs: &[]string{kb.ID}})
	q, _ := s.AppendMessage(ctx, ws.ID, chat.ID, "user", "q", "", MsgComplete)
	a, _ := s.AddMessage(ctx, ws.ID, chat.ID, "assistant", "a", q.ID, "tiny", MsgComplete)

	if _, err := s.SetFeedback(ctx, ws.ID, chat.ID, a.ID, u.ID, 1, ""); err != nil {
		t.Fatal(err)
	}
	// A second rating by the same user replaces the first.
	if _, err := s.SetFeedback(ctx, ws.ID, chat.ID, a.ID, u.ID, -1, "missed the date"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetFeedback(ctx, ws.ID, chat.ID, a.ID, v.ID, 1, ""); err != nil {
		t.Fatal(err)
	}
	mine, _ := s.FeedbackOf(ctx, ws.ID, chat.ID, u.ID)
	if f := mine[a.ID]; f.Rating != -1 || f.Note != "missed the date" || len(mine) != 1 {
		t.Fatalf("my feedback: %+v", mine)
	}
	sum, err := s.SummarizeFeedback(ctx, ws.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.ByModel) != 1 || sum.ByModel[0] != (FeedbackTally{"tiny", 1, 1}) {
		t.Fatalf("by model: %+v", sum.ByModel)
	}
	if len(sum.ByKnowledgeBase) != 1 || sum.ByKnowledgeBase[0] != (FeedbackTally{"Handbook", 1, 1}) {
		t.Fatalf("by knowledge base: %+v", sum.ByKnowledgeBase)
	}
	if len(sum.Notes) != 1 || sum.Notes[0].UserName != "Fay" {
		t.Fatalf("notes: %+v", sum.Notes)
	}

	// A question, a message of another chat, another workspace: not found.
	if _, err := s.SetFeedback(ctx, ws.ID, chat.ID, q.ID, u.ID, 1, ""); err != ErrNotFound {
		t.Fatalf("rating a question: %v", err)
	}
	chat2, _ := s.CreateChat(ctx, ws.ID, u.ID, ChatFields{})
	if _, err := s.SetFeedback(ctx, ws.ID, chat2.ID, a.ID, u.ID, 1, ""); err != ErrNotFound {
		t.Fatalf("rating through another chat: %v", err)
	}
	other, _ := s.CreateWorkspace(ctx, u.ID, "Other")
	if _, err := s.SetFeedback(ctx, other.ID, chat.ID, a.ID, u.ID, 1, ""); err != ErrNotFound {
		t.Fatalf("rating through another workspace: %v", err)
	}
	if err := s.DeleteFeedback(ctx, ws.ID, chat.ID, a.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFeedback(ctx, ws.ID, chat.ID, a.ID, u.ID); err != ErrNotFound {
		t.Fatalf("deleting twice: %v", err)
	}
}

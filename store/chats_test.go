package store

import (
	"context"
	"sort"
	"sync"
	"testing"
)

func TestConcurrentMessagesGetDistinctSequenceNumbers(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "c@example.com", "", "x", false)
	ws, _ := s.CreateWorkspace(ctx, u.ID, "W")
	chat, err := s.CreateChat(ctx, ws.ID, u.ID, ChatFields{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	var wg sync.WaitGroup
	seqs := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := s.AddMessage(ctx, ws.ID, chat.ID, "user", "hi", "", "", MsgComplete)
			if err != nil {
				t.Error(err)
				return
			}
			seqs <- m.SequenceNumber
		}()
	}
	wg.Wait()
	close(seqs)
	var got []int
	for q := range seqs {
		got = append(got, q)
	}
	sort.Ints(got)
	for i, q := range got {
		if q != i+1 {
			t.Fatalf("sequence numbers %v are not 1..%d", got, n)
		}
	}
	// A chat of another workspace cannot be written through this one.
	other, _ := s.CreateWorkspace(ctx, u.ID, "Other")
	if _, err := s.AddMessage(ctx, other.ID, chat.ID, "user", "x", "", "", MsgComplete); err != ErrNotFound {
		t.Fatalf("cross-workspace message: %v", err)
	}
}

func TestEditDropsLaterMessages(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "e@example.com", "", "x", false)
	ws, _ := s.CreateWorkspace(ctx, u.ID, "W")
	chat, _ := s.CreateChat(ctx, ws.ID, u.ID, ChatFields{})
	q1, _ := s.AddMessage(ctx, ws.ID, chat.ID, "user", "one", "", "", MsgComplete)
	s.AddMessage(ctx, ws.ID, chat.ID, "assistant", "a1", q1.ID, "m", MsgComplete)
	s.AddMessage(ctx, ws.ID, chat.ID, "user", "two", "", "", MsgComplete)
	if err := s.EditMessage(ctx, ws.ID, chat.ID, q1.ID, "one, edited"); err != nil {
		t.Fatal(err)
	}
	msgs, _ := s.ListMessages(ctx, ws.ID, chat.ID, 0, 200)
	if len(msgs) != 1 || msgs[0].Content != "one, edited" {
		t.Fatalf("after edit: %+v", msgs)
	}
	next, _ := s.AddMessage(ctx, ws.ID, chat.ID, "assistant", "", q1.ID, "m", MsgStreaming)
	if next.SequenceNumber != 2 {
		t.Fatalf("next sequence %d, want 2", next.SequenceNumber)
	}
}

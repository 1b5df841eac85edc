package answer

import (
	"context"
	"sync"
	"time"

	"quire/app/fault"
)

// scheduler shares the model server between people and workspaces. Admission
// bounds how many generations one user and one workspace may have at once
// (running or waiting), refusing the rest (fault.RateLimited), so a flood cannot pile up
// work. Admitted generations then wait for one of the total slots in flight
// to Ollama; slots go to workspaces in turn (round-robin), so a busy workspace
// waits behind itself, not in front of everyone else.
type scheduler struct {
	perUser, perWorkspace, total int

	mu      sync.Mutex
	users   map[int64]int
	wss     map[string]int
	running int
	queues  map[string][]*ticket // waiting tickets by workspace, oldest first
	ring    []string             // workspaces with waiting tickets, in turn order
}

func newScheduler(perUser, perWorkspace, total int) *scheduler {
	return &scheduler{perUser: perUser, perWorkspace: perWorkspace, total: total,
		users: map[int64]int{}, wss: map[string]int{}, queues: map[string][]*ticket{}}
}

// ticket is one admitted generation.
type ticket struct {
	s                        *scheduler
	user                     int64
	ws                       string
	ready                    chan struct{} // closed when the slot is granted
	queued, granted, settled bool
}

// retryAfterGeneration is what a refused caller is told to wait: replies of
// the tiny and the usual models take seconds.
const retryAfterGeneration = 5 * time.Second

// admit counts a generation against its user's and workspace's limits, or
// refuses it (fault.RateLimited with RetryAfter) naming the limit.
func (s *scheduler) admit(user int64, ws string) (*ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	refuse := func(format string, a ...any) error {
		f := fault.New(fault.RateLimited, format, a...)
		f.RetryAfter = retryAfterGeneration
		return f
	}
	wait := int(retryAfterGeneration.Seconds())
	if s.users[user] >= s.perUser {
		return nil, refuse("you already have %d replies being written (the most at once); wait for one to finish and try again in %d seconds", s.perUser, wait)
	}
	if s.wss[ws] >= s.perWorkspace {
		return nil, refuse("this workspace already has %d replies being written (the most at once); try again in %d seconds", s.perWorkspace, wait)
	}
	s.users[user]++
	s.wss[ws]++
	return &ticket{s: s, user: user, ws: ws, ready: make(chan struct{})}, nil
}

// wait blocks until the ticket holds a slot, or ctx ends.
func (t *ticket) wait(ctx context.Context) error {
	s := t.s
	s.mu.Lock()
	if !t.queued {
		t.queued = true
		if len(s.queues[t.ws]) == 0 {
			s.ring = append(s.ring, t.ws)
		}
		s.queues[t.ws] = append(s.queues[t.ws], t)
		s.dispatch()
	}
	s.mu.Unlock()
	select {
	case <-t.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives back the ticket's slot (or its place in the queue) and its
// user's and workspace's counts. It may be called more than once.
func (t *ticket) release() {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.settled {
		return
	}
	t.settled = true
	if t.granted {
		s.running--
	} else if t.queued {
		q := s.queues[t.ws]
		for i, w := range q {
			if w == t {
				s.queues[t.ws] = append(q[:i:i], q[i+1:]...)
				break
			}
		}
		if len(s.queues[t.ws]) == 0 {
			s.dropFromRing(t.ws)
		}
	}
	if s.users[t.user]--; s.users[t.user] <= 0 {
		delete(s.users, t.user)
	}
	if s.wss[t.ws]--; s.wss[t.ws] <= 0 {
		delete(s.wss, t.ws)
	}
	s.dispatch()
}

// dispatch grants free slots, one workspace at a time in ring order. Called
// with s.mu held.
func (s *scheduler) dispatch() {
	for s.running < s.total && len(s.ring) > 0 {
		ws := s.ring[0]
		s.ring = s.ring[1:]
		q := s.queues[ws]
		t := q[0]
		if q = q[1:]; len(q) > 0 {
			s.queues[ws] = q
			s.ring = append(s.ring, ws) // its next ticket waits for the others' turn
		} else {
			delete(s.queues, ws)
		}
		t.granted = true
		s.running++
		close(t.ready)
	}
}

func (s *scheduler) dropFromRing(ws string) {
	delete(s.queues, ws)
	for i, w := range s.ring {
		if w == ws {
			s.ring = append(s.ring[:i:i], s.ring[i+1:]...)
			return
		}
	}
}

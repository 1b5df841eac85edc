package answer

import (
	"context"
	"sync"

	"quire/app/chat"
	"quire/app/fault"
	"quire/store"
)

// Event names, in the order a generation emits them.
const (
	EventUserMessage = "user_message" // Message: the question (chats only)
	EventCitations   = "citations"    // Sources: what the prompt numbers
	EventDelta       = "delta"        // Delta: the next piece of text
	EventDone        = "done"         // Message: the stored reply (chats only)
	EventError       = "error"        // Err and MessageID: why the reply failed
)

// Event is one step of a generation.
type Event struct {
	Name      string
	Message   *store.Message
	Sources   []chat.Source
	Delta     string
	Step      *Step // EventStep
	Err       *fault.Error
	MessageID string
}

// Generation is a reply being written. It runs detached from the request that
// started it, so a reader that goes away does not lose the reply; any number
// of readers follow its events.
type Generation struct {
	mu      sync.Mutex
	events  []Event
	done    bool
	wake    chan struct{} // closed and replaced on every event
	cancel  context.CancelFunc
	message *store.Message // the stored reply once done (chats)
	result  chat.Result    // what the model wrote
	failure *fault.Error   // why the reply failed, if it did
	warning string         // why the sources may be fewer than usual
}

func (g *Generation) warn(w string) {
	g.mu.Lock()
	g.warning = w
	g.mu.Unlock()
}

func newGeneration(cancel context.CancelFunc) *Generation {
	return &Generation{wake: make(chan struct{}), cancel: cancel}
}

func (g *Generation) emit(ev Event) {
	g.mu.Lock()
	g.events = append(g.events, ev)
	close(g.wake)
	g.wake = make(chan struct{})
	g.mu.Unlock()
}

// finish emits the last event and ends the generation in one step, so a
// reader that sees the end has seen every event.
func (g *Generation) finish(last Event, msg *store.Message, res chat.Result, failure *fault.Error) {
	g.mu.Lock()
	g.events = append(g.events, last)
	g.done, g.message, g.result, g.failure = true, msg, res, failure
	close(g.wake)
	g.wake = make(chan struct{})
	g.mu.Unlock()
}

// Next returns the events after cursor, whether the generation is over, and
// a channel that closes when there is more.
func (g *Generation) Next(cursor int) ([]Event, bool, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.events[cursor:], g.done, g.wake
}

// Stop cancels the generation; what was written so far is kept as stopped.
func (g *Generation) Stop() { g.cancel() }

// Outcome is a finished generation.
type Outcome struct {
	Message *store.Message // the stored reply (chats; nil for completions)
	Result  chat.Result
	Failure *fault.Error // why the reply failed (the model unavailable or failing), if it did
	// Warning says why retrieval found fewer sources than usual (e.g.
	// keyword search only, the model server being down), if it did.
	Warning string
}

// Wait blocks until the generation is over, or ctx ends.
func (g *Generation) Wait(ctx context.Context) (Outcome, error) {
	for {
		_, done, wake := g.Next(0)
		if done {
			g.mu.Lock()
			defer g.mu.Unlock()
			return Outcome{g.message, g.result, g.failure, g.warning}, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		}
	}
}

// registry holds the running reply of each chat: one at a time per chat.
type registry struct {
	mu      sync.Mutex
	running map[string]*Generation
}

func (r *registry) start(chatID string, g *Generation) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running == nil {
		r.running = map[string]*Generation{}
	}
	if r.running[chatID] != nil {
		return false
	}
	r.running[chatID] = g
	return true
}

func (r *registry) end(chatID string) {
	r.mu.Lock()
	delete(r.running, chatID)
	r.mu.Unlock()
}

func (r *registry) get(chatID string) *Generation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[chatID]
}

// Follow hands each event of g to write, flushing after each batch, until
// the generation ends or flush fails (the client went away; the reply is
// still written and stored).
func (g *Generation) Follow(write func(Event), flush func() error) {
	cursor := 0
	for {
		evs, done, wake := g.Next(cursor)
		for _, ev := range evs {
			write(ev)
		}
		cursor += len(evs)
		if err := flush(); err != nil || done {
			return
		}
		<-wake
	}
}

package chat

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"onecall/router"
)

var errFakeBusy = errors.New("fake hub busy")

// fakeHub is a tiny stand-in for server.Hub + router used by the synctest
// unit tests (timers) where a real network and database cannot run inside
// the bubble.
type fakeHub struct {
	mu      sync.Mutex
	sink    func([]router.Command)
	next    router.ContactID
	waiting []router.ContactID
	events  []router.Event
	busy    bool
	closed  map[string]bool
}

func (h *fakeHub) Submit(ev router.Event) error {
	_, err := h.Do(context.Background(), ev)
	return err
}

func (h *fakeHub) Do(_ context.Context, ev router.Event) ([]router.Command, error) {
	h.mu.Lock()
	if h.busy {
		h.mu.Unlock()
		return nil, errFakeBusy
	}
	h.events = append(h.events, ev)
	var cmds []router.Command
	switch e := ev.(type) {
	case router.ContactArrived:
		if h.closed[e.Number] {
			cmds = append(cmds, router.ContactClosed{Contact: e.Contact, Channel: router.Chat, Reason: router.EndRefusedClosed})
			break
		}
		h.waiting = append(h.waiting, e.Contact)
		cmds = append(cmds, router.Announce{Contact: e.Contact, Channel: router.Chat, Position: len(h.waiting), EstimatedWait: time.Duration(len(h.waiting)) * time.Minute})
	case router.OfferAccepted:
		h.waiting = slices.DeleteFunc(h.waiting, func(c router.ContactID) bool { return c == e.Contact })
		cmds = append(cmds, router.Connected{Contact: e.Contact, Agent: e.Agent, Channel: router.Chat})
	case router.ContactAbandoned:
		h.waiting = slices.DeleteFunc(h.waiting, func(c router.ContactID) bool { return c == e.Contact })
		cmds = append(cmds, router.ContactClosed{Contact: e.Contact, Channel: router.Chat, Reason: router.EndAbandoned})
	case router.ContactEnded:
		cmds = append(cmds, router.ContactClosed{Contact: e.Contact, Channel: router.Chat, Reason: e.Reason})
	case router.ContactTransferred:
		h.waiting = append(h.waiting, e.Contact)
		cmds = append(cmds, router.ContactStateChanged{Contact: e.Contact, State: router.Waiting, Reason: "transferred"})
	case router.CallbackRequested:
		h.waiting = slices.DeleteFunc(h.waiting, func(c router.ContactID) bool { return c == e.Contact })
		cmds = append(cmds, router.ContactClosed{Contact: e.Contact, Channel: router.Chat, Reason: router.EndCallback})
	}
	sink := h.sink
	h.mu.Unlock()
	if sink != nil && len(cmds) > 0 {
		sink(cmds)
	}
	return cmds, nil
}

func (h *fakeHub) NewContactID() router.ContactID {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	return h.next
}

func (h *fakeHub) Now() time.Time { return time.Now() }

func (h *fakeHub) eventsOf(c router.ContactID) []router.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []router.Event
	for _, e := range h.events {
		switch e := e.(type) {
		case router.ContactArrived:
			if e.Contact == c {
				out = append(out, e)
			}
		case router.ContactEnded:
			if e.Contact == c {
				out = append(out, e)
			}
		case router.ContactAbandoned:
			if e.Contact == c {
				out = append(out, e)
			}
		}
	}
	return out
}

// memBackend keeps everything in memory.
type memBackend struct {
	mu       sync.Mutex
	msgs     map[router.ContactID][]Message
	contacts map[router.ContactID]contactRec
	down     bool
}

func newMem() *memBackend {
	return &memBackend{msgs: map[router.ContactID][]Message{}, contacts: map[router.ContactID]contactRec{}}
}

func (b *memBackend) saveMessage(_ context.Context, m Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return errors.New("down")
	}
	b.msgs[m.Contact] = append(b.msgs[m.Contact], m)
	return nil
}

func (b *memBackend) messages(_ context.Context, c router.ContactID, after int64) ([]Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Message
	for _, m := range b.msgs[c] {
		if m.Seq > after {
			out = append(out, m)
		}
	}
	return out, nil
}

func (b *memBackend) lastSeq(_ context.Context, c router.ContactID) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ms := b.msgs[c]
	if len(ms) == 0 {
		return 0, nil
	}
	return ms[len(ms)-1].Seq, nil
}

func (b *memBackend) saveContact(_ context.Context, c contactRec, _ bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.contacts[c.ID] = c
	return nil
}

func (b *memBackend) contactByHash(_ context.Context, hash string) (contactRec, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.contacts {
		if c.ResumeHash == hash {
			return c, nil
		}
	}
	return contactRec{}, errNotFound
}

func (b *memBackend) contact(_ context.Context, id router.ContactID) (contactRec, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.contacts[id]
	if !ok {
		return c, errNotFound
	}
	return c, nil
}

func (b *memBackend) callback(context.Context, router.ContactID, string, string, string, time.Time) error {
	return nil
}
func (b *memBackend) rating(router.ContactID, int, string, time.Time) error { return nil }
func (b *memBackend) healthy() (bool, string)                               { return !b.down, "down" }
func (b *memBackend) alias(context.Context, router.AgentID) string          { return "" }

// memPeer is an in-memory citizen connection.
type memPeer struct {
	mu     sync.Mutex
	frames [][]byte
	closed int
	notify chan struct{}
}

func newPeer() *memPeer { return &memPeer{notify: make(chan struct{}, 1000)} }

func (p *memPeer) send(f []byte, _ int64) bool {
	p.mu.Lock()
	p.frames = append(p.frames, f)
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
	return true
}

func (p *memPeer) close(code int, _ string) {
	p.mu.Lock()
	p.closed = code
	p.mu.Unlock()
}

func (p *memPeer) types() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, f := range p.frames {
		var o struct {
			Type string `json:"type"`
		}
		_ = jsonUnmarshal(f, &o)
		out = append(out, o.Type)
	}
	return out
}

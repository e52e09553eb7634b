package chat

import (
	"sync"

	"onecall/router"
)

// subscriber delivers events to one console callback through a bounded
// queue and its own goroutine, so publishing never blocks.
type subscriber struct {
	cv       *conv
	fn       func(Event)
	q        chan Event
	done     chan struct{}
	once     sync.Once
	overflow bool // guarded by cv.mu
}

// Subscribe calls fn, on a goroutine of its own and in order, for every
// citizen event of contact (messages, typing, read, delivered, detached,
// resumed, left, ended). fn may block briefly; when more than
// Options.SubBuffer events pile up, the rest are dropped and fn later gets
// an EventResync (reload Transcript). cancel stops the subscription; it is
// safe to call more than once. Subscribing to an unknown contact returns a
// no-op cancel and no events.
func (s *Service) Subscribe(contact router.ContactID, fn func(Event)) (cancel func()) {
	cv := s.conv(contact)
	if cv == nil {
		return func() {}
	}
	sub := &subscriber{cv: cv, fn: fn, q: make(chan Event, s.opts.SubBuffer), done: make(chan struct{})}
	cv.mu.Lock()
	id := cv.nextSub
	cv.nextSub++
	cv.subs[id] = sub
	cv.mu.Unlock()
	go sub.run()
	return func() {
		cv.mu.Lock()
		delete(cv.subs, id)
		cv.mu.Unlock()
		sub.once.Do(func() { close(sub.done) })
	}
}

func (sub *subscriber) run() {
	for {
		select {
		case <-sub.done:
			return
		case ev := <-sub.q:
			sub.fn(ev)
			if ev.Kind == EventMessage && ev.Message.Sender == SenderCitizen {
				sub.cv.citizenDelivered(ev.Seq)
			}
		}
	}
}

// publish fans ev out to the subscribers. mu held.
func (cv *conv) publish(ev Event) {
	ev.Contact = cv.id
	if ev.At.IsZero() {
		ev.At = cv.s.now()
	}
	if p := cv.s.opts.Publish; p != nil {
		p(ev)
	}
	for _, sub := range cv.subs {
		if sub.overflow {
			select {
			case sub.q <- Event{Kind: EventResync, Contact: cv.id, At: ev.At}:
				sub.overflow = false
			default:
				continue
			}
		}
		select {
		case sub.q <- ev:
		default:
			sub.overflow = true
		}
	}
}

// Delivered reports to the citizen of contact that a console received its
// message seq: what a local subscriber does by returning, for a console on
// another node (cluster).
func (s *Service) Delivered(contact router.ContactID, seq int64) {
	if cv := s.conv(contact); cv != nil {
		cv.citizenDelivered(seq)
	}
}

// citizenDelivered reports to the citizen that the console received seq.
func (cv *conv) citizenDelivered(seq int64) {
	cv.mu.Lock()
	cv.send(encode(out{Type: "receipt", Seq: seq, Status: "delivered"}), 0)
	cv.mu.Unlock()
}

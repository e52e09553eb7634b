package chat

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"onecall/router"
)

// peer is the citizen side of a conv: a WebSocket client, or a fake in tests.
type peer interface {
	// send queues a frame without blocking; false means the peer was cut off.
	// seq > 0 marks an agent message whose delivery is reported.
	send(frame []byte, seq int64) bool
	close(code int, reason string)
}

// conv is one chat. All fields are guarded by mu.
type conv struct {
	s   *Service
	id  router.ContactID
	mu  chanMutex
	rec contactRec

	lastSeq         int64
	conn            peer
	alias           string
	position        int
	eta             time.Duration
	ann             router.Announce // the last one, for its flags
	callbackOffered bool
	hadAgent        bool
	everTalked      bool
	ended           bool
	rated           bool
	limiter         *rate.Limiter

	idle       *time.Timer
	idleGen    int
	detach     *time.Timer
	forget     *time.Timer
	subs       map[int]*subscriber
	nextSub    int
	lastRead   int64
	citRead    int64 // the citizen's last read seq sent to the agent
	lastTyping time.Time
}

func (s *Service) newConv(rec contactRec) *conv {
	return &conv{
		s:       s,
		id:      rec.ID,
		mu:      newChanMutex(),
		rec:     rec,
		limiter: rate.NewLimiter(rate.Limit(s.opts.MsgsPerSecond), s.opts.MsgBurst),
		subs:    make(map[int]*subscriber),
	}
}

func (cv *conv) send(frame []byte, seq int64) {
	if cv.conn != nil {
		cv.conn.send(frame, seq)
	}
}

func (cv *conv) stateName() string {
	if cv.ended {
		return "ended"
	}
	return cv.rec.State
}

func (cv *conv) queueFrame() []byte {
	f := out{Type: "queue", Position: cv.position, EtaS: int((cv.eta + time.Second - 1) / time.Second), NoAgent: cv.ann.NoAgent}
	if cv.ann.NoAgent || cv.ann.HideWait {
		f.EtaS = 0 // no agent: no estimate to give
	}
	if cv.ann.HidePosition {
		f.Position = 0
	}
	return encode(f)
}

// commit stores m durably with the next sequence number, then hands it to
// the citizen and the console. Called with mu held.
func (cv *conv) commit(ctx context.Context, m Message) (Message, error) {
	m.Contact = cv.id
	m.Seq = cv.lastSeq + 1
	m.Sent = cv.s.now()
	if err := cv.s.be.saveMessage(ctx, m); err != nil {
		cv.s.log.Warn("chat message not stored", "contact_id", cv.id, "seq", m.Seq, "err", err)
		// The store may hold a later message than this node knew (a
		// chat taken over while its old node's last write was in
		// flight: the store refuses a second message at one seq): the
		// next message takes the seq after the stored ones.
		if n, lerr := cv.s.be.lastSeq(ctx, cv.id); lerr == nil && n > cv.lastSeq {
			cv.lastSeq = n
		}
		return Message{}, ErrNotDurable
	}
	cv.lastSeq = m.Seq
	var seq int64
	if m.Sender == SenderAgent {
		seq = m.Seq
	}
	if m.Sender != SenderCitizen { // the citizen's own connection gets an ack instead
		cv.send(msgFrame(m), seq)
	}
	if m.Sender != SenderAgent {
		cv.publish(Event{Kind: EventMessage, Seq: m.Seq, Message: m})
	}
	return m, nil
}

// system commits a system message (best effort). Called with mu held.
func (cv *conv) system(ctx context.Context, text string) {
	_, _ = cv.commit(ctx, Message{Sender: SenderSystem, Text: text})
}

// finish ends the chat once. Called with mu held.
func (cv *conv) finish(reason string) { cv.finishAt(reason, cv.s.now()) }

// finishAt is finish for an end routing decided at a known time.
func (cv *conv) finishAt(reason string, at time.Time) {
	if cv.ended {
		return
	}
	s := cv.s
	if reason == "completed" || reason == "" {
		cv.system(s.ctx, sysText(cv.rec.Language, "ended"))
	}
	cv.ended = true
	s.live.Add(-1)
	cv.stopTimers()
	cv.rec.State = "ended"
	cv.rec.EndReason = reason
	cv.rec.Ended = at
	_ = s.be.saveContact(s.ctx, cv.rec, false)
	cv.send(encode(out{Type: "ended", Reason: reason, Offline: offlineReason(reason) && !cv.everTalked}), 0)
	cv.publish(Event{Kind: EventEnded})
	id, hash := cv.id, cv.rec.ResumeHash
	cv.forget = time.AfterFunc(s.opts.ResumeTTL, func() {
		s.mu.Lock()
		if s.convs[id] == cv {
			delete(s.convs, id)
			delete(s.byHash, hash)
		}
		s.mu.Unlock()
	})
}

func (cv *conv) stopIdle() {
	cv.idleGen++
	if cv.idle != nil {
		cv.idle.Stop()
		cv.idle = nil
	}
}

func (cv *conv) stopTimers() {
	cv.stopIdle()
	if cv.detach != nil {
		cv.detach.Stop()
		cv.detach = nil
	}
}

// resetIdle restarts the inactivity clock of a conversation. mu held.
func (cv *conv) resetIdle() {
	cv.stopIdle()
	if cv.ended || cv.rec.State != "talking" {
		return
	}
	gen := cv.idleGen
	s := cv.s
	cv.idle = time.AfterFunc(s.opts.IdleWarn, func() {
		cv.mu.Lock()
		defer cv.mu.Unlock()
		if gen != cv.idleGen || cv.ended {
			return
		}
		cv.send(encode(out{Type: "idle_warning", CloseInS: int(s.opts.IdleClose / time.Second)}), 0)
		cv.idle = time.AfterFunc(s.opts.IdleClose, func() {
			cv.mu.Lock()
			defer cv.mu.Unlock()
			if gen != cv.idleGen || cv.ended {
				return
			}
			if err := s.hub.Submit(router.ContactEnded{Contact: cv.id, Reason: router.EndCompleted}); err != nil {
				s.log.Warn("idle close not routed", "contact_id", cv.id, "err", err)
			}
			cv.system(s.ctx, sysText(cv.rec.Language, "idle"))
			cv.finish("inactive")
		})
	})
}

// detached: the citizen's connection went away. mu held.
func (cv *conv) detached(p peer) {
	if cv.conn != p {
		return
	}
	cv.conn = nil
	if cv.ended {
		return
	}
	cv.publish(Event{Kind: EventDetached})
	s := cv.s
	if cv.detach != nil {
		cv.detach.Stop()
	}
	cv.detach = time.AfterFunc(s.opts.DetachGrace, func() {
		cv.mu.Lock()
		defer cv.mu.Unlock()
		if cv.conn != nil || cv.ended {
			return
		}
		cv.abandonLocked("left")
	})
}

// abandonLocked tells routing the citizen left and finishes. mu held.
func (cv *conv) abandonLocked(reason string) {
	var ev router.Event = router.ContactAbandoned{Contact: cv.id}
	if cv.rec.State == "talking" {
		ev = router.ContactEnded{Contact: cv.id, Reason: router.EndCompleted}
	}
	if err := cv.s.hub.Submit(ev); err != nil {
		cv.s.log.Warn("abandon not routed", "contact_id", cv.id, "err", err)
	}
	cv.publish(Event{Kind: EventLeft})
	cv.finish(reason)
}

// attach makes p the live connection, replacing (and closing) another. mu held.
func (cv *conv) attach(p peer) {
	if cv.conn != nil && cv.conn != p {
		cv.conn.close(CloseReplaced, "resumed elsewhere")
	}
	cv.conn = p
	if cv.detach != nil {
		cv.detach.Stop()
		cv.detach = nil
	}
}

// chanMutex is a mutex usable inside testing/synctest bubbles (durably
// blocking) that also offers TryLock semantics if needed.
type chanMutex chan struct{}

func newChanMutex() chanMutex { return make(chanMutex, 1) }
func (m chanMutex) Lock()     { m <- struct{}{} }
func (m chanMutex) Unlock()   { <-m }

package sip

import (
	"context"
	"time"

	"github.com/emiago/sipgo/sip"

	"onecall/router"
	"onecall/store"
)

// An interpreter from an interpreter queue (issue 11): the agent asks for
// an interpreter of a language; routing picks the interpreter as for a
// consult to a queue (router/interpret.go) and we ring that agent's
// registered phone (X-Onecall-Consult: the asking agent,
// X-Onecall-Interpret: the language) while citizen and agent talk on. On
// answer the three legs go into one mixer (mixer.go: each hears the other
// two, never itself). The request is a consult (consult.go) with a
// language: the same ring, the same leg bookkeeping, the same conference
// exits (the interpreter leaving or being dropped takes the call back to
// two; the citizen hanging up ends every leg). What differs:
//
//   - the citizen is not held while the interpreter rings;
//   - no interpreter free, or the one rung does not answer, is busy or
//     rejects: routing keeps the request waiting (ConsultWaiting) and
//     offers it to the next free interpreter until its wait is over; the
//     console tells the agent each step; cancel withdraws it;
//   - the agent hanging up ends the call (no three-way without the agent,
//     as for an interpreter at an outside number);
//   - it is never completed as a transfer.

// RequestInterpreter asks routing for an interpreter of lang for the
// contact's call. It returns once the request rings an interpreter or
// waits for one (the steps reach consoles through routing).
func (s *Service) RequestInterpreter(ctx context.Context, contact router.ContactID, lang string, by router.AgentID, note string) error {
	return s.control(ctx, contact, ctlMsg{op: opConsult, lang: lang, by: by, note: note})
}

// requestInterpreter runs on the call goroutine (talking, agent leg up,
// no consult).
func (c *call) requestInterpreter(ctx context.Context, m ctlMsg) error {
	if c.interp != nil {
		return ErrThreeWay
	}
	if c.held || c.phoneHeld {
		return ErrNotTalking
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	cmds, err := c.s.hub.Do(dctx, router.ConsultRequested{Contact: c.id, By: m.by, Language: m.lang, Note: m.note})
	cancel()
	if err != nil {
		return err
	}
	c.consult = &consultRun{by: m.by, note: m.note, lang: m.lang, waiting: true, rung: map[router.AgentID]bool{},
		res: make(chan consultResult, 1), stop: func() {}}
	c.log.Info("interpreter requested", "language", m.lang, "agent", m.by)
	c.interpreterNext(cmds)
	return nil
}

// interpreterNext carries out routing's last step of the request in cmds
// (the reply to our own event): ring the interpreter it picked, or forget
// a request routing ended. Anything else keeps the request waiting.
func (c *call) interpreterNext(cmds []router.Command) {
	var last *router.ConsultChanged
	for _, cmd := range cmds {
		if cc, ok := cmd.(router.ConsultChanged); ok && cc.Contact == c.id {
			last = &cc
		}
	}
	if last != nil {
		c.interpreterStep(*last)
	}
}

// interpreterStep takes one step routing reported (the reply to our own
// event, or delivered later: a waiting request offered to an interpreter
// who became free, or withdrawn when its wait was over). Steps already
// carried out (an interpreter rung before) are ignored.
func (c *call) interpreterStep(cc router.ConsultChanged) {
	k := c.consult
	if k == nil || k.lang == "" || !k.waiting {
		return
	}
	switch cc.Step {
	case router.ConsultStarted:
		if cc.Agent == "" || k.rung[cc.Agent] {
			return
		}
		k.waiting = false
		k.rung[cc.Agent] = true
		k.agent = cc.Agent
		k.to = router.TransferTarget{Queue: cc.Queue}
		k.res = make(chan consultResult, 1)
		k.timedOut.Store(false)
		c.log.Info("interpreter: ringing", "agent", cc.Agent, "queue", cc.Queue, "language", k.lang)
		c.ringConsult(k, cc)
	case router.ConsultFailed, router.ConsultCancelled:
		if cc.Agent == "" { // the request itself ended (its wait is over)
			c.log.Info("interpretation request ended", "language", k.lang, "reason", cc.Reason)
			c.consult = nil
		}
	default:
	}
}

// interpreterDone takes the ring's outcome (call goroutine).
func (c *call) interpreterDone(k *consultRun, r consultResult) {
	if r.err != nil {
		reason := k.failReason(r.err)
		c.log.Info("interpreter not reached", "agent", k.agent, "reason", reason, "err", r.err)
		k.waiting = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cmds, err := c.s.hub.Do(ctx, router.ConsultUpdated{Contact: c.id, Step: router.ConsultFailed, Reason: reason})
		cancel()
		if err != nil {
			c.log.Warn("routing not told of the interpreter's failed ring", "err", err)
			c.consult = nil
			return
		}
		c.interpreterNext(cmds)
		return
	}
	k.leg, k.dlg = r.leg, r.dlg
	c.s.addLeg(k.leg, clientDialogPeer(k.dlg))
	c.rec.Legs++
	c.legs = append(c.legs, store.CallLeg{Role: "interpreter", URI: k.dlg.InviteRequest.Recipient.String(),
		CallID: k.leg.CallID(), Started: time.Now()})
	_ = c.consultUpdate(router.ConsultAnswered, "")
	k.conf = true
	m := newMixer(c.s.clock)
	for _, l := range []Leg{c.leg, c.agentLeg, k.leg} {
		// A muted agent joins unheard (as muteThreeWay).
		if err := m.join(l, l != c.agentLeg || !c.muted); err != nil {
			m.close()
			c.log.Warn("interpreter: no mixer", "err", err)
			_ = c.leaveConference("mixer unavailable")
			return
		}
	}
	c.mix = m
	c.log.Info("interpreter joined", "agent", k.agent, "language", k.lang)
}

// interpreterHeaders are the ring's extra headers for an interpreter.
func (k *consultRun) interpreterHeaders() []sip.Header {
	if k.lang == "" {
		return nil
	}
	return []sip.Header{sip.NewHeader("X-Onecall-Interpret", headerSafe(k.lang))}
}

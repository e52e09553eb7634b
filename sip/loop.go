package sip

import (
	"context"
	"strconv"
	"time"

	"onecall/router"
	"onecall/store"
)

// loop is the call's life after ContactArrived: queue media, offers, the
// bridge and in-call control. It returns when the call is over; finish()
// releases the rest.
func (c *call) loop(ctx context.Context, intro ...*clip) {
	c.startMedia(append(intro, c.holdPrompt())...)
	offerRes := c.offerRes
	watchdog := time.NewTicker(time.Second)
	defer watchdog.Stop()
	for {
		var agentDone <-chan struct{}
		if c.agentLeg != nil {
			agentDone = c.agentLeg.Context().Done()
		}
		var outDone <-chan struct{}
		if c.outside != nil {
			outDone = c.outside.leg.Context().Done()
		}
		var consultRes <-chan consultResult
		var consultDone, phoneDone <-chan struct{}
		if k := c.consult; k != nil {
			if k.leg == nil {
				consultRes = k.res
			} else {
				consultDone = k.leg.Context().Done()
			}
			if k.pleg != nil {
				phoneDone = k.pleg.Context().Done()
			}
		}
		interpDone := c.interpDone()
		var dtmf <-chan rune
		if c.phase == phaseWaiting && c.offer == nil {
			dtmf = c.leg.DTMF()
		}
		select {
		case <-ctx.Done():
			c.rec.Cause = causeCitizenBye
			return
		case r := <-consultRes:
			c.consultDone(r)
		case <-consultDone:
			c.consultLegGone()
		case <-phoneDone:
			// The agent's phone hung up its consult dialog: cancel.
			c.phoneConsultGone(c.consult.phone, "the agent's phone hung up the consult")
		case <-agentDone:
			if c.consult != nil && c.agentLeftConsult() {
				continue
			}
			c.rec.Cause = causeAgentBye
			c.endReason = router.EndCompleted
			c.agentGone()
			c.hangupCitizen()
			return
		case <-interpDone:
			// The interpreter hung up: back to two parties.
			c.endInterpreter(interpBye)
			c.bridge()
		case <-c.supDone():
			c.endMonitor(MonitorEndPhone)
		case <-outDone:
			c.rec.Cause = causeOutsideBye
			c.endOutside()
			c.hangupCitizen()
			return
		case k := <-dtmf:
			if k == '1' && c.s.CallbacksOn(c.number) && c.bookCallback(ctx) {
				return
			}
		case r := <-offerRes:
			c.offerDone(ctx, r)
		case <-watchdog.C:
			if c.rtpDead() || c.heldLost(time.Now()) {
				return
			}
			c.supSilent(time.Now())
		case <-c.sig:
			for _, m := range c.take() {
				if c.handle(ctx, m, offerRes) {
					return
				}
			}
		}
	}
}

// rtpDead hangs up when a leg has been silent past NoRTPTimeout (a phone
// that vanished). Held legs are exempt: they are probed (held_probe.go).
func (c *call) rtpDead() bool {
	limit := c.s.opts.NoRTPTimeout
	now := time.Now()
	if !c.leg.OnHold() && now.Sub(c.leg.LastRTP()) > limit {
		c.log.Warn("no RTP from citizen", "since", c.leg.LastRTP())
		c.rec.Cause = causeRTPTimeout
		c.hangupCitizen()
		return true
	}
	if c.agentLeg != nil && !c.agentLeg.OnHold() && now.Sub(c.agentLeg.LastRTP()) > limit {
		c.log.Warn("no RTP from agent phone", "agent", c.agent)
		c.rec.Cause = causeAgentLost
		c.endReason = router.EndAgentLost
		c.hangupCitizen()
		return true
	}
	return false
}

// handle processes one router command or control message; true ends the call.
func (c *call) handle(ctx context.Context, m any, offerRes chan offerResult) bool {
	switch m := m.(type) {
	case router.Offer:
		c.startOffer(ctx, m, offerRes)
	case router.OfferWithdrawn:
		// The engine may withdraw and offer to the next agent in one batch:
		// detach the withdrawn INVITE at once so the next one can ring.
		if o := c.offers[m.Agent]; o != nil && !o.withdrawn {
			o.withdrawn = true
			o.cancel()
			if c.offer == o {
				c.offer = nil
			}
		}
	case router.Announce:
		if c.phase == phaseWaiting && c.offer == nil && time.Since(c.lastAnn) >= c.s.opts.AnnounceEvery {
			c.lastAnn = time.Now()
			c.rec.Announces++
			c.startMedia(c.announceFor(m)...)
		}
	case router.ConsultChanged:
		c.interpreterStep(m)
	case router.Transferred:
		if m.From != "" && m.From == c.agent && m.Talked {
			c.leaveAgent(m.ToQueue)
		}
	case router.CallbackOffered:
		if c.phase == phaseWaiting && c.offer == nil && c.s.CallbacksOn(c.number) {
			if m.Closed {
				c.startMedia(c.closedClip(), c.holdPrompt())
			} else {
				c.startMedia(c.holdPrompt())
			}
		}
	case router.ContactClosed:
		c.closed = true
		if c.phase == phaseOutside {
			// Closed transferred-out: the citizen talks on with the
			// outside party; the call ends when either hangs up.
			return false
		}
		c.stopMedia()
		if c.agentLeg != nil {
			c.hangupAgent()
		}
		switch m.Reason {
		case router.EndRefusedClosed:
			c.rec.Cause = causeClosed
			c.play(ctx, c.closedClip())
		case router.EndCallback:
			c.rec.Cause = causeCallback
		default:
			c.rec.Cause = causeRouterClosed
			c.play(ctx, c.s.prompts.get(c.voice, "goodbye"))
		}
		c.hangupCitizen()
		return true
	case ctlMsg:
		return c.control(ctx, m)
	}
	return false
}

func (c *call) announceClips(pos int, wait time.Duration) []*clip {
	ps := c.s.prompts
	out := []*clip{ps.get(c.voice, "position")}
	for _, d := range strconv.Itoa(max(pos, 1)) {
		out = append(out, ps.get(c.voice, "d"+string(d)))
	}
	mins := int((wait + 59*time.Second) / time.Minute)
	out = append(out, ps.get(c.voice, "minutes"))
	for _, d := range strconv.Itoa(max(mins, 1)) {
		out = append(out, ps.get(c.voice, "d"+string(d)))
	}
	return out
}

// holdPrompt is the waiting message: "press 1 to be called back" only on
// a line that offers callbacks (an outbound trunk and the line's setting).
func (c *call) holdPrompt() *clip {
	if c.s.CallbacksOn(c.number) {
		return c.s.prompts.get(c.voice, "hold")
	}
	return c.s.prompts.get(c.voice, "wait")
}

// bookCallback is virtual hold: leave the live queue as a booked callback
// keeping the place, persist it, confirm and hang up; the callback is then
// placed agent first (callback.go).
func (c *call) bookCallback(ctx context.Context) bool {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.s.hub.Do(dctx, router.CallbackRequested{Contact: c.id, Number: c.from}); err != nil {
		c.log.Warn("callback refused", "err", err)
		return false
	}
	c.closed = true // the contact left live routing as a callback
	cb := store.Callback{Contact: uint64(c.id), CitizenNumber: c.from, Hotline: c.number, Queue: c.queue,
		Arrived: c.rec.Arrived, Booked: time.Now(), Status: store.CallbackBooked,
		Attrs: map[string]string{attrSource: "voice"}}
	if st := c.s.opts.Store; st != nil {
		if err := st.Durable(dctx, cb); err != nil {
			c.log.Error("callback not durable", "err", err)
		}
	}
	if err := c.s.BookCallback(dctx, cb, false); err != nil {
		c.log.Error("callback not placed", "err", err)
	}
	c.stopMedia()
	c.rec.Cause = causeCallback
	c.play(ctx, c.s.prompts.get(c.voice, "callback"))
	c.hangupCitizen()
	return true
}

func (c *call) hangupCitizen() {
	c.stopMedia()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.leg.Hangup(ctx)
}

// agentGone forgets the agent leg after its BYE.
func (c *call) agentGone() {
	if c.agentLeg == nil {
		return
	}
	// No three-way without the agent (interpreter.go).
	c.endInterpreter(interpCallOver)
	c.endMonitor(MonitorEndAgentLeft)
	c.leg.Connect(nil)
	c.muted = false // a mute is the agent's own; the next agent starts unmuted
	rx, tx := c.agentLeg.Counters()
	c.rec.AgentRx += rx
	c.rec.AgentTx += tx
	// This leg's own counters (a transferred call has several agent legs).
	id := c.agentLeg.CallID()
	for i := range c.legs {
		if (c.legs[i].Role == "agent" || c.legs[i].Role == "consult") && c.legs[i].CallID == id && c.legs[i].Ended.IsZero() {
			c.legs[i].Ended = time.Now()
			c.legs[i].RTP = store.RTPStats{PacketsReceived: rx, PacketsSent: tx}
		}
	}
	c.s.dropLeg(c.agentLeg)
	c.untrackAgentLeg(id)
	c.agentLeg, c.agentDlg = nil, nil
}

// hangupAgent sends BYE to the agent phone and forgets the leg.
func (c *call) hangupAgent() {
	if c.agentLeg == nil {
		return
	}
	l := c.agentLeg
	c.agentGone()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.Hangup(ctx)
}

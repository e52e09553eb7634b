package sip

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"onecall/router"
	"onecall/store"
)

// maxOffers bounds a call's outstanding agent INVITEs (the live one plus
// withdrawn ones still being cancelled).
const maxOffers = 4

// startOffer rings the agent's registered phone in the background.
func (c *call) startOffer(ctx context.Context, o router.Offer, res chan offerResult) {
	reject := func(reason string) {
		if err := c.s.hub.Submit(router.OfferRejected{Contact: c.id, Agent: o.Agent, Reason: reason}); err != nil {
			c.log.Warn("offer reject lost", "agent", o.Agent, "err", err)
		}
	}
	if c.phase != phaseWaiting || c.offer != nil || c.offers[o.Agent] != nil || len(c.offers) >= maxOffers {
		reject("busy")
		return
	}
	uri, route, ok := c.s.lookupAgent(string(o.Agent))
	if !ok {
		c.log.Info("agent phone not registered", "agent", o.Agent)
		reject("not registered")
		return
	}
	var target sip.Uri
	if err := sip.ParseUri(strings.Trim(uri, "<>"), &target); err != nil {
		reject("bad contact")
		return
	}
	if !c.s.agentTargetAllowed(target) {
		c.s.drops.add(DropAgentNetwork)
		c.log.Warn("agent phone outside the agent networks: not rung", "agent", o.Agent, "host", target.Host)
		reject("agent network")
		return
	}
	timeout := c.s.ringTimeout(o.Deadline)
	// The ring is stopped by us (timeout, withdrawal, caller gone), never by
	// the caller's dialog context: a phone that sent no provisional response
	// cannot be CANCELled and sipgo would wait for Timer B (32 s), so then we
	// force the exit instead.
	octx, cancelCause := context.WithCancelCause(context.Background())
	var ringing, timedOut atomic.Bool
	stop := giveUp(&ringing, cancelCause)
	timer := time.AfterFunc(timeout, func() { timedOut.Store(true); stop() })
	cancel := func() { timer.Stop(); stop() }
	c.offer = &offerState{agent: o.Agent, cancel: cancel, timedOut: &timedOut}
	c.offers[o.Agent] = c.offer
	hdrs := append(route, c.offerHeaders(o)...)
	agent := o.Agent
	go func() {
		r := offerResult{agent: agent}
		defer func() { res <- r }()
		dlg, err := c.s.dg.NewDialog(target, diago.NewDialogOptions{})
		if err != nil {
			r.err = err
			return
		}
		med, err := dlg.Invite(octx, diago.InviteClientOptions{
			Originator:    c.d,
			Headers:       hdrs,
			OnMediaUpdate: func(*diago.DialogMedia) { c.post(ctlMsg{op: opMediaUpdate}) },
			OnResponse:    markRinging(&ringing),
		})
		if err := c.s.settleInvite(octx, dlg, err); err != nil {
			r.err = err
			return
		}
		r.dlg, r.med = dlg, med
	}()
}

// hangUpCrossed ends a dialog whose 2xx crossed our CANCEL (RFC 3261 9.1
// and 15): the phone answered as we gave up, so it gets its ACK (else it
// retransmits the 2xx and then drops the call by itself) and a BYE.
func hangUpCrossed(d *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Ack(ctx); err != nil {
		return
	}
	_ = d.Bye(ctx)
}

// offerHeaders carries the caller details to the agent phone.
func (c *call) offerHeaders(o router.Offer) []sip.Header {
	h := []sip.Header{
		sip.NewHeader("X-Onecall-Contact", strconv.FormatUint(uint64(c.id), 10)),
		sip.NewHeader("X-Onecall-Queue", headerSafe(o.Queue)),
		sip.NewHeader("X-Onecall-Hotline", headerSafe(c.number)),
	}
	switch c.s.opts.PAI {
	case PAIMasked:
		h = append(h, sip.NewHeader("P-Asserted-Identity", "<sip:"+headerSafe(maskNumber(c.from))+"@onecall.invalid>"))
	case PAIFull:
		h = append(h, sip.NewHeader("P-Asserted-Identity", "<sip:"+headerSafe(c.from)+"@onecall.invalid>"))
	case PAINone:
	}
	return h
}

// headerSafe keeps header values to a short run of safe characters: no
// CR/LF, no angle brackets or quotes (caller IDs and names are hostile).
func headerSafe(v string) string {
	var b strings.Builder
	for _, r := range v {
		if b.Len() >= 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune("-_.+*#", r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maskNumber hides the middle of a phone number: 01012345678 -> 010****5678.
func maskNumber(n string) string {
	r := []rune(n)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	keepHead := min(3, len(r)-4)
	out := make([]rune, len(r))
	for i := range r {
		if i < keepHead || i >= len(r)-4 {
			out[i] = r[i]
		} else {
			out[i] = '*'
		}
	}
	return string(out)
}

// offerDone handles the agent leg's INVITE outcome.
func (c *call) offerDone(ctx context.Context, r offerResult) {
	o := c.offers[r.agent]
	delete(c.offers, r.agent)
	if c.offer == o {
		c.offer = nil
	}
	if o != nil {
		o.cancel()
	}
	withdrawn := o == nil || o.withdrawn
	if r.err != nil {
		c.log.Info("offer failed", "agent", r.agent, "err", r.err, "withdrawn", withdrawn)
		if !withdrawn {
			reason := offerFailReason(r.err)
			if o != nil && o.timedOut.Load() {
				reason = "no answer"
			}
			if err := c.s.hub.Submit(router.OfferRejected{Contact: c.id, Agent: r.agent, Reason: reason}); err != nil {
				c.log.Warn("offer reject lost", "err", err)
			}
		}
		return
	}
	if withdrawn || ctx.Err() != nil || c.agentLeg != nil || c.phase != phaseWaiting {
		// Answered too late (withdrawn, caller gone, or another agent won).
		c.log.Info("late answer hung up", "agent", r.agent)
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hangUpDialled(hctx, r.dlg)
		cancel()
		return
	}
	leg, err := newDiagoLeg(r.dlg.Context(), c.s.clock, r.dlg.InviteRequest.CallID().Value(), r.med, dialledHangup(r.dlg))
	if err != nil {
		c.log.Warn("agent media failed", "err", err)
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hangUpDialled(hctx, r.dlg)
		cancel()
		if !withdrawn {
			_ = c.s.hub.Submit(router.OfferRejected{Contact: c.id, Agent: r.agent, Reason: "media"})
		}
		return
	}
	c.agentLeg, c.agentDlg, c.agent = leg, r.dlg, r.agent
	c.s.addLeg(leg, clientDialogPeer(r.dlg))
	c.trackAgentLeg()
	c.rec.Legs++
	c.rec.Agent = r.agent
	c.rec.AgentCall = leg.CallID()
	c.legs = append(c.legs, store.CallLeg{Role: "agent", URI: r.dlg.InviteRequest.Recipient.String(),
		CallID: leg.CallID(), Started: time.Now()})
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = c.s.hub.Do(dctx, router.OfferAccepted{Contact: c.id, Agent: r.agent})
	cancel()
	if err != nil {
		c.log.Warn("offer accept refused", "agent", r.agent, "err", err)
		c.hangupAgent()
		return
	}
	c.phase = phaseTalking
	if c.rec.Answered.IsZero() {
		c.rec.Answered = time.Now()
	}
	c.bridge()
}

func offerFailReason(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "486"):
		return "busy"
	case strings.Contains(s, "603"):
		return "declined"
	}
	return "failed"
}

// bridge connects citizen and agent audio (both directions).
func (c *call) bridge() {
	c.stopMedia()
	c.held, c.phoneHeld = false, false
	if c.agentLeg == nil {
		return
	}
	if c.sup != nil {
		c.remix() // a supervisor is on the call (supervise_media.go)
		return
	}
	c.leg.Connect(c.agentLeg)
	if c.muted {
		c.agentLeg.Connect(nil) // muted: the citizen still reaches the agent, not back
		return
	}
	c.agentLeg.Connect(c.leg)
}

// unbridge stops audio between the parties and plays hold music to the citizen.
func (c *call) unbridge() {
	c.rec.Holds++
	if c.sup != nil {
		c.remix() // the citizen hears only the music (supervise_media.go)
		c.startMedia()
		return
	}
	c.leg.Connect(nil)
	if c.agentLeg != nil {
		c.agentLeg.Connect(nil)
	}
	c.startMedia()
}

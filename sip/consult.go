package sip

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"onecall/router"
	"onecall/store"
)

// Consult (warm) transfer, driven from the console. The talking agent
// names a target (an agent, a queue or an outside number the line's
// transfer_numbers allow); routing reserves the consulted agent (for a
// queue, the one the engine picks: router.ConsultRequested); the citizen
// hears hold music and we ring the target: the agent's registered phone
// (headers X-Onecall-Consult: the consulting agent) or the number through
// the outbound trunk. On answer the agent leg is bridged to the target leg
// (the citizen hears only music). Then:
//
//   - complete: the citizen is bridged to the target leg, the agent leg
//     gets its BYE, routing moves the contact to the consulted agent (the
//     first agent goes to wrap-up) or closes it transferred-out (number);
//   - cancel: the target leg gets its BYE (or the ring is cancelled) and
//     the agent is bridged back to the citizen;
//   - conference: the three legs are mixed (conference.go).
//
// Failures: a target that does not answer (the routing offer timeout),
// is busy or rejects ends the consult as failed: the agent is bridged back
// to the citizen and the console says why. The target hanging up during a
// consult is a cancel; during a conference, the target leaves it. The
// citizen hanging up ends every leg (the agent and the target are not
// left talking: the consult was about the citizen). The agent hanging up
// while the target talks completes the transfer (as a phone's attended
// transfer does); while it still rings, the ring is cancelled and the
// citizen goes back to its queue.

// Errors of the consult controls.
var (
	// ErrConsultActive means the call already has a consult.
	ErrConsultActive = errors.New("sip: the call is already in a consult")
	// ErrNoConsult means the call has no consult to end.
	ErrNoConsult = errors.New("sip: the call has no consult")
	// ErrConsultRinging means the target has not answered yet: only
	// cancel is possible.
	ErrConsultRinging = errors.New("sip: the consulted party has not answered yet")
	// ErrConsultFailed wraps why a target was not reached (the reply of a
	// synchronous caller; the console learns it from routing).
	ErrConsultFailed = errors.New("sip: the consulted party was not reached")
)

// consultRun is a call's running consult (call goroutine only).
type consultRun struct {
	to    router.TransferTarget
	by    router.AgentID
	note  string
	agent router.AgentID // the consulted agent ("" for a number)
	stop  func()         // stops the ring (idempotent)
	res   chan consultResult
	leg   Leg // the answered target leg
	dlg   *diago.DialogClientSession
	out   *outCall // a number's leg
	conf  bool
	// timedOut is set when the ring was given up at the deadline.
	timedOut atomic.Bool
	// phone is set when the agent's phone placed the consult
	// (phone_consult.go): pleg is its answered consult leg, bridged to the
	// target instead of the agent leg (which the phone holds).
	phone *phoneConsult
	pleg  Leg
	// semi is set when the phone transferred its consult while the target
	// still rang (semi-attended, phone_consult.go): it sends the REFER's
	// final NOTIFY (once). semiAgentGone: the phone hung up the citizen
	// dialog since; the call then waits for the target alone.
	semi          func(code int, reason string)
	semiAgentGone bool
	// An interpreter from a queue (interpret_queue.go): the language,
	// whether the request waits in routing for a free interpreter, and
	// the interpreters rung so far.
	lang    string
	waiting bool
	rung    map[router.AgentID]bool
}

type consultResult struct {
	leg Leg
	dlg *diago.DialogClientSession
	out *outCall
	err error
}

// Consult starts a consult of the contact's call: it returns once the
// target rings (or the refusal). The outcome reaches consoles through
// routing (router.ConsultChanged).
func (s *Service) Consult(ctx context.Context, contact router.ContactID, to router.TransferTarget, by router.AgentID, note string) error {
	return s.control(ctx, contact, ctlMsg{op: opConsult, to: to, by: by, note: note})
}

// ConsultEnd ends the contact's consult: router.ConsultCancelled,
// router.ConsultCompleted or router.ConsultConference (and
// router.ConsultLeft: drop the target from the conference).
func (s *Service) ConsultEnd(ctx context.Context, contact router.ContactID, step router.ConsultStep) error {
	return s.control(ctx, contact, ctlMsg{op: opConsultEnd, step: step})
}

func (c *call) consultUpdate(step router.ConsultStep, reason string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.s.hub.Do(ctx, router.ConsultUpdated{Contact: c.id, Step: step, Reason: reason})
	if err != nil {
		c.log.Warn("routing not told of the consult step", "step", step.String(), "err", err)
	}
	return err
}

// startConsult runs on the call goroutine (talking, agent leg up).
func (c *call) startConsult(ctx context.Context, m ctlMsg) error {
	if c.consult != nil {
		return ErrConsultActive
	}
	if m.lang != "" {
		return c.requestInterpreter(ctx, m)
	}
	if err := checkTarget(m.to); err != nil {
		return err
	}
	if m.to.Number != "" {
		if !c.s.CanDial() {
			return ErrNoOutside
		}
		if _, ok := c.s.transferAllowed(c.number, m.to.Number); !ok {
			return fmt.Errorf("%w: %q", ErrNumberNotAllowed, m.to.Number)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	cmds, err := c.s.hub.Do(dctx, router.ConsultRequested{Contact: c.id, By: m.by, ToQueue: m.to.Queue,
		ToAgent: m.to.Agent, ToNumber: m.to.Number, Note: m.note})
	cancel()
	if err != nil {
		return err
	}
	var started router.ConsultChanged
	for _, cmd := range cmds {
		if cc, ok := cmd.(router.ConsultChanged); ok && cc.Contact == c.id && cc.Step == router.ConsultStarted {
			started = cc
		}
	}
	k := &consultRun{to: m.to, by: m.by, note: m.note, agent: started.Agent, res: make(chan consultResult, 1), stop: func() {},
		phone: m.phone}
	c.consult = k
	c.log.Info("consult: ringing", "target", m.to.String(), "agent", started.Agent, "from_phone", m.phone != nil)
	// The citizen holds (music) while the agent consults (the phone may
	// hold it already).
	if !c.phoneHeld || c.media == nil {
		c.unbridge()
	}
	if m.to.Number != "" {
		c.dialConsult(k, m.to.Number)
	} else {
		c.ringConsult(k, started)
	}
	return nil
}

// dialConsult calls the outside number through the outbound trunk.
func (c *call) dialConsult(k *consultRun, num string) {
	line, _ := c.s.transferAllowed(c.number, num)
	callerID := line.CallerID
	if callerID == "" {
		callerID = c.number
	}
	dctx, cancel := context.WithCancel(context.Background())
	k.stop = cancel
	req := DialRequest{Number: num, CallerID: callerID, originator: originFromServer(c.d)}
	go func() {
		oc, err := c.s.dial(dctx, req)
		r := consultResult{out: oc, err: err}
		if oc != nil {
			r.leg, r.dlg = oc.leg, oc.dlg
		}
		k.res <- r
	}()
}

// ringConsult rings the consulted agent's registered phone until the
// routing deadline.
func (c *call) ringConsult(k *consultRun, cc router.ConsultChanged) {
	fail := func(reason string) { k.res <- consultResult{err: ringRefused(reason)} }
	uri, route, ok := c.s.lookupAgent(string(cc.Agent))
	if !ok {
		fail("phone not registered")
		return
	}
	var target sip.Uri
	if err := sip.ParseUri(strings.Trim(uri, "<>"), &target); err != nil {
		fail("bad contact")
		return
	}
	if !c.s.agentTargetAllowed(target) {
		c.s.drops.add(DropAgentNetwork)
		fail("agent network")
		return
	}
	timeout := c.s.ringTimeout(cc.Deadline)
	octx, cancelCause := context.WithCancelCause(context.Background())
	var ringing atomic.Bool
	stop := giveUp(&ringing, cancelCause)
	timer := time.AfterFunc(timeout, func() { k.timedOut.Store(true); stop() })
	k.stop = func() { timer.Stop(); stop() }
	hdrs := append(route,
		sip.NewHeader("X-Onecall-Contact", strconv.FormatUint(uint64(c.id), 10)),
		sip.NewHeader("X-Onecall-Consult", headerSafe(string(k.by))),
		sip.NewHeader("X-Onecall-Hotline", headerSafe(c.number)),
		sip.NewHeader("X-Onecall-Queue", headerSafe(cmp.Or(cc.Queue, c.queue))),
	)
	hdrs = append(hdrs, k.interpreterHeaders()...)
	go func() {
		r := consultResult{}
		defer func() { k.res <- r }()
		dlg, err := c.s.dg.NewDialog(target, diago.NewDialogOptions{})
		if err != nil {
			r.err = err
			return
		}
		med, err := dlg.Invite(octx, diago.InviteClientOptions{
			Originator: c.d,
			Headers:    hdrs,
			OnResponse: markRinging(&ringing),
		})
		if err := c.s.settleInvite(octx, dlg, err); err != nil {
			r.err = err
			return
		}
		leg, err := newDiagoLeg(dlg.Context(), c.s.clock, dlg.InviteRequest.CallID().Value(), med, dialledHangup(dlg))
		if err != nil {
			hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = hangUpDialled(hctx, dlg)
			hcancel()
			r.err = err
			return
		}
		r.leg, r.dlg = leg, dlg
	}()
}

// dropResult hangs up a target leg nobody wants any more.
func dropResult(r consultResult) {
	switch {
	case r.out != nil:
		r.out.hangup()
	case r.dlg != nil:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hangUpDialled(ctx, r.dlg)
		cancel()
	}
}

// ringRefused is a consult that was not rung: its text is the reason.
type ringRefused string

func (r ringRefused) Error() string { return string(r) }

// failReason says why a ring failed, for the console and history.
func (k *consultRun) failReason(err error) string {
	if k.timedOut.Load() {
		return "no answer"
	}
	var rr ringRefused
	if errors.As(err, &rr) {
		return string(rr)
	}
	var de *DialError
	if errors.As(err, &de) {
		return de.Outcome.String()
	}
	switch s := err.Error(); {
	case strings.Contains(s, "486"), strings.Contains(s, "600"):
		return "busy"
	case strings.Contains(s, "603"), strings.Contains(s, "403"):
		return "rejected"
	case strings.Contains(s, "480"), strings.Contains(s, "408"), strings.Contains(s, "487"):
		return "no answer"
	}
	return "failed"
}

// consultDone takes the ring's outcome (call goroutine).
func (c *call) consultDone(r consultResult) {
	k := c.consult
	if k == nil || k.leg != nil {
		dropResult(r)
		return
	}
	if k.lang != "" {
		c.interpreterDone(k, r)
		return
	}
	if r.err != nil {
		reason := k.failReason(r.err)
		c.log.Info("consult failed", "target", k.to.String(), "reason", reason, "err", r.err)
		c.consult = nil
		_ = c.consultUpdate(router.ConsultFailed, reason)
		if k.semi != nil || k.semiAgentGone {
			c.semiFailed(k, reason)
			return
		}
		if k.phone != nil {
			k.phone.answer(phoneFailCode(reason))
			c.phoneHold()
			return
		}
		if c.agentLeg != nil {
			c.bridge()
		}
		return
	}
	k.leg, k.dlg, k.out = r.leg, r.dlg, r.out
	c.s.addLeg(k.leg, clientDialogPeer(k.dlg))
	role, uri := "consult", k.dlg.InviteRequest.Recipient.String()
	if k.out != nil {
		role, uri = "outside", "tel:"+k.out.to
	}
	c.rec.Legs++
	c.legs = append(c.legs, store.CallLeg{Role: role, URI: uri, CallID: k.leg.CallID(), Started: time.Now()})
	c.log.Info("consult answered", "target", k.to.String())
	if k.semi != nil || k.semiAgentGone {
		// The phone transferred while it rang: complete now.
		_ = c.consultUpdate(router.ConsultAnswered, "")
		c.semiAnswered(k)
		return
	}
	if k.phone != nil {
		// The phone's INVITE is answered now; its leg is bridged to the
		// target when it is up (phoneLegUp).
		k.phone.answer(sip.StatusOK)
	} else if c.agentLeg != nil {
		c.agentLeg.Connect(k.leg)
		k.leg.Connect(c.agentLeg)
	}
	_ = c.consultUpdate(router.ConsultAnswered, "")
}

// closeLeg records a leg's end and counters in the call record.
func (c *call) closeLeg(l Leg) {
	rx, tx := l.Counters()
	id := l.CallID()
	for i := range c.legs {
		if c.legs[i].CallID == id && c.legs[i].Ended.IsZero() {
			c.legs[i].Ended = time.Now()
			c.legs[i].RTP = store.RTPStats{PacketsReceived: rx, PacketsSent: tx}
		}
	}
}

// dropConsult stops the ring or hangs up the target leg and forgets the
// consult; routing is told by the caller.
func (c *call) dropConsult() {
	k := c.consult
	if k == nil {
		return
	}
	c.consult = nil
	c.unmix()
	c.dropPhoneLeg(k, sip.StatusRequestTerminated)
	k.semiNotify(sip.StatusRequestTerminated, "Request Terminated")
	if k.waiting {
		return // routing holds the request; nothing rings
	}
	if k.leg == nil {
		k.stop()
		select {
		case r := <-k.res:
			dropResult(r)
		case <-time.After(35 * time.Second): // Timer B at worst
			c.log.Warn("consult ring did not stop")
		}
		return
	}
	k.leg.Connect(nil)
	if c.agentLeg != nil {
		c.agentLeg.Connect(nil)
	}
	c.closeLeg(k.leg)
	c.s.dropLeg(k.leg)
	if k.out != nil {
		k.out.hangup()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = k.leg.Hangup(ctx)
	cancel()
}

// endConsult carries out the console's cancel, complete or conference.
func (c *call) endConsult(step router.ConsultStep) error {
	k := c.consult
	if k == nil {
		return ErrNoConsult
	}
	switch step {
	case router.ConsultCancelled:
		if k.conf {
			return c.leaveConference("")
		}
		if k.semiAgentGone {
			c.dropConsult()
			_ = c.consultUpdate(router.ConsultCancelled, "")
			c.semiFailed(k, "cancelled")
			return nil
		}
		c.dropConsult()
		_ = c.consultUpdate(router.ConsultCancelled, "")
		if k.phone != nil {
			c.phoneHold()
			return nil
		}
		if k.lang == "" { // an interpretation request never held the citizen
			c.bridge()
		}
		return nil
	case router.ConsultLeft:
		if !k.conf {
			return ErrNoConsult
		}
		return c.leaveConference("")
	case router.ConsultCompleted:
		if k.lang != "" {
			return ErrNoConsult // an interpreter is dropped, not transferred to
		}
		if k.leg == nil {
			return ErrConsultRinging
		}
		return c.completeConsult("")
	case router.ConsultConference:
		if k.leg == nil {
			return ErrConsultRinging
		}
		if k.conf {
			return nil
		}
		if k.phone != nil {
			return fmt.Errorf("%w: the consult is the agent phone's own call", ErrNoConference)
		}
		return c.conference()
	default:
	}
	return fmt.Errorf("sip: no consult step %v", step)
}

// completeConsult joins the citizen to the target and lets the agent go.
func (c *call) completeConsult(reason string) error {
	return c.completeConsultThen(reason, nil)
}

// completeConsultThen is completeConsult with before run once routing took
// the step, before the agent's legs get their BYE (a REFER's NOTIFY).
func (c *call) completeConsultThen(reason string, before func()) error {
	k := c.consult
	if err := c.consultUpdate(router.ConsultCompleted, reason); err != nil {
		return err
	}
	if before != nil {
		before()
	}
	c.consult = nil
	c.unmix()
	c.stopMedia()
	c.dropPhoneLeg(k, sip.StatusRequestTerminated)
	c.hangupAgent()
	c.held, c.phoneHeld = false, false
	if k.out != nil {
		c.log.Info("consult transfer completed to a number", "number", k.out.to)
		c.outside = k.out
		c.phase = phaseOutside
		c.closed = true // routing closed it transferred-out
		c.leg.Connect(k.out.leg)
		k.out.leg.Connect(c.leg)
		return nil
	}
	c.log.Info("consult transfer completed", "agent", k.agent)
	c.agentLeg, c.agentDlg, c.agent = k.leg, k.dlg, k.agent
	c.rec.Agent = k.agent
	c.rec.AgentCall = k.leg.CallID()
	c.trackAgentLeg()
	c.bridge()
	return nil
}

// consultLegGone handles the target's BYE.
func (c *call) consultLegGone() {
	k := c.consult
	if k.conf {
		_ = c.leaveConference("the consulted party hung up")
		return
	}
	c.dropConsult()
	_ = c.consultUpdate(router.ConsultCancelled, "the consulted party hung up")
	if k.phone != nil {
		c.phoneHold()
		return
	}
	c.bridge()
}

// agentLeftConsult handles the agent leg's BYE during a consult; true
// means the call goes on (see the package comment above).
func (c *call) agentLeftConsult() bool {
	k := c.consult
	if k.lang != "" {
		// No three-way without the agent (interpreter.go): the call ends.
		step := router.ConsultCancelled
		if k.conf {
			step = router.ConsultLeft
		}
		c.dropConsult()
		_ = c.consultUpdate(step, "the agent hung up")
		return false
	}
	if k.leg != nil {
		c.log.Info("agent hung up during the consult: completing the transfer")
		return c.completeConsult("the agent hung up") == nil
	}
	if k.semi != nil {
		// The phone transferred to a target still ringing and hung up:
		// the citizen waits for the target alone (phone_consult.go).
		c.log.Info("agent's phone left after its semi-attended transfer: the target still rings")
		k.semi, k.semiAgentGone = nil, true
		c.agentGone()
		return true
	}
	c.dropConsult()
	_ = c.consultUpdate(router.ConsultFailed, "the agent hung up")
	by := c.agent
	c.agentGone()
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := c.s.hub.Do(dctx, router.ContactTransferred{Contact: c.id, ToQueue: c.queue, By: by,
		Note: "the agent hung up during a consult"})
	cancel()
	if err != nil {
		c.log.Warn("contact not requeued after the agent left a consult", "err", err)
		return false
	}
	c.phase = phaseWaiting
	c.held, c.phoneHeld = false, false
	c.startMedia(c.holdPrompt())
	return true
}

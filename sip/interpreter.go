package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"onecall/router"
	"onecall/store"
)

// Three-way call for interpretation (issue 11). An agent talking with a
// citizen brings in an interpreter at an outside number that the line's
// transfer_numbers allow (1345, 1330, Danuri, another agency): the number
// is dialled through the outbound trunk with the line's caller ID while
// citizen and agent go on talking; on answer the three legs move from the
// two-way bridge into a mixer (mixer.go), where each one hears the other
// two and never itself. Dropping the interpreter (the console) or the
// interpreter hanging up takes the call back to the two-way bridge.
//
// Ends: the citizen hanging up ends every leg (the agent's and the
// interpreter's get their BYE). The agent hanging up during the three-way
// ends the call too: the agent owns the contact, and an interpreter has
// nobody to interpret for without them; the interpreter and the citizen
// get their BYE, the contact ends completed and the agent goes to wrap-up
// as after any call. While the interpreter is on, hold and transfer are
// refused (ErrThreeWay: drop the interpreter first) and the agent phone's
// own hold (re-INVITE) is ignored.
//
// Record: the interpreter is a leg of role "interpreter" in the call record
// (URI tel:NUMBER, its own RTP counters); joining and leaving are contact
// events ("interpreter_joined", "interpreter_left" with who and why).

// ErrThreeWay means the operation needs the interpreter dropped first.
var ErrThreeWay = errors.New("sip: an interpreter is on the call; drop the interpreter first")

// ErrNoInterpreter means there is no interpreter on the call to drop.
var ErrNoInterpreter = errors.New("sip: no interpreter on the call")

// Interpreter-leaving reasons (contact history, logs).
const (
	interpDropped  = "dropped"           // the agent dropped the interpreter
	interpBye      = "interpreter-bye"   // the interpreter hung up
	interpCallOver = "call-ended"        // the citizen or the agent left
	interpNoMixer  = "mixer-unavailable" // the media clock refused the mix
)

// Interpret dials number through the outbound trunk and, on answer, joins
// the interpreter to the call as a third party. It returns when the
// interpreter answered (nil) or was not reached (ErrOutsideFailed; the
// call goes on two-way). by is the agent who asked.
func (s *Service) Interpret(ctx context.Context, contact router.ContactID, number string, by router.AgentID) error {
	return s.control(ctx, contact, ctlMsg{op: opInterpret, to: router.TransferTarget{Number: number}, by: by})
}

// DropInterpreter ends the interpreter's leg and reconnects citizen and
// agent two-way.
func (s *Service) DropInterpreter(ctx context.Context, contact router.ContactID, by router.AgentID) error {
	return s.control(ctx, contact, ctlMsg{op: opInterpretDrop, by: by})
}

// interpreting is the interpreter's part of a call (call goroutine only).
type interpreting struct {
	oc     *outCall
	mix    *mixer
	by     router.AgentID
	number string
}

// interpret runs on the call goroutine (phase talking, agent leg up).
func (c *call) interpret(ctx context.Context, m ctlMsg) error {
	if c.interp != nil {
		return ErrThreeWay
	}
	if c.held || c.phoneHeld {
		return ErrNotTalking
	}
	num := m.to.Number
	if !c.s.CanDial() {
		return ErrNoOutside
	}
	line, ok := c.s.transferAllowed(c.number, num)
	if !ok {
		return fmt.Errorf("%w: %q", ErrNumberNotAllowed, num)
	}
	callerID := line.CallerID
	if callerID == "" {
		callerID = c.number
	}
	c.log.Info("interpreter: dialling", "number", num, "agent", m.by)
	// Citizen and agent keep talking while it rings.
	oc, err := c.s.dial(ctx, DialRequest{Number: num, CallerID: callerID, originator: originFromServer(c.d)})
	if err != nil {
		outcome := DialOutcomeOf(err)
		c.log.Info("interpreter not reached", "number", num, "outcome", outcome.String(), "err", err)
		c.history("interpreter_failed", string(m.by), "number:"+num+" "+outcome.String())
		return fmt.Errorf("%w (%s): %w", ErrOutsideFailed, outcome.String(), err)
	}
	if c.phase != phaseTalking || c.agentLeg == nil || c.agentLeg.Context().Err() != nil || ctx.Err() != nil {
		// The call changed while it rang: the interpreter is not needed.
		oc.hangup()
		return ErrNotTalking
	}
	c.s.addLeg(oc.leg, clientDialogPeer(oc.dlg))
	c.legs = append(c.legs, store.CallLeg{Role: "interpreter", URI: "tel:" + oc.to, CallID: oc.leg.CallID(), Started: time.Now()})
	c.interp = &interpreting{oc: oc, by: m.by, number: oc.to}
	mix := newMixer(c.s.clock)
	for _, l := range []Leg{c.leg, c.agentLeg, oc.leg} {
		// A muted agent joins unheard (muteThreeWay).
		if err := mix.join(l, l != c.agentLeg || !c.muted); err != nil {
			mix.close()
			c.log.Warn("interpreter: no mixer", "err", err)
			c.endInterpreter(interpNoMixer)
			c.bridge()
			return fmt.Errorf("sip: three-way mix: %w", err)
		}
	}
	c.interp.mix = mix
	c.log.Info("interpreter joined", "number", oc.to, "trunk", oc.trunk)
	c.history("interpreter_joined", string(m.by), "number:"+oc.to)
	if f := c.s.opts.InterpreterChanged; f != nil {
		f(c.id, oc.to)
	}
	return nil
}

// muteThreeWay mutes or unmutes the agent in the three-way mix: the
// citizen and the interpreter stop or start hearing them; the agent goes
// on hearing both. bridge() keeps the mute when the interpreter leaves.
func (c *call) muteThreeWay(mute bool) error {
	c.muted = mute
	mix := c.interp.mix
	for _, l := range []Leg{c.leg, c.interp.oc.leg} {
		if err := mix.setHears(l, c.agentLeg, !mute); err != nil {
			return err
		}
	}
	return nil
}

// dropInterpreter is the console's drop: back to the two-way bridge.
func (c *call) dropInterpreter(m ctlMsg) error {
	if c.interp == nil && c.consult != nil && c.consult.lang != "" {
		// An interpreter from a queue (interpret_queue.go): dropped, or
		// the request withdrawn while it waits or rings.
		return c.endConsult(router.ConsultCancelled)
	}
	if c.interp == nil {
		return ErrNoInterpreter
	}
	c.interp.by = m.by
	c.endInterpreter(interpDropped)
	c.bridge()
	return nil
}

// interpDone is closed when the interpreter's leg ends (nil: none).
func (c *call) interpDone() <-chan struct{} {
	if c.interp == nil {
		return nil
	}
	return c.interp.oc.leg.Context().Done()
}

// endInterpreter takes the interpreter out (idempotent): the mixer closes
// (every leg disconnected from it), the interpreter's leg gets its BYE and
// its counters, and the contact history says why. The caller re-bridges
// or ends the call.
func (c *call) endInterpreter(why string) {
	ip := c.interp
	if ip == nil {
		return
	}
	c.interp = nil
	if ip.mix != nil {
		ip.mix.close()
	}
	oc := ip.oc
	rx, tx := oc.leg.Counters()
	id := oc.leg.CallID()
	for i := range c.legs {
		if c.legs[i].Role == "interpreter" && c.legs[i].CallID == id && c.legs[i].Ended.IsZero() {
			c.legs[i].Ended = time.Now()
			c.legs[i].RTP = store.RTPStats{PacketsReceived: rx, PacketsSent: tx}
		}
	}
	oc.hangup()
	c.s.dropLeg(oc.leg)
	by := ""
	if why == interpDropped {
		by = string(ip.by)
	}
	c.log.Info("interpreter left", "number", ip.number, "why", why, "rx", rx, "tx", tx)
	c.history("interpreter_left", by, "number:"+ip.number+" "+why)
	if f := c.s.opts.InterpreterChanged; f != nil {
		f(c.id, "")
	}
}

// history appends one step of the call to the contact's history
// (contact_events; queued, never blocks).
func (c *call) history(state, agent, reason string) {
	st := c.s.opts.Store
	if st == nil {
		return
	}
	ev := store.ContactEvent{Contact: uint64(c.id), At: time.Now(), State: state, Queue: c.queue, Agent: agent, Reason: reason}
	if err := st.Enqueue(ev); err != nil {
		c.log.Warn("contact event not queued", "state", state, "err", err)
	}
}

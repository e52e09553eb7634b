package sip

import (
	"context"
	"errors"
	"time"

	"onecall/router"
	"onecall/store"
)

// ErrNoCall means the contact has no live call on this Service.
var ErrNoCall = errors.New("sip: no such call")

// ErrNotTalking means the call is not connected to an agent.
var ErrNotTalking = errors.New("sip: call not connected to an agent")

func (s *Service) control(ctx context.Context, id router.ContactID, m ctlMsg) error {
	c := s.lookupCall(id)
	if c == nil {
		return ErrNoCall
	}
	m.reply = make(chan error, 1)
	c.post(m)
	select {
	case err := <-m.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.d.Context().Done():
		select {
		case err := <-m.reply:
			return err
		case <-time.After(time.Second): // the call may still be answering
		}
		return ErrNoCall
	}
}

// Hold puts the citizen on hold (hold music) and mutes both directions.
func (s *Service) Hold(ctx context.Context, contact router.ContactID) error {
	return s.control(ctx, contact, ctlMsg{op: opHold})
}

// Resume reconnects a held call.
func (s *Service) Resume(ctx context.Context, contact router.ContactID) error {
	return s.control(ctx, contact, ctlMsg{op: opResume})
}

// Mute stops relaying the agent's audio to the citizen; the agent still
// hears the citizen. It lasts until Unmute or the agent leg ends (a
// transfer's next agent starts unmuted); a hold and resume keep it.
func (s *Service) Mute(ctx context.Context, contact router.ContactID) error {
	return s.control(ctx, contact, ctlMsg{op: opMute})
}

// Unmute relays the agent's audio to the citizen again.
func (s *Service) Unmute(ctx context.Context, contact router.ContactID) error {
	return s.control(ctx, contact, ctlMsg{op: opUnmute})
}

// Hangup ends the call on both legs (ContactEnded, EndCompleted).
func (s *Service) Hangup(ctx context.Context, contact router.ContactID) error {
	return s.control(ctx, contact, ctlMsg{op: opHangup})
}

// Transfer is a blind transfer: the agent leg is dropped and the citizen
// goes back to queue media in to.Queue (or waits for to.Agent), keeping
// history, attributes and arrival time (router.ContactTransferred with By
// and Note). An outside number (to.Number) answers ErrNoOutside until the
// outbound trunk is wired (see transfer.go).
func (s *Service) Transfer(ctx context.Context, contact router.ContactID, to router.TransferTarget, by router.AgentID, note string) error {
	return s.control(ctx, contact, ctlMsg{op: opTransfer, to: to, by: by, note: note})
}

// control runs on the call's goroutine; true ends the call.
func (c *call) control(ctx context.Context, m ctlMsg) bool {
	reply := func(err error) {
		if m.reply != nil {
			m.reply <- err
		}
	}
	switch m.op {
	case opShutdown:
		c.rec.Cause = causeShutdown
		c.endMonitor(MonitorEndCallEnded)
		c.hangupAgent()
		c.hangupCitizen()
		reply(nil)
		return true
	case opMediaUpdate:
		// The agent phone's re-INVITE: sendonly/inactive = hold.
		if c.phase == phaseTalking && c.agentLeg != nil && !c.held && c.consult == nil && c.interp == nil {
			switch h := c.agentLeg.OnHold(); {
			case h && !c.phoneHeld:
				c.phoneHeld = true
				c.unbridge()
				c.noteHold(true, "phone")
			case !h && c.phoneHeld:
				c.bridge()
				c.noteHold(false, "phone")
			}
		}
		return false
	case opPhoneConsultLeg:
		c.phoneLegUp(m)
		return false
	case opPhoneConsultGone:
		c.phoneConsultGone(m.phone, "the agent's phone cancelled the consult")
		return false
	default:
	}
	if c.phase != phaseTalking || c.agentLeg == nil {
		reply(ErrNotTalking)
		return false
	}
	monitorOp := m.op == opMonitor || m.op == opMonitorAttach || m.op == opMonitorStop
	if c.consult != nil && m.op != opConsultEnd && m.op != opHangup && (m.op != opInterpretDrop || c.consult.lang == "") &&
		(!monitorOp || c.threeWayMix() == nil) { // a supervisor may join a conference (supervise_media.go)
		reply(ErrConsultActive)
		return false
	}
	if c.interp != nil && (m.op == opHold || m.op == opTransfer || m.op == opConsult) {
		if m.refer != nil {
			m.refer.respond(c, ErrThreeWay)
		}
		reply(ErrThreeWay)
		return false
	}
	if c.interp != nil && (m.op == opMute || m.op == opUnmute) {
		reply(c.muteThreeWay(m.op == opMute))
		return false
	}
	switch m.op {
	case opInterpret:
		c.endMonitor(MonitorEndConsult) // the call becomes a three-way call
		reply(c.interpret(ctx, m))
		return false
	case opInterpretDrop:
		reply(c.dropInterpreter(m))
		return false
	case opConsult:
		c.endMonitor(MonitorEndConsult) // the agent leaves the supervised call
		reply(c.startConsult(ctx, m))
		return false
	case opConsultEnd:
		if m.refer != nil {
			reply(c.referReplaces(m)) // the phone's REFER with Replaces
			return false
		}
		reply(c.endConsult(m.step))
	case opMonitor, opMonitorAttach, opMonitorStop:
		reply(c.monitorCtl(m))
		return false
	case opHold:
		was := c.held
		c.held = true
		c.unbridge()
		if !was {
			c.noteHold(true, "console")
		}
	case opResume:
		was := c.held
		c.bridge()
		if was {
			c.noteHold(false, "console")
		}
	case opMute, opUnmute:
		c.muted = m.op == opMute
		if c.sup != nil {
			c.applyHearing() // a supervisor is on the call (supervise_media.go)
			break
		}
		if !c.held && !c.phoneHeld { // held: bridge() applies it on resume
			if c.muted {
				c.agentLeg.Connect(nil)
			} else {
				c.agentLeg.Connect(c.leg)
			}
		}
	case opHangup:
		c.rec.Cause = causeConsole
		c.endReason = router.EndCompleted
		reply(nil)
		c.hangupAgent()
		c.hangupCitizen()
		return true
	case opTransfer:
		err := c.blindTransfer(ctx, m)
		// transferOut answers the phone's REFER itself (202 at once, the
		// outcome by NOTIFY).
		if m.refer != nil && (m.to.Number == "" || checkTarget(m.to) != nil) {
			m.refer.respond(c, err)
		}
		if err == nil {
			c.leaveAgent(m.to.Queue)
		}
		reply(err)
		return false
	default:
	}
	reply(nil)
	return false
}

// noteHold writes a hold or resume of the citizen (by the agent's console
// or phone) to the contact's history and as a step of the agent's leg in
// the call record, and tells the console of a phone's hold (the console
// marks its own).
func (c *call) noteHold(held bool, by string) {
	mode := "resume"
	if held {
		mode = "hold"
	}
	c.history(mode, string(c.agent), by)
	if c.agentLeg != nil {
		id := c.agentLeg.CallID()
		for i := range c.legs {
			if c.legs[i].CallID == id && c.legs[i].Ended.IsZero() {
				c.legs[i].Steps = append(c.legs[i].Steps, store.LegStep{At: time.Now(), Mode: mode})
			}
		}
	}
	if f := c.s.opts.HoldChanged; f != nil && by == "phone" {
		f(c.id, held)
	}
}

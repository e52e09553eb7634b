package sip

import (
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

// Supervisor voice tools: a supervisor joins a connected call through
// their own registered phone (the registrar binding of their user name,
// rung like an agent phone) as a third leg of the call's mixer. The mode
// is who hears the supervisor:
//
//   - listen: nobody (the supervisor hears citizen and agent);
//   - whisper: the agent only (the citizen does not hear it);
//   - barge: both (a three-way call).
//
// A mode change re-sets the mixer's hearing matrix on the same leg, with
// no new INVITE. The leg ends when the supervisor hangs up (back to the
// plain two-party call), on StopMonitor, when the agent leaves the call,
// when the phone goes silent past NoRTPTimeout, and with the call. Every
// start, mode change and end is a contact event (the contact's history)
// and a step of the supervisor leg in the call record; Options.OnMonitor
// tells the console.

// MonitorMode is what a supervisor leg is allowed to say to whom.
type MonitorMode uint8

const (
	MonitorOff MonitorMode = iota
	MonitorListen
	MonitorWhisper
	MonitorBarge
)

func (m MonitorMode) String() string {
	switch m {
	case MonitorListen:
		return "listen"
	case MonitorWhisper:
		return "whisper"
	case MonitorBarge:
		return "barge"
	case MonitorOff:
		return "off"
	}
	return "monitor-mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMonitorMode reads "listen", "whisper" or "barge".
func ParseMonitorMode(s string) (MonitorMode, bool) {
	for _, m := range []MonitorMode{MonitorListen, MonitorWhisper, MonitorBarge} {
		if s == m.String() {
			return m, true
		}
	}
	return MonitorOff, false
}

// Errors of Monitor and StopMonitor.
var (
	ErrSupervisorNoPhone   = errors.New("sip: the supervisor's phone is not registered")
	ErrSupervisorNoAnswer  = errors.New("sip: the supervisor's phone did not answer")
	ErrSupervisorBusy      = errors.New("sip: the supervisor's phone is busy")
	ErrSupervisorRejected  = errors.New("sip: the supervisor's phone refused the call")
	ErrMonitored           = errors.New("sip: another supervisor is on this call")
	ErrSupervisorElsewhere = errors.New("sip: the supervisor is on another call")
	ErrNotMonitoring       = errors.New("sip: the supervisor is not on this call")
	errNeedLeg             = errors.New("sip: no supervisor leg yet")
)

// Why a supervisor leg ended (MonitorEvent.Reason, the contact event's
// reason).
const (
	MonitorEndConsole   = "console"      // StopMonitor
	MonitorEndPhone     = "phone-bye"    // the supervisor hung up
	MonitorEndPhoneLost = "phone-silent" // no RTP from the phone past NoRTPTimeout
	MonitorEndAgentLeft = "agent-left"   // transfer, agent hangup
	MonitorEndCallEnded = "call-ended"
	MonitorEndMedia     = "media-failed" // the legs could not be mixed
	MonitorEndConsult   = "consult"      // the agent started a consult or brought an interpreter in
)

// MonitorEvent reports a supervisor leg's start (Previous MonitorOff), mode
// change or end (Mode MonitorOff, with Reason).
type MonitorEvent struct {
	Contact    router.ContactID
	Supervisor router.AgentID
	Agent      router.AgentID
	Mode       MonitorMode
	Previous   MonitorMode
	Reason     string
	At         time.Time
}

// superLeg is a call's supervisor leg.
type superLeg struct {
	by      router.AgentID
	mode    MonitorMode
	leg     Leg
	dlg     *diago.DialogClientSession
	legIdx  int // index in call.legs
	started time.Time
}

// Monitor puts supervisor by on contact's connected call in mode: it rings
// the supervisor's registered phone and, once answered, adds it to the
// call; a supervisor already on the call only changes mode. It returns
// when the phone answered (or did not: ErrSupervisorNoPhone,
// ErrSupervisorNoAnswer, ErrSupervisorBusy, ErrSupervisorRejected), or at
// once with ErrNoCall, ErrNotTalking, ErrMonitored or
// ErrSupervisorElsewhere.
func (s *Service) Monitor(ctx context.Context, contact router.ContactID, by router.AgentID, mode MonitorMode) error {
	if mode == MonitorOff || mode > MonitorBarge {
		return fmt.Errorf("sip: bad monitor mode %d", mode)
	}
	s.mu.Lock()
	if on, ok := s.supOn[by]; ok && on != contact {
		s.mu.Unlock()
		return ErrSupervisorElsewhere
	}
	_, had := s.supOn[by]
	s.supOn[by] = contact
	s.mu.Unlock()
	release := func() {
		if had {
			return
		}
		s.mu.Lock()
		if s.supOn[by] == contact {
			delete(s.supOn, by)
		}
		s.mu.Unlock()
	}
	err := s.control(ctx, contact, ctlMsg{op: opMonitor, by: by, mode: mode})
	if !errors.Is(err, errNeedLeg) {
		if err != nil {
			release()
		}
		return err
	}
	c := s.lookupCall(contact)
	if c == nil {
		release()
		return ErrNoCall
	}
	sl, err := s.dialSupervisor(ctx, c, by, mode)
	if err != nil {
		release()
		return err
	}
	if err := s.control(ctx, contact, ctlMsg{op: opMonitorAttach, by: by, mode: mode, sup: sl}); err != nil {
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hangUpDialled(hctx, sl.dlg)
		cancel()
		s.dropLeg(sl.leg)
		release()
		return err
	}
	return nil
}

// StopMonitor takes supervisor by off contact's call (the phone gets BYE).
func (s *Service) StopMonitor(ctx context.Context, contact router.ContactID, by router.AgentID) error {
	return s.control(ctx, contact, ctlMsg{op: opMonitorStop, by: by})
}

// Supervising is the contact supervisor by is on (ok false: none).
func (s *Service) Supervising(by router.AgentID) (router.ContactID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.supOn[by]
	return id, ok
}

// dialSupervisor rings the supervisor's registered phone (OfferTimeout)
// and returns the answered leg.
func (s *Service) dialSupervisor(ctx context.Context, c *call, by router.AgentID, mode MonitorMode) (*superLeg, error) {
	uri, route, ok := s.lookupAgent(string(by))
	if !ok {
		return nil, ErrSupervisorNoPhone
	}
	var target sip.Uri
	if err := sip.ParseUri(strings.Trim(uri, "<>"), &target); err != nil {
		return nil, ErrSupervisorNoPhone
	}
	if !s.agentTargetAllowed(target) {
		s.drops.add(DropAgentNetwork)
		return nil, fmt.Errorf("%w (outside the agent networks)", ErrSupervisorNoPhone)
	}
	octx, cancelCause := context.WithCancelCause(context.Background())
	defer cancelCause(nil)
	var ringing, timedOut atomic.Bool
	stop := giveUp(&ringing, cancelCause)
	timer := time.AfterFunc(s.opts.OfferTimeout, func() { timedOut.Store(true); stop() })
	defer timer.Stop()
	unwatch := context.AfterFunc(ctx, stop)
	defer unwatch()
	dlg, err := s.dg.NewDialog(target, diago.NewDialogOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSupervisorNoAnswer, err)
	}
	med, err := dlg.Invite(octx, diago.InviteClientOptions{
		Originator: c.d,
		Headers: append(route,
			sip.NewHeader("X-Onecall-Contact", strconv.FormatUint(uint64(c.id), 10)),
			sip.NewHeader("X-Onecall-Monitor", mode.String()),
			sip.NewHeader("X-Onecall-Hotline", headerSafe(c.number)),
		),
		OnResponse: markRinging(&ringing),
	})
	if err := s.settleInvite(octx, dlg, err); err != nil {
		status := 0
		if res := dlg.InviteResponse; res != nil {
			status = res.StatusCode
		}
		switch {
		case timedOut.Load():
			return nil, ErrSupervisorNoAnswer
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case status == 486 || status == 600:
			return nil, ErrSupervisorBusy
		case status == 603 || status == 403:
			return nil, ErrSupervisorRejected
		}
		return nil, fmt.Errorf("%w: %v", ErrSupervisorNoAnswer, err)
	}
	leg, err := newDiagoLeg(dlg.Context(), s.clock, dlg.InviteRequest.CallID().Value(), med, dialledHangup(dlg))
	if err != nil {
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hangUpDialled(hctx, dlg)
		cancel()
		return nil, fmt.Errorf("%w: media: %v", ErrSupervisorNoAnswer, err)
	}
	s.addLeg(leg, clientDialogPeer(dlg))
	return &superLeg{by: by, mode: mode, leg: leg, dlg: dlg, started: time.Now()}, nil
}

// monitorCtl runs a supervisor control on the call goroutine. A call in
// a consult (the citizen held, or an interpreter still ringing) takes no
// supervisor; a conference or an interpreted three-way call takes one as
// a fourth party of its mixer (supervise_media.go).
func (c *call) monitorCtl(m ctlMsg) error {
	switch m.op {
	case opMonitor, opMonitorAttach:
		if (c.consult != nil || c.interp != nil) && c.threeWayMix() == nil {
			return ErrConsultActive // a consult (held citizen) or an interpreter still ringing
		}
	default:
	}
	switch m.op {
	case opMonitor:
		if c.sup == nil {
			return errNeedLeg
		}
		if c.sup.by != m.by {
			return ErrMonitored
		}
		c.setMonitorMode(m.mode)
		return nil
	case opMonitorAttach:
		if c.sup != nil {
			if c.sup.by == m.by {
				// Two consoles of one supervisor raced: keep the first leg.
				c.setMonitorMode(m.mode)
				return ErrSupervisorElsewhere
			}
			return ErrMonitored
		}
		c.attachSupervisor(m.sup)
		return nil
	case opMonitorStop:
		if c.sup == nil || c.sup.by != m.by {
			return ErrNotMonitoring
		}
		c.endMonitor(MonitorEndConsole)
		return nil
	default:
	}
	return nil
}

// attachSupervisor adds an answered supervisor leg to the call.
func (c *call) attachSupervisor(sl *superLeg) {
	c.sup = sl
	c.rec.Legs++
	sl.legIdx = len(c.legs)
	c.legs = append(c.legs, store.CallLeg{Role: "supervisor", URI: sl.dlg.InviteRequest.Recipient.String(),
		CallID: sl.leg.CallID(), Started: sl.started, By: string(sl.by),
		Steps: []store.LegStep{{At: sl.started, Mode: sl.mode.String()}}})
	c.log.Info("supervisor joined", "supervisor", sl.by, "mode", sl.mode.String())
	c.monitorEvent(sl.mode, MonitorOff, "")
	c.applyHearing()
}

func (c *call) setMonitorMode(m MonitorMode) {
	old := c.sup.mode
	if old == m {
		return
	}
	c.sup.mode = m
	now := time.Now()
	if i := c.sup.legIdx; i < len(c.legs) {
		c.legs[i].Steps = append(c.legs[i].Steps, store.LegStep{At: now, Mode: m.String()})
	}
	c.log.Info("supervisor mode", "supervisor", c.sup.by, "mode", m.String(), "previous", old.String())
	c.applyHearing()
	c.monitorEvent(m, old, "")
}

// endMonitor drops the supervisor leg (BYE unless the phone already hung
// up) and restores the plain call.
func (c *call) endMonitor(reason string) {
	sl := c.sup
	if sl == nil {
		return
	}
	c.sup = nil
	if tm := c.threeWayMix(); tm != nil {
		tm.leave(sl.leg) // the three talk on in their mixer
	}
	c.applyHearing()
	rx, tx := sl.leg.Counters()
	if i := sl.legIdx; i < len(c.legs) {
		c.legs[i].Ended = time.Now()
		c.legs[i].RTP = store.RTPStats{PacketsReceived: rx, PacketsSent: tx}
		c.legs[i].Cause = reason
	}
	c.s.dropLeg(sl.leg)
	if sl.leg.Context().Err() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = sl.leg.Hangup(ctx)
		cancel()
	}
	c.s.mu.Lock()
	if c.s.supOn[sl.by] == c.id {
		delete(c.s.supOn, sl.by)
	}
	c.s.mu.Unlock()
	c.log.Info("supervisor left", "supervisor", sl.by, "reason", reason)
	prev := sl.mode
	sl.mode = MonitorOff
	c.monitorEventBy(sl.by, MonitorOff, prev, reason)
}

// supDone is the supervisor leg's end (nil without one).
func (c *call) supDone() <-chan struct{} {
	if c.sup == nil {
		return nil
	}
	return c.sup.leg.Context().Done()
}

// supSilent ends a supervisor leg whose phone went silent (killed, network
// gone): the call goes on.
func (c *call) supSilent(now time.Time) {
	if c.sup != nil && !c.sup.leg.OnHold() && now.Sub(c.sup.leg.LastRTP()) > c.s.opts.NoRTPTimeout {
		c.log.Warn("no RTP from supervisor phone", "supervisor", c.sup.by)
		c.endMonitor(MonitorEndPhoneLost)
	}
}

func (c *call) monitorEvent(mode, prev MonitorMode, reason string) {
	c.monitorEventBy(c.sup.by, mode, prev, reason)
}

// monitorEventBy writes the contact event and tells the console.
func (c *call) monitorEventBy(by router.AgentID, mode, prev MonitorMode, reason string) {
	now := time.Now()
	state := "supervisor_" + mode.String()
	why := reason
	if mode == MonitorOff {
		state = "supervisor_left"
	} else if prev != MonitorOff {
		why = "from " + prev.String()
	}
	if st := c.s.opts.Store; st != nil {
		if err := st.Enqueue(store.ContactEvent{Contact: uint64(c.id), At: now, State: state, Queue: c.queue,
			Agent: string(by), Reason: why}); err != nil {
			c.log.Warn("supervisor event not queued", "err", err)
		}
	}
	if f := c.s.opts.OnMonitor; f != nil {
		f(MonitorEvent{Contact: c.id, Supervisor: by, Agent: c.agent, Mode: mode, Previous: prev, Reason: reason, At: now})
	}
}

package sip

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"onecall/router"
	"onecall/store"
)

// Blind transfer to an outside number. The agent (console or REFER) names
// a number the line's transfer_numbers allow; the citizen hears hold music
// while the number is dialled through the outbound trunk with the line's
// caller ID. On answer the citizen is bridged to the outside leg (the same
// Leg.Connect bridge placed callbacks use), the agent leg gets its BYE and
// routing closes the contact transferred-out (the agent goes to wrap-up);
// the call then lasts until either side hangs up. When the number is not
// reached the citizen goes back to the agent, or back to the queue if the
// agent has left meanwhile, and the agent gets ErrOutsideFailed.

// transferAllowed reports whether the line allows number, compared digit
// for digit after the trunk's normalisation (NationalNumber).
func (s *Service) transferAllowed(line, number string) (Line, bool) {
	if s.opts.Lines == nil {
		return Line{}, false
	}
	l, ok := s.opts.Lines.Line(line)
	if !ok {
		return Line{}, false
	}
	want, err := NationalNumber(number)
	if err != nil || want == "" {
		return l, false
	}
	for _, n := range l.TransferNumbers {
		if got, err := NationalNumber(n); err == nil && got == want {
			return l, true
		}
	}
	return l, false
}

// transferOut runs on the call goroutine (phase talking, agent leg up). It
// answers the agent phone's REFER itself: 202 once the number is accepted,
// the outcome by NOTIFY.
func (c *call) transferOut(ctx context.Context, m ctlMsg) error {
	num := m.to.Number
	refuse := func(err error) error {
		if m.refer != nil {
			m.refer.respond(c, err)
		}
		return err
	}
	if !c.s.CanDial() {
		return refuse(ErrNoOutside)
	}
	line, ok := c.s.transferAllowed(c.number, num)
	if !ok {
		return refuse(fmt.Errorf("%w: %q", ErrNumberNotAllowed, num))
	}
	if m.refer != nil && !m.refer.answer(sip.StatusAccepted, "Accepted") {
		return ErrNotTalking
	}
	callerID := line.CallerID
	if callerID == "" {
		callerID = c.number
	}
	agentDlg := c.agentDlg
	notify := func(code int, reason string) {
		if m.refer == nil || agentDlg == nil {
			return
		}
		nctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := notifyRefer(nctx, agentDlg, code, reason); err != nil {
			c.log.Info("REFER NOTIFY failed", "err", err)
		}
	}
	c.log.Info("transfer out: dialling", "number", num, "agent", c.agent)
	// The citizen hears hold music; the agent hears nothing meanwhile.
	c.unbridge()
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	oc, err := c.s.dial(dctx, DialRequest{Number: num, CallerID: callerID, originator: originFromServer(c.d)})
	agentLeft := c.agentLeg == nil || c.agentLeg.Context().Err() != nil
	if err != nil {
		outcome := DialOutcomeOf(err)
		c.log.Info("transfer out failed", "number", num, "outcome", outcome.String(), "err", err)
		err = fmt.Errorf("%w (%s): %w", ErrOutsideFailed, outcome.String(), err)
		if ctx.Err() != nil {
			return err // the citizen hung up: the loop ends the call
		}
		notify(sip.StatusServiceUnavailable, "Service Unavailable")
		if !agentLeft {
			c.bridge()
			return err
		}
		// The agent left while it rang: back to the queue.
		c.agentGone()
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, qerr := c.s.hub.Do(dctx, router.ContactTransferred{Contact: c.id, ToQueue: c.queue, By: m.by, Note: m.note})
		dcancel()
		if qerr != nil {
			c.log.Warn("transfer out failed and the contact could not be requeued", "err", qerr)
		}
		c.phase = phaseWaiting
		c.held, c.phoneHeld = false, false
		c.startMedia(c.holdPrompt())
		return err
	}
	c.log.Info("transfer out connected", "number", num, "trunk", oc.trunk)
	notify(sip.StatusOK, "OK")
	c.stopMedia()
	c.hangupAgent()
	c.held, c.phoneHeld = false, false
	c.outside = oc
	c.phase = phaseOutside
	c.s.addLeg(oc.leg, clientDialogPeer(oc.dlg))
	c.legs = append(c.legs, store.CallLeg{Role: "outside", URI: "tel:" + oc.to, CallID: oc.leg.CallID(), Started: time.Now()})
	c.leg.Connect(oc.leg)
	oc.leg.Connect(c.leg)
	tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer tcancel()
	if _, err := c.s.hub.Do(tctx, router.ContactTransferred{Contact: c.id, ToNumber: oc.to, By: m.by, Note: m.note}); err != nil {
		// finish() ends it transferred-out when the call is over.
		c.log.Warn("routing not told of the transfer out", "err", err)
	} else {
		c.closed = true
	}
	return nil
}

// endOutside hangs up the outside leg (idempotent) and records its counters.
func (c *call) endOutside() {
	oc := c.outside
	if oc == nil {
		return
	}
	c.outside = nil
	c.leg.Connect(nil)
	oc.leg.Connect(nil)
	rx, tx := oc.leg.Counters()
	id := oc.leg.CallID()
	for i := range c.legs {
		if c.legs[i].Role == "outside" && c.legs[i].CallID == id && c.legs[i].Ended.IsZero() {
			c.legs[i].Ended = time.Now()
			c.legs[i].RTP = store.RTPStats{PacketsReceived: rx, PacketsSent: tx}
		}
	}
	oc.hangup()
	c.s.dropLeg(oc.leg)
}

// originFromServer presents the codec the citizen leg settled on (our 2xx
// SDP) as the originator of the outside INVITE, so the two legs bridge
// byte for byte.
func originFromServer(d *diago.DialogServerSession) diago.DialogSession {
	res := d.InviteResponse
	if res == nil || len(res.Body()) == 0 {
		return nil
	}
	req := sip.NewRequest(sip.INVITE, d.InviteRequest.Recipient)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(res.Body())
	return codecOrigin{DialogSession: d, d: &sipgo.Dialog{InviteRequest: req}}
}

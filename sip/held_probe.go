package sip

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"onecall/router"
)

// Held legs send no RTP, so the no-RTP watchdog (loop.go rtpDead) cannot
// tell a held phone from a dead one. While a leg is held (its last offer was
// sendonly or inactive), the call probes it with an in-dialog OPTIONS every
// HeldProbeInterval; a probe that gets no final response within the
// interval, a transport error, a 408 or a 481 is a failure, and
// HeldProbeFailures failures in a row end the call (cause held-citizen-lost
// or held-agent-lost). Any other response, even 405 or 501, proves the
// peer alive. The first probe goes one interval into the hold (short holds
// are never probed); the next starts at the first watchdog tick (1 s) after
// the previous one ended and at most once per interval, so a held leg whose
// peer died is ended within (HeldProbeFailures + 1) × HeldProbeInterval +
// HeldProbeFailures seconds (32 s with the defaults).

const (
	causeHeldCitizenLost = "held-citizen-lost"
	causeHeldAgentLost   = "held-agent-lost"
)

// errPeerGone is a probe answered 408 or 481: the dialog is gone at the peer.
var errPeerGone = errors.New("sip: held peer answered the probe 408/481")

// heldWatch is one leg's probe state; owned by the call goroutine.
type heldWatch struct {
	leg     Leg // the leg watched (the agent leg changes on transfer)
	fails   int
	next    time.Time
	pending chan error // the probe in flight, nil if none
}

// check runs at each watchdog tick. It starts a probe when one is due (one
// in flight at most, bounded by the interval and the leg's context) and
// returns true when the peer is lost.
func (w *heldWatch) check(ctx context.Context, now time.Time, leg Leg, interval time.Duration, failures int,
	probe func(context.Context) error) bool {
	if leg == nil || !leg.OnHold() {
		*w = heldWatch{}
		return false
	}
	if w.leg != leg { // newly held: the first probe after one interval
		*w = heldWatch{leg: leg, next: now.Add(interval)}
		return false
	}
	if w.pending != nil {
		select {
		case err := <-w.pending:
			w.pending = nil
			if err != nil {
				w.fails++
			} else {
				w.fails = 0
			}
		default:
		}
	}
	if w.fails >= failures {
		return true
	}
	if w.pending == nil && !now.Before(w.next) {
		ch := make(chan error, 1)
		w.pending, w.next = ch, now.Add(interval)
		go func() {
			pctx, cancel := context.WithTimeout(ctx, interval)
			defer cancel()
			ch <- probe(pctx)
		}()
	}
	return false
}

// heldProbes counts probe outcomes (metrics, tests).
type heldProbes struct{ ok, failed atomic.Uint64 }

func (h *heldProbes) count(err error) error {
	if err != nil {
		h.failed.Add(1)
	} else {
		h.ok.Add(1)
	}
	return err
}

// optionsResult maps an in-dialog OPTIONS outcome to a probe result.
func optionsResult(res *sip.Response, err error) error {
	if err != nil {
		return err
	}
	if res.StatusCode == sip.StatusRequestTimeout || res.StatusCode == sip.StatusCallTransactionDoesNotExists {
		return fmt.Errorf("%w (%d)", errPeerGone, res.StatusCode)
	}
	return nil
}

// probeCitizen sends an in-dialog OPTIONS to the citizen.
func (c *call) probeCitizen(ctx context.Context) error {
	cont := c.d.RemoteContact()
	if cont == nil {
		return errors.New("sip: citizen dialog without Contact")
	}
	req := sip.NewRequest(sip.OPTIONS, cont.Address)
	req.SetTransport(c.d.InviteRequest.Transport())
	return c.s.heldProbes.count(optionsResult(c.d.DialogServerSession.Do(ctx, req)))
}

// agentProbe returns the OPTIONS probe for the current agent leg.
func (c *call) agentProbe() func(context.Context) error {
	dlg := c.agentDlg
	return func(ctx context.Context) error {
		if dlg == nil {
			return errors.New("sip: no agent dialog")
		}
		cont := dlg.RemoteContact()
		if cont == nil {
			return errors.New("sip: agent dialog without Contact")
		}
		req := sip.NewRequest(sip.OPTIONS, cont.Address)
		return c.s.heldProbes.count(optionsResult(dlg.DialogClientSession.Do(ctx, req)))
	}
}

// heldLost probes held legs (watchdog tick) and ends the call when a held
// peer is gone; true when the call is over.
func (c *call) heldLost(now time.Time) bool {
	o := &c.s.opts
	if c.heldCitizen.check(c.leg.Context(), now, c.leg, o.HeldProbe.Interval, o.HeldProbe.Failures, c.probeCitizen) {
		c.log.Warn("held citizen stopped answering in-dialog OPTIONS", "probes", o.HeldProbe.Failures)
		c.rec.Cause = causeHeldCitizenLost
		// The peer is gone: a short BYE attempt, not the usual 5 s.
		c.stopMedia()
		hctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = c.leg.Hangup(hctx)
		cancel()
		return true
	}
	var agentCtx context.Context
	if c.agentLeg != nil {
		agentCtx = c.agentLeg.Context()
	}
	if c.heldAgent.check(agentCtx, now, c.agentLeg, o.HeldProbe.Interval, o.HeldProbe.Failures, c.agentProbe()) {
		c.log.Warn("held agent phone stopped answering in-dialog OPTIONS", "agent", c.agent, "probes", o.HeldProbe.Failures)
		c.rec.Cause = causeHeldAgentLost
		c.endReason = router.EndAgentLost
		// Forget the dead phone now (its BYE in the background, bounded)
		// so that finish() frees the agent without waiting on it.
		l := c.agentLeg
		c.agentGone()
		go func() {
			hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = l.Hangup(hctx)
		}()
		c.hangupCitizen()
		return true
	}
	return false
}

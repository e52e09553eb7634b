package sip

import (
	"context"
	"errors"
	"time"

	"onecall/router"
)

// ErrNoOutside means a transfer to an outside number is not available: no
// outbound trunk is configured (transfer_out.go).
var ErrNoOutside = errors.New("sip: transfer to an outside number is not available")

// ErrNumberNotAllowed means the line's transfer_numbers do not list the
// number.
var ErrNumberNotAllowed = errors.New("sip: the line does not allow transfers to that number")

// ErrOutsideFailed means the outside number was dialled but not reached
// (busy, no answer, rejected, trunk failure); it wraps the *DialError.
// The citizen is back with the agent, or back in the queue when the agent
// has left meanwhile.
var ErrOutsideFailed = errors.New("sip: the outside number was not reached")

// ErrBadTarget means a transfer named no target, or more than one.
var ErrBadTarget = errors.New("sip: a transfer needs exactly one queue, agent or number")

// checkTarget is ErrBadTarget unless t names exactly one target.
func checkTarget(t router.TransferTarget) error {
	if t.Targets() != 1 {
		return ErrBadTarget
	}
	return nil
}

// blindTransfer asks routing to move the talking contact (call goroutine).
// The media side is leaveAgent, run on success.
func (c *call) blindTransfer(ctx context.Context, m ctlMsg) error {
	if err := checkTarget(m.to); err != nil {
		return err
	}
	if m.to.Number != "" {
		return c.transferOut(ctx, m)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := c.s.hub.Do(dctx, router.ContactTransferred{Contact: c.id, ToQueue: m.to.Queue, ToAgent: m.to.Agent,
		By: m.by, Note: m.note})
	return err
}

// leaveAgent ends the agent's part after a transfer: the agent leg gets its
// BYE and the citizen hears queue media until the next agent answers. It is
// idempotent: both the transfer itself and the router's Transferred command
// (whoever transferred: console, phone or another service) lead here.
func (c *call) leaveAgent(queue string) {
	if c.phase != phaseTalking {
		return
	}
	c.log.Info("call transferred", "agent", c.agent, "queue", queue)
	c.hangupAgent()
	c.phase = phaseWaiting
	c.held, c.phoneHeld = false, false
	if queue != "" {
		c.queue = queue
	}
	c.startMedia(c.holdPrompt())
}

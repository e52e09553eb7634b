package sip

import (
	"errors"
	"fmt"

	"onecall/router"
)

// The conference step of a consult: the citizen, the agent and the
// consulted party in one mix (mixer.go: on the media clock, everybody
// hears everybody, nobody hears themself). The agent leaves with complete
// (citizen and consulted party talk on, bridged two-way again) or by
// hanging up (the same); the consulted party leaves with cancel or by
// hanging up (agent and citizen talk on); the citizen hanging up ends
// every leg.

// ErrNoConference means the conference step is not available.
var ErrNoConference = errors.New("sip: conference is not available")

// conference mixes the three legs (call goroutine; the consult answered).
func (c *call) conference() error {
	k := c.consult
	if c.agentLeg == nil || k == nil || k.leg == nil {
		return ErrNoConference
	}
	c.stopMedia()
	m := newMixer(c.s.clock)
	for _, l := range []Leg{c.leg, c.agentLeg, k.leg} {
		if err := m.join(l, true); err != nil {
			m.close()
			// Back as before: agent and target talk, the citizen holds.
			c.agentLeg.Connect(k.leg)
			k.leg.Connect(c.agentLeg)
			c.startMedia()
			return fmt.Errorf("%w: %w", ErrNoConference, err)
		}
	}
	c.mix = m
	k.conf = true
	c.held, c.phoneHeld = false, false
	c.log.Info("conference", "agent", c.agent, "consulted", k.to.String())
	_ = c.consultUpdate(router.ConsultConference, "")
	return nil
}

// leaveConference drops the consulted party from the conference: agent
// and citizen talk on.
func (c *call) leaveConference(reason string) error {
	c.dropConsult()
	_ = c.consultUpdate(router.ConsultLeft, reason)
	c.bridge()
	return nil
}

// unmix takes the call's legs out of the conference mix, if any; the
// caller bridges again.
func (c *call) unmix() {
	if c.mix == nil {
		return
	}
	c.mix.close()
	c.mix = nil
}

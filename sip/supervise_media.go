package sip

// The supervisor leg's media: while a supervisor is on the call, citizen,
// agent and supervisor are parties of one mixer (mixer.go) on the media
// clock, and the mode is the hearing matrix:
//
//	            citizen hears  agent hears  supervisor hears
//	listen      agent          citizen      citizen, agent
//	whisper     agent          citizen, sv  citizen, agent
//	barge       agent, sv      citizen, sv  citizen, agent
//
// A mode change only re-sets the matrix (same legs, no new INVITE). On
// hold (console or phone) nobody hears the citizen and the citizen hears
// only the hold music; the supervisor still hears the agent. A muted agent
// (console mute) is not heard by the citizen. When the
// supervisor leaves, the mixer closes and the two legs are bridged again.

// applyHearing sets who hears whom for the call's parties after a change
// of supervisor, mode or hold.
func (c *call) applyHearing() {
	if c.sup == nil || c.agentLeg == nil {
		if c.supMix != nil {
			c.supMix.close()
			c.supMix = nil
			if !c.held && !c.phoneHeld && c.agentLeg != nil {
				c.plainBridge()
			}
		}
		return
	}
	if c.supMix == nil {
		m := newMixer(c.s.clock)
		for _, p := range []struct {
			l     Leg
			heard bool
		}{{c.leg, true}, {c.agentLeg, true}, {c.sup.leg, false}} {
			if err := m.join(p.l, p.heard); err != nil {
				c.log.Warn("supervisor mix failed", "err", err)
				m.close()
				if !c.held && !c.phoneHeld {
					c.plainBridge()
				}
				c.endMonitor(MonitorEndMedia)
				return
			}
		}
		c.supMix = m
	}
	cit, ag, sv := c.leg, c.agentLeg, c.sup.leg
	held := c.held || c.phoneHeld
	for _, h := range []struct {
		listener, talker Leg
		on               bool
	}{
		{cit, ag, !held && !c.muted}, {ag, cit, !held},
		{sv, cit, !held}, {sv, ag, true},
		{ag, sv, c.sup.mode >= MonitorWhisper},
		{cit, sv, c.sup.mode == MonitorBarge && !held},
	} {
		_ = c.supMix.setHears(h.listener, h.talker, h.on)
	}
}

// remix rebuilds the supervisor's mixer after bridge or unbridge changed
// the legs' connections.
func (c *call) remix() {
	if c.supMix != nil {
		c.supMix.close()
		c.supMix = nil
	}
	c.applyHearing()
}

// plainBridge connects citizen and agent directly again (a muted agent
// still hears the citizen but is not heard).
func (c *call) plainBridge() {
	c.leg.Connect(c.agentLeg)
	if c.muted {
		c.agentLeg.Connect(nil)
		return
	}
	c.agentLeg.Connect(c.leg)
}

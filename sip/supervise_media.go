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

// During a conference or an interpreted three-way call the supervisor is
// a fourth party of that call's mixer, with the same modes: in listen
// nobody hears the supervisor, in whisper only the agent does, in barge
// all three do; the supervisor hears all three. When the three-way ends
// (the third party leaves or is dropped), bridge() rebuilds the
// supervisor's own mixer of citizen and agent; starting a consult or an
// interpreter ends the supervisor's leg (MonitorEndConsult).

// threeWayMix is the mixer of a conference or an interpreted three-way
// call, nil when the call has none.
func (c *call) threeWayMix() *mixer {
	if c.mix != nil {
		return c.mix
	}
	if c.interp != nil && c.interp.mix != nil {
		return c.interp.mix
	}
	return nil
}

// threeWayHearing puts the supervisor into the call's three-way mixer in
// its mode (false when there is none).
func (c *call) threeWayHearing() bool {
	tm := c.threeWayMix()
	if tm == nil || c.sup == nil {
		return false
	}
	sv := c.sup.leg
	if !tm.has(sv) {
		if err := tm.join(sv, false); err != nil {
			c.log.Warn("supervisor three-way mix failed", "err", err)
			c.endMonitor(MonitorEndMedia)
			return true
		}
	}
	for _, l := range tm.legs() {
		if l == sv {
			continue
		}
		on := c.sup.mode == MonitorBarge || (c.sup.mode == MonitorWhisper && l == c.agentLeg)
		_ = tm.setHears(l, sv, on)
		_ = tm.setHears(sv, l, true)
	}
	return true
}

// applyHearing sets who hears whom for the call's parties after a change
// of supervisor, mode or hold.
func (c *call) applyHearing() {
	if c.threeWayHearing() {
		return
	}
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

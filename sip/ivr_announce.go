package sip

import "onecall/router"

// announceFor is what a waiting caller hears for an Announce: with no agent
// working the queue, that nobody can take the call now and the hold prompt
// (which offers the callback) instead of an invented wait; else the place
// and the estimate, each unless the queue's announce settings leave it out.
func (c *call) announceFor(m router.Announce) []*clip {
	ps := c.s.prompts
	if m.NoAgent {
		return []*clip{ps.get(c.voice, "noagent"), ps.get(c.voice, "hold")}
	}
	all := c.announceClips(m.Position, m.EstimatedWait)
	// announceClips: "position", digits..., "minutes", digits...
	split := 1
	for split < len(all) && all[split] != ps.get(c.voice, "minutes") {
		split++
	}
	var out []*clip
	if !m.HidePosition {
		out = append(out, all[:split]...)
	}
	if !m.HideWait {
		out = append(out, all[split:]...)
	}
	return out
}

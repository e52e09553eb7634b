package router

import "slices"

// reload replaces queues, hotlines and agent definitions. Live agents keep
// their state; waiting contacts keep their place (original arrival) in the
// queue of the same id, restart escalation and overflow from their arrival
// (steps already due apply on the next Tick), or close with EndNoQueue when
// their queue is gone. Offered and talking contacts keep their queue.
func (e *Engine) reload(cfg Config) error {
	cfg = withDefaults(cfg)
	if err := validate(&cfg); err != nil {
		return err
	}
	old := slices.Clone(e.queueList) // build reuses queueList's array
	e.cfg = cfg
	for _, a := range e.agents {
		a.mem = nil // old queues' heaps are dropped with them
	}
	e.build()
	for _, q := range old {
		q.orphan = true
		q.annSet = false
	}
	defs := make(map[AgentID]AgentDef, len(cfg.Agents))
	for _, d := range cfg.Agents {
		defs[d.ID] = d
	}
	for _, id := range sortedKeys(defs) {
		if e.agents[id] == nil {
			a := &agent{id: id}
			a.ID = string(id)
			a.Base = 2 // not ready
			e.agents[id] = a
		}
	}
	for _, id := range sortedKeys(e.agents) {
		a := e.agents[id]
		if d, ok := defs[id]; ok {
			e.setDef(a, d)
		} else if !a.LoggedIn && a.Active.Total() == 0 {
			delete(e.agents, id)
			continue
		}
		e.attach(a)
	}
	// Drop routing timers that point at old queues; keep offers, wrap-ups,
	// pins, parks and bounds.
	kept := e.timers[:0]
	for _, t := range e.timers {
		if t.kind != tEscalate && t.kind != tOverflow && t.kind != tAnnounce {
			kept = append(kept, t)
		}
	}
	e.timers = timerHeap{}
	for _, t := range kept {
		e.timers.push(t)
	}
	for _, id := range sortedKeys(e.contacts) {
		c := e.contacts[id]
		nq := e.queues[c.q.def.ID]
		if c.state != Waiting {
			if nq != nil {
				c.q = nq
			}
			continue
		}
		e.unlist(c)
		c.guests = nil
		if nq == nil {
			e.close(c, EndNoQueue, "queue "+c.q.def.ID+" removed by config reload")
			continue
		}
		e.shiftWaiting(c, nq)
		c.q = nq
		c.escIdx = 0
		c.reqs = slices.Clone(nq.strict)
		e.scheduleSteps(c)
		e.relist(c)
		e.queueRoute(c)
	}
	for _, id := range sortedKeys(e.agents) {
		e.queueFeedIfFree(e.agents[id])
	}
	for _, q := range e.queueList {
		e.markDirty(q)
	}
	return nil
}

func (e *Engine) queueFeedIfFree(a *agent) {
	if a.Available(1, true) || a.Available(2, true) {
		e.queueFeed(a)
	}
}

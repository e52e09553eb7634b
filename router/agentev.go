package router

import (
	"fmt"
	"strconv"
	"time"

	"onecall/agents"
	"onecall/queues"
)

func (e *Engine) agentFor(id AgentID) (*agent, error) {
	a := e.agents[id]
	if a == nil || !a.known {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAgent, id)
	}
	return a, nil
}

func (e *Engine) login(ev AgentLoggedIn) error {
	a, err := e.agentFor(ev.Agent)
	if err != nil {
		return err
	}
	if a.def.Disabled {
		return fmt.Errorf("%w: agent %s is disabled", ErrInvalidState, a.id)
	}
	a.LoggedIn = true
	a.HasNext = false
	if ev.Ready {
		if a.Base != agents.Ready {
			a.IdleSince = e.now
		}
		a.Base, a.Reason = agents.Ready, ""
	} else {
		a.Base, a.Reason = agents.NotReady, "login"
	}
	e.agentChanged(a, "logged in", true)
	return nil
}

func (e *Engine) logout(ev AgentLoggedOut) error {
	a, err := e.agentFor(ev.Agent)
	if err != nil {
		return err
	}
	why := "logged out"
	if ev.By != "" {
		why += " by " + string(ev.By)
	}
	a.LoggedIn = false
	a.HasNext = false
	a.Base, a.Reason = agents.NotReady, why
	withdrew := false
	for _, c := range append([]*contact(nil), a.contacts...) {
		if c.state == Offered {
			e.withdraw(c, why, false)
			e.requeue(c, a, "offer withdrawn: agent "+why)
			withdrew = true
		}
	}
	for _, c := range append([]*contact(nil), a.pinned...) {
		e.unpin(c)
		e.relist(c)
		e.queueRoute(c)
	}
	if a.InWrap {
		a.InWrap = false
		a.WrapDur = 0
	}
	e.agentChanged(a, why, !withdrew) // a withdrawal already reported the change
	return nil
}

func (e *Engine) stateRequest(ev AgentStateRequested) error {
	a, err := e.agentFor(ev.Agent)
	if err != nil {
		return err
	}
	if ev.State != Ready && ev.State != NotReady {
		return fmt.Errorf("%w: requested state %v", ErrInvalidState, ev.State)
	}
	if !a.LoggedIn {
		return fmt.Errorf("%w: agent %s is offline%.0w", ErrInvalidState, a.id, ErrLoggedOut)
	}
	reason := ev.Reason
	if ev.State == NotReady && reason == "" {
		reason = "not ready"
	}
	if ev.State == Ready {
		reason = ""
	}
	if ev.Next && !a.Idle() {
		a.HasNext, a.Next, a.NextReason = true, agents.State(ev.State), reason
		if ev.State == NotReady {
			e.releasePins(a)
		}
		e.agentChanged(a, "next state requested", true)
		return nil
	}
	a.HasNext = false
	if ev.State == Ready && a.Base != agents.Ready {
		a.IdleSince = e.now
	}
	a.Base, a.Reason = agents.State(ev.State), reason
	if ev.State == NotReady {
		e.releasePins(a)
	}
	why := "requested"
	if ev.By != "" {
		why += " by " + string(ev.By)
	}
	e.agentChanged(a, why, true)
	return nil
}

// releasePins sends the contacts waiting for a (its preferred or named
// agent) to their queues: an agent going not ready will not take them
// within the wait.
func (e *Engine) releasePins(a *agent) {
	for _, c := range append([]*contact(nil), a.pinned...) {
		e.unpin(c)
		e.setContactState(c, Waiting, "stopped waiting for "+string(a.id)+": not ready")
		e.relist(c)
		e.queueRoute(c)
	}
}

func (e *Engine) wrapDone(ev WrapUpDone) error {
	a, err := e.agentFor(ev.Agent)
	if err != nil {
		return err
	}
	if !a.InWrap {
		return fmt.Errorf("%w: agent %s is %v, not in wrap-up", ErrInvalidState, a.id, AgentState(a.State))
	}
	e.endWrap(a, "wrap-up done")
	return nil
}

func (e *Engine) endWrap(a *agent, why string) {
	a.InWrap = false
	a.WrapDur = 0
	a.IdleSince = e.now
	e.agentChanged(a, why, true)
}

func (e *Engine) upsert(d AgentDef) error {
	if d.ID == "" {
		return fmt.Errorf("%w: empty agent id", ErrInvalidConfig)
	}
	if err := validateAgent(d); err != nil {
		return err
	}
	d = agentDefaults(d)
	a := e.agents[d.ID]
	if a == nil {
		a = &agent{id: d.ID}
		a.ID = string(d.ID)
		a.Base = agents.NotReady
		e.agents[d.ID] = a
	} else {
		e.detach(a)
	}
	e.setDef(a, d)
	e.attach(a)
	e.agentChanged(a, "definition changed", false)
	return nil
}

// feed lets an agent that can take a contact pick one: its pinned
// (preferred / transferred-to) contacts first, then across every queue it
// serves the head with the highest effective priority, then the longest
// weighted wait, then the earliest arrival and lowest id.
func (e *Engine) feed(a *agent) {
	for _, c := range a.pinned {
		if c.state == Waiting && a.Available(agents.Channel(c.ch), c.q.def.ChatWhileBusy) {
			e.offer(c, a, c.reason+"; agent ready", []Why{c.pinWhy, {Code: WhyAgentReady}})
			return
		}
	}
	e.cands = e.cands[:0]
	for i := range a.mem {
		q := a.mem[i].q
		sOK := a.mem[i].sOK
		for _, ch := range [2]Channel{Voice, Chat} {
			if !a.Available(agents.Channel(ch), q.def.ChatWhileBusy) {
				continue
			}
			for _, b := range q.buckets[ch] {
				if b.list.Len() > 0 && ((b.strict && sOK) || a.Skills.Meets(b.reqs)) {
					e.consider(a, q, &b.list, "")
				}
			}
			if q.guests[ch].Len() > 0 {
				e.consider(a, q, &q.guests[ch], "via ")
			}
			if q.guarded[ch].Len() > 0 && e.meetsSL(q) {
				e.consider(a, q, &q.guarded[ch], "guarded overflow to ")
			}
		}
	}
	if len(e.cands) == 0 {
		return
	}
	best := 0
	for i := 1; i < len(e.cands); i++ {
		if e.cands[i].better(&e.cands[best]) {
			best = i
		}
	}
	b := e.cands[best]
	c := b.c
	r := e.rbuf[:0] // reused: the reason is copied into a string below
	reqs := c.reqs
	var w []Why
	if b.how != "" {
		code := WhyOverflow
		if b.how != "via " {
			code = WhyGuardedOverflow
		}
		w = append(w, Why{Code: code, Queue: b.via.def.ID})
		r = append(r, b.how...)
		r = append(r, b.via.def.ID...)
		r = append(r, "; "...)
		reqs = b.via.strict
	}
	r = appendSkillText(r, a, reqs)
	r = append(r, "; agent free, took head of "...)
	r = append(r, b.via.def.ID...)
	r = append(r, ": priority "...)
	r = strconv.AppendInt(r, int64(b.prio), 10)
	r = append(r, ", waited "...)
	r = appendSecs(r, b.waited)
	r = append(r, ", best of "...)
	r = strconv.AppendInt(r, int64(len(e.cands)), 10)
	r = append(r, " queue heads"...)
	e.rbuf = r
	w = appendSkillWhy(w, a, reqs)
	w = append(w, Why{Code: WhyQueueHead, Queue: b.via.def.ID, Value: b.prio, Secs: secsOf(b.waited), Of: len(e.cands)})
	e.offer(c, a, string(r), w)
}

type cand struct {
	c      *contact
	via    *queue
	how    string
	prio   int
	waited time.Duration
	wwait  time.Duration
}

func (x *cand) better(y *cand) bool {
	if x.prio != y.prio {
		return x.prio > y.prio
	}
	if x.wwait != y.wwait {
		return x.wwait > y.wwait
	}
	if !x.c.arrived.Equal(y.c.arrived) {
		return x.c.arrived.Before(y.c.arrived)
	}
	return x.c.id < y.c.id
}

// consider adds the first contact of l that a may take (normally the head;
// contacts a just missed are passed over) to the candidates.
func (e *Engine) consider(a *agent, via *queue, l *queues.List, how string) {
	it := l.Peek()
	if it == nil {
		return
	}
	c := it.Owner.(*contact)
	if c != nil && e.skips(c, a) {
		c = nil
		l.Each(func(x *queues.Item) bool {
			y := x.Owner.(*contact)
			if e.skips(y, a) {
				return true
			}
			c = y
			return false
		})
	}
	if c == nil || c.state != Waiting {
		return
	}
	for i := range e.cands {
		if e.cands[i].c == c {
			return
		}
	}
	w := e.now.Sub(c.arrived)
	e.cands = append(e.cands, cand{
		c: c, via: via, how: how, waited: w,
		prio:  queues.Effective(c.q.def.Priority+c.prio, c.q.def.AgingPerMinute, w),
		wwait: w * time.Duration(via.def.Weight),
	})
}

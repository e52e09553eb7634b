package router

import (
	"fmt"
	"strconv"
	"time"

	"onecall/agents"
	"onecall/queues"
)

// transferPinWait is how long a contact transferred to a named agent waits
// for that agent before it falls back to the queue.
const transferPinWait = 2 * time.Minute

// maxOverflowHops bounds chains of full-queue overflows.
const maxOverflowHops = 3

func (e *Engine) arrive(ev ContactArrived) error {
	if _, dup := e.contacts[ev.Contact]; dup {
		return fmt.Errorf("%w: contact %d", ErrDuplicate, ev.Contact)
	}
	if err := e.refuseClosedChat(ev); err != nil {
		return err
	}
	if ev.Channel != Voice && ev.Channel != Chat {
		return fmt.Errorf("%w: channel %v", ErrInvalidState, ev.Channel)
	}
	c := &contact{
		id: ev.Contact, ch: ev.Channel, number: ev.Number, language: ev.Language,
		citizen: ev.Citizen, attrs: ev.Attrs, prio: ev.Priority, arrived: ev.Arrived,
		callback: ev.Callback && ev.Channel == Voice,
	}
	if c.arrived.IsZero() || c.arrived.After(e.now) {
		c.arrived = e.now
	}
	if len(ev.Skills) > 0 {
		c.reqs = toReqs(ev.Skills)
	}
	e.contacts[c.id] = c
	h := e.hotlines[ev.Number]
	qid := ev.Queue
	if qid == "" && h != nil {
		qid = h.def.DefaultQueue
	}
	q := e.queues[qid]
	if q == nil {
		c.q = &queue{def: QueueDef{ID: qid}, orphan: true}
		e.close(c, EndNoQueue, "no queue for number "+strconv.Quote(ev.Number)+" queue "+strconv.Quote(qid))
		return nil
	}
	if c.callback {
		// Booked while the line was open: it keeps its place whatever
		// the hours and the queue's limits now.
		e.enqueue(c, q, "callback booked to "+ev.Citizen)
		return nil
	}
	if h != nil && !h.open(e.now) {
		switch h.def.Closed {
		case ClosedOverflow:
			t := e.queues[h.def.ClosedTarget]
			e.emit(Overflowed{Contact: c.id, FromQueue: q.def.ID, ToQueue: t.def.ID, Reason: "hotline " + h.def.Number + " closed"})
			q = t
		case ClosedCallback:
			c.q = q
			c.parked = true
			e.setContactState(c, Waiting, "hotline "+h.def.Number+" closed: callback offered")
			e.emit(CallbackOffered{Contact: c.id, Reason: "hotline " + h.def.Number + " closed", Closed: true})
			e.addTimer(timer{at: e.now.Add(e.cfg.CallbackWait), kind: tPark, cid: c.id})
			return nil
		default:
			c.q = q
			e.close(c, EndRefusedClosed, "hotline "+h.def.Number+" closed")
			return nil
		}
	}
	e.admit(c, q, 0, "arrived")
	return nil
}

// full reports whether q cannot take another contact on ch.
func (e *Engine) full(q *queue, ch Channel) (bool, string) {
	if q.def.MaxWaiting > 0 && q.waiting >= q.def.MaxWaiting {
		return true, "queue " + q.def.ID + " full: " + strconv.Itoa(q.waiting) + " waiting"
	}
	// With nobody staffed the estimate is unknown: MaxWait does not refuse
	// (MaxWaiting and opening hours still apply).
	if q.def.MaxWait > 0 && e.staffed(q) > 0 {
		if w := e.ewt(q, ch, q.waiting+1); w > q.def.MaxWait {
			return true, "queue " + q.def.ID + " full: estimated wait " + secs(w) + " > " + secs(q.def.MaxWait)
		}
	}
	return false, ""
}

// admit applies q's limits, then enqueues c (arrival, overflow, transfer).
func (e *Engine) admit(c *contact, q *queue, hops int, why string) {
	if isFull, reason := e.full(q, c.ch); isFull {
		switch q.def.OnFull {
		case FullOverflow:
			if hops < maxOverflowHops {
				t := e.queues[q.def.FullTarget]
				e.emit(Overflowed{Contact: c.id, FromQueue: q.def.ID, ToQueue: t.def.ID, Reason: reason})
				e.admit(c, t, hops+1, "overflow from "+q.def.ID)
				return
			}
			reason += "; overflow chain too long"
		case FullCallback:
			e.emit(CallbackOffered{Contact: c.id, Reason: reason})
			e.enqueue(c, q, why+"; "+reason)
			return
		default: // FullRefuse
		}
		if c.state == Waiting && c.q != q {
			e.shiftWaiting(c, q)
		}
		c.q = q
		e.close(c, EndRefusedQueueFull, reason)
		return
	}
	e.enqueue(c, q, why)
}

// enqueue puts c in state Waiting in q (new queue: fresh escalation).
func (e *Engine) enqueue(c *contact, q *queue, why string) {
	if c.state == Waiting {
		e.unlist(c)
		e.shiftWaiting(c, q)
	}
	c.q = q
	if c.reqs == nil || c.escIdx > 0 {
		c.reqs = q.strict
	}
	c.escIdx = 0
	c.guests = nil
	q.stats.Entered(e.now)
	e.setContactState(c, Waiting, why)
	e.addTimer(timer{at: c.arrived.Add(e.cfg.MaxWaiting), kind: tBound, cid: c.id})
	e.scheduleSteps(c)
	if !e.tryPreferred(c) {
		e.relist(c)
		if len(e.toFeed) == 0 {
			e.route(c)
		} else {
			e.queueRoute(c) // agents freed by this event choose first
		}
	}
	if c.state == Waiting && !c.parked && !c.callback {
		pos := max(e.position(c), 1)
		c.annPos, c.annEWT = pos, e.ewt(q, c.ch, pos)
		e.emit(e.announceCmd(c.id, c.ch, q, pos, c.annEWT))
	}
}

func (e *Engine) scheduleSteps(c *contact) {
	if c.escIdx < len(c.q.def.Escalation) {
		st := c.q.def.Escalation[c.escIdx]
		e.addTimer(timer{at: c.arrived.Add(st.After), kind: tEscalate, cid: c.id, n: uint32(c.escIdx), q: c.q})
	}
	if c.escIdx == 0 {
		for i, o := range c.q.def.Overflow {
			e.addTimer(timer{at: c.arrived.Add(o.After), kind: tOverflow, cid: c.id, n: uint32(i), q: c.q})
		}
	}
}

// tryPreferred pins c to the agent the citizen talked to recently. It
// reports whether c is now offered or pinned.
func (e *Engine) tryPreferred(c *contact) bool {
	if e.cfg.PreferredAgentWindow <= 0 || c.citizen == "" {
		return false
	}
	p, ok := e.preferred[c.citizen]
	if !ok || e.now.Sub(p.at) > e.cfg.PreferredAgentWindow || !p.agent.LoggedIn || e.excluded(c, p.agent) {
		return false
	}
	// An agent on a break, or going on one after the current contact, is
	// not waited for.
	if p.agent.Base == agents.NotReady || (p.agent.HasNext && p.agent.Next == agents.NotReady) {
		return false
	}
	a := p.agent
	slot := -1
	for i := range a.mem {
		if a.mem[i].q == c.q {
			slot = i
		}
	}
	if slot < 0 || !a.Skills.Meets(c.reqs) {
		return false
	}
	why := "preferred agent " + string(a.id) + " (talked " + secs(e.now.Sub(p.at)) + " ago)"
	pw := Why{Code: WhyPreferredAgent, Agent: a.id, Secs: secsOf(e.now.Sub(p.at))}
	if a.Available(agents.Channel(c.ch), c.q.def.ChatWhileBusy) {
		e.offer(c, a, why+"; "+e.skillText(a, c.reqs), appendSkillWhy([]Why{pw}, a, c.reqs))
		return true
	}
	if e.cfg.PreferredAgentWait <= 0 {
		return false
	}
	e.pin(c, a, e.cfg.PreferredAgentWait, "waiting for "+why, pw)
	return true
}

func (e *Engine) pin(c *contact, a *agent, d time.Duration, why string, w Why) {
	c.pinned = a
	a.pinned = append(a.pinned, c)
	c.reason = why
	c.pinWhy = w
	c.offerSeq++ // invalidates older pin timers
	e.addTimer(timer{at: e.now.Add(d), kind: tPin, cid: c.id, n: c.offerSeq})
}

func (e *Engine) unpin(c *contact) {
	a := c.pinned
	if a == nil {
		return
	}
	for i, x := range a.pinned {
		if x == c {
			a.pinned = append(a.pinned[:i], a.pinned[i+1:]...)
			break
		}
	}
	c.pinned = nil
}

// relist puts a waiting contact into its bucket and its guest lists.
func (e *Engine) relist(c *contact) {
	if c.parked || c.pinned != nil || c.item.In() {
		return
	}
	q := c.q
	key := q.sKey
	if !sameReqs(c.reqs, q.strict) {
		key = reqKey(c.reqs)
	}
	var b *bucket
	for _, x := range q.buckets[c.ch] {
		if x.key == key {
			b = x
			break
		}
	}
	if b == nil {
		b = &bucket{q: q, ch: c.ch, key: key, reqs: c.reqs, strict: key == q.sKey}
		q.buckets[c.ch] = append(q.buckets[c.ch], b)
	}
	c.item.ID = uint64(c.id)
	c.item.Owner = c
	c.item.Arrival = c.arrived.UnixNano()
	c.item.Score = queues.Score(q.def.Priority+c.prio, q.def.AgingPerMinute, c.arrived, e.epoch)
	b.list.Push(&c.item)
	c.bucket = b
	c.arrItem.ID, c.arrItem.Arrival, c.arrItem.Owner = c.item.ID, c.item.Arrival, c
	q.byArr.Push(&c.arrItem)
	for _, g := range c.guests {
		e.pushGuest(c, g)
	}
	e.markDirty(q)
}

func (e *Engine) pushGuest(c *contact, g *guest) {
	if g.item.In() {
		return
	}
	g.item.ID = uint64(c.id)
	g.item.Owner = c
	g.item.Arrival = c.arrived.UnixNano()
	g.item.Score = int64(c.q.def.Priority + c.prio)
	if g.guarded {
		g.q.guarded[c.ch].Push(&g.item)
	} else {
		g.q.guests[c.ch].Push(&g.item)
	}
}

func (e *Engine) unlist(c *contact) {
	if c.bucket != nil {
		c.bucket.list.Remove(&c.item)
		c.bucket.q.byArr.Remove(&c.arrItem)
		c.bucket = nil
		e.markDirty(c.q)
	}
	for _, g := range c.guests {
		if g.item.In() {
			g.q.guests[c.ch].Remove(&g.item)
			g.q.guarded[c.ch].Remove(&g.item)
		}
	}
}

// route finds an agent for waiting contact c: its own queue's agents by
// the queue strategy, then agents of queues it was escalated or overflowed
// to (guarded ones only while that queue meets its service level).
func (e *Engine) route(c *contact) bool {
	if c.state != Waiting || c.parked {
		return false
	}
	if a := c.pinned; a != nil {
		if a.Available(agents.Channel(c.ch), c.q.def.ChatWhileBusy) {
			e.offer(c, a, c.reason+"; agent ready", []Why{c.pinWhy, {Code: WhyAgentReady}})
			return true
		}
		return false
	}
	h := &c.q.ready[c.ch]
	if a := h.first(func(a *agent) bool { return !e.skips(c, a) && a.Skills.Meets(c.reqs) }, &e.scratch); a != nil {
		e.offer(c, a, e.explain(a, c.q, h, c.reqs, ""), e.explainWhy(nil, a, c.q, h, c.reqs))
		return true
	}
	for _, g := range c.guests {
		if g.guarded && !e.meetsSL(g.q) {
			continue
		}
		h := &g.q.ready[c.ch]
		if a := h.first(func(a *agent) bool { return !e.skips(c, a) }, &e.scratch); a != nil {
			how := "via " + g.q.def.ID + " (escalation/overflow); "
			w := Why{Code: WhyOverflow, Queue: g.q.def.ID}
			if g.guarded {
				how = "guarded overflow to " + g.q.def.ID + " (its SL meets target); "
				w.Code = WhyGuardedOverflow
			}
			e.offer(c, a, e.explain(a, g.q, h, g.q.strict, how), e.explainWhy([]Why{w}, a, g.q, h, g.q.strict))
			return true
		}
	}
	return false
}

func (e *Engine) meetsSL(q *queue) bool {
	if q.def.SLTarget <= 0 {
		return true
	}
	return q.stats.Window(e.now, 15*time.Minute).SL() >= q.def.SLTarget
}

func secs(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + " s"
}

func (e *Engine) skillText(a *agent, reqs []agents.Req) string {
	return string(appendSkillText(make([]byte, 0, 48), a, reqs))
}

// appendSkillText appends "agent: skill level, ..." for reqs to b.
func appendSkillText(b []byte, a *agent, reqs []agents.Req) []byte {
	b = append(b, a.id...)
	b = append(b, ':')
	for i, r := range reqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, ' ')
		b = append(b, r.Skill...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(a.Skills[r.Skill]), 10)
	}
	return b
}

// appendSecs appends secs(d) to b.
func appendSecs(b []byte, d time.Duration) []byte {
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	return append(b, " s"...)
}

// explain is the Offer.Reason of a contact-picks-agent decision.
func (e *Engine) explain(a *agent, q *queue, h *agentHeap, reqs []agents.Req, prefix string) string {
	b := make([]byte, 0, 96)
	b = append(b, prefix...)
	b = append(b, e.skillText(a, reqs)...)
	b = append(b, "; "...)
	n := int64(len(h.h))
	switch q.def.Strategy {
	case MostSkilled:
		b = append(b, "skill score "...)
		b = strconv.AppendInt(b, int64(a.Skills.Score(q.strict)), 10)
		b = append(b, ", most skilled of "...)
	case LeastOccupied:
		b = strconv.AppendInt(b, int64(a.Used().Total()), 10)
		b = append(b, " active, least occupied of "...)
	case RoundRobin:
		b = append(b, "next in rotation of "...)
	default:
		b = append(b, "idle "...)
		b = append(b, secs(e.now.Sub(a.IdleSince))...)
		b = append(b, ", longest idle of "...)
	}
	b = strconv.AppendInt(b, n, 10)
	b = append(b, " ready"...)
	return string(b)
}

// explainWhy is the Offer.Why of a contact-picks-agent decision: the
// steps in w, then the skills, then the queue strategy's pick.
func (e *Engine) explainWhy(w []Why, a *agent, q *queue, h *agentHeap, reqs []agents.Req) []Why {
	w = appendSkillWhy(w, a, reqs)
	n := len(h.h)
	switch q.def.Strategy {
	case MostSkilled:
		w = append(w, Why{Code: WhyMostSkilled, Value: a.Skills.Score(q.strict), Of: n})
	case LeastOccupied:
		w = append(w, Why{Code: WhyLeastOccupied, Value: a.Used().Total(), Of: n})
	case RoundRobin:
		w = append(w, Why{Code: WhyRoundRobin, Of: n})
	default:
		w = append(w, Why{Code: WhyLongestIdle, Secs: secsOf(e.now.Sub(a.IdleSince)), Of: n})
	}
	return w
}

// offer reserves a for c.
func (e *Engine) offer(c *contact, a *agent, reason string, why []Why) {
	e.unlist(c)
	e.unpin(c)
	c.agent = a
	c.offerSeq++
	c.missed = nil
	a.Offers = a.Offers.Add(agents.Channel(c.ch), 1)
	e.oseq++
	a.lastOffer = e.oseq
	a.contacts = append(a.contacts, c)
	dl := e.now.Add(c.q.offerTimeout(c.ch))
	e.addTimer(timer{at: dl, kind: tOffer, cid: c.id, n: c.offerSeq})
	e.emit(Offer{
		Contact: c.id, Agent: a.id, Channel: c.ch, Queue: c.q.def.ID, Number: c.number,
		Deadline: dl, Reason: reason, Why: why, Waited: e.now.Sub(c.arrived), Language: c.language,
		Citizen: c.citizen, Attrs: c.attrs,
	})
	e.setContactState(c, Offered, reason)
	e.agentChanged(a, "offered", false)
}

func (a *agent) drop(c *contact) {
	for i, x := range a.contacts {
		if x == c {
			a.contacts = append(a.contacts[:i], a.contacts[i+1:]...)
			return
		}
	}
}

// withdraw cancels c's pending offer; the agent is freed.
func (e *Engine) withdraw(c *contact, why string, missed bool) *agent {
	a := c.agent
	a.Offers = a.Offers.Add(agents.Channel(c.ch), -1)
	a.drop(c)
	c.agent = nil
	c.last = a
	e.emit(OfferWithdrawn{Contact: c.id, Agent: a.id, Reason: why})
	force := false
	if missed && e.cfg.MissedOfferNotReady && a.Base == agents.Ready {
		a.Base, a.Reason = agents.NotReady, "missed offer"
		force = true
	}
	e.settle(a)
	e.agentChanged(a, why, force)
	return a
}

// requeue returns c to the front of its queue: it keeps its original
// arrival time, so it is ahead of everyone of equal priority who came later.
// The agent that just missed it is skipped for it for one offer timeout
// (other agents take it meanwhile); then that agent may get it again.
func (e *Engine) requeue(c *contact, missedBy *agent, why string) {
	e.setContactState(c, Waiting, why)
	e.relist(c)
	c.missed = missedBy
	c.missedUntil = e.now.Add(c.q.offerTimeout(c.ch))
	e.addTimer(timer{at: c.missedUntil, kind: tRetry, cid: c.id, n: c.offerSeq})
	e.route(c)
}

// skips reports whether a must not get c now: a just missed c's offer, or
// transferred c away.
func (e *Engine) skips(c *contact, a *agent) bool {
	return (c.missed == a && e.now.Before(c.missedUntil)) || (len(c.xfer) > 0 && e.excluded(c, a))
}

func (e *Engine) accept(ev OfferAccepted) error {
	c, ok := e.contacts[ev.Contact]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownContact, ev.Contact)
	}
	if c.state != Offered || c.agent == nil || c.agent.id != ev.Agent {
		return fmt.Errorf("%w: contact %d is %v, not offered to %s", ErrInvalidState, c.id, c.state, ev.Agent)
	}
	a := c.agent
	ch := agents.Channel(c.ch)
	a.Offers = a.Offers.Add(ch, -1)
	a.Active = a.Active.Add(ch, 1)
	c.talkAt = e.now
	c.q.stats.Answered(e.now, e.now.Sub(c.arrived))
	e.emit(Connected{Contact: c.id, Agent: a.id, Channel: c.ch, Queue: c.q.def.ID})
	e.setContactState(c, Talking, "accepted by "+string(a.id))
	e.addTimer(timer{at: e.now.Add(e.cfg.MaxTalk), kind: tBound, cid: c.id})
	e.agentChanged(a, "connected", false)
	return nil
}

func (e *Engine) reject(ev OfferRejected) error {
	c, ok := e.contacts[ev.Contact]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownContact, ev.Contact)
	}
	if c.state != Offered || c.agent == nil || c.agent.id != ev.Agent {
		return fmt.Errorf("%w: contact %d is %v, not offered to %s", ErrInvalidState, c.id, c.state, ev.Agent)
	}
	why := "rejected by " + string(ev.Agent)
	if ev.Reason != "" {
		why += ": " + ev.Reason
	}
	a := e.withdraw(c, why, true)
	e.requeue(c, a, why)
	return nil
}

func (e *Engine) abandon(ev ContactAbandoned) error {
	c, ok := e.contacts[ev.Contact]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownContact, ev.Contact)
	}
	if c.state == Talking {
		e.close(c, EndCompleted, "citizen left")
		return nil
	}
	c.q.stats.Abandoned(e.now, e.now.Sub(c.arrived))
	e.close(c, EndAbandoned, "citizen left after "+secs(e.now.Sub(c.arrived)))
	return nil
}

func (e *Engine) ended(ev ContactEnded) error {
	c, ok := e.contacts[ev.Contact]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownContact, ev.Contact)
	}
	r := ev.Reason
	if r == EndUnknown {
		r = EndCompleted
	}
	why := "ended: completed" // the common case, without a concatenation
	if r != EndCompleted {
		why = "ended: " + r.String()
	}
	e.close(c, r, why)
	return nil
}

// release ends a's part in talking contact c: handle time, wrap-up owed,
// and (remember) preferred-agent memory: an agent who transfers the contact
// is not remembered.
func (e *Engine) release(c *contact, remember bool) {
	a := c.agent
	ch := agents.Channel(c.ch)
	a.Active = a.Active.Add(ch, -1)
	a.drop(c)
	wrap := c.q.wrapFor(c.ch)
	handle := e.now.Sub(c.talkAt) + wrap
	a.Handled++
	a.HandleTime += handle
	c.q.stats.Handled(e.now, handle)
	if wrap > a.WrapDur {
		a.WrapDur = wrap
	}
	if remember && c.citizen != "" && e.cfg.PreferredAgentWindow > 0 {
		e.preferred[c.citizen] = pref{agent: a, at: e.now}
		e.prefFIFO = append(e.prefFIFO, prefRec{citizen: c.citizen, at: e.now})
	}
	c.agent = nil
	c.last = a
	e.settle(a)
	if a.Idle() {
		a.IdleSince = e.now // free again: longest idle counts from here
	}
	e.agentChanged(a, "contact ended", false)
}

// settle starts the wrap-up an agent owes once it holds nothing. Wrap-up is
// the agent's: the longest owed for the contacts of the busy period, once.
func (e *Engine) settle(a *agent) {
	if a.Active.Total() > 0 || a.Offers.Total() > 0 || a.InWrap {
		return
	}
	if a.WrapDur > 0 && a.LoggedIn {
		a.InWrap = true
		a.WrapUntil = e.now.Add(a.WrapDur)
		a.wrapSeq++
		e.addTimer(timer{at: a.WrapUntil, kind: tWrap, a: a, n: a.wrapSeq})
		return
	}
	if a.WrapDur > 0 || a.IdleSince.IsZero() {
		a.IdleSince = e.now
	}
	a.WrapDur = 0
}

// close ends c's life in routing: exactly one ContactClosed.
func (e *Engine) close(c *contact, r EndReason, why string) {
	e.dropConsult(c, why)
	e.unlist(c)
	e.unpin(c)
	if c.agent != nil {
		switch c.state {
		case Offered:
			e.withdraw(c, why, false)
		case Talking:
			e.release(c, true)
		default: // no agent holds it
		}
	}
	c.parked = false
	e.setContactState(c, Ended, why)
	var last AgentID
	if c.last != nil {
		last = c.last.id
	}
	e.emit(ContactClosed{Contact: c.id, Channel: c.ch, Reason: r, Agent: last, At: e.now,
		Number: c.number, Citizen: c.citizen, Arrived: c.arrived, Attrs: c.attrs, Callback: c.callback})
	delete(e.contacts, c.id)
	e.rememberClosed(c, r)
}

func (e *Engine) transfer(ev ContactTransferred) error {
	c, ok := e.contacts[ev.Contact]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownContact, ev.Contact)
	}
	e.dropConsult(c, "transferred")
	out := ev.ToQueue == "" && ev.ToAgent == ""
	q := c.q
	if ev.ToQueue != "" {
		if q = e.queues[ev.ToQueue]; q == nil {
			return fmt.Errorf("%w: %q", ErrUnknownQueue, ev.ToQueue)
		}
	}
	var to *agent
	if ev.ToAgent != "" {
		if to = e.agents[ev.ToAgent]; to == nil || !to.known {
			return fmt.Errorf("%w: %q", ErrUnknownAgent, ev.ToAgent)
		}
	}
	why := "transferred"
	if ev.By != "" {
		why += " by " + string(ev.By)
	}
	if ev.Note != "" {
		why += ": " + ev.Note
	}
	switch {
	case out && ev.ToNumber != "":
		why += " to number " + ev.ToNumber
	case out:
		why = "transferred out"
		if ev.By != "" {
			why += " by " + string(ev.By)
		}
	case to != nil:
		why += " to agent " + string(to.id)
	default:
		why += " to " + q.def.ID
	}
	tr := Transferred{Contact: c.id, Channel: c.ch, By: ev.By, FromQueue: c.q.def.ID, ToAgent: ev.ToAgent,
		ToNumber: ev.ToNumber, Note: ev.Note, Reason: why, At: e.now}
	if !out {
		tr.ToQueue = q.def.ID
	}
	if from := c.agent; from != nil {
		tr.From, tr.Talked = from.id, c.state == Talking
		// The agent who gives the contact away never gets it back by
		// routing, and is not its preferred agent.
		e.exclude(c, from)
	}
	if by := e.agents[ev.By]; by != nil && by != c.agent {
		e.exclude(c, by)
	}
	e.emit(tr)
	if out {
		if c.state == Talking {
			e.release(c, false)
		}
		e.close(c, EndTransferredOut, why)
		return nil
	}
	switch c.state {
	case Offered:
		e.withdraw(c, why, false)
	case Talking:
		e.release(c, false)
	default: // waiting: no agent to free
	}
	e.unlist(c)
	e.unpin(c)
	c.parked = false
	if ev.ToQueue != "" {
		c.reqs = nil
	}
	if to != nil {
		e.include(c, to) // named explicitly: wanted back
		if c.state == Waiting {
			e.shiftWaiting(c, q)
		}
		c.q = q
		if c.reqs == nil {
			c.reqs = q.strict
		}
		e.setContactState(c, Waiting, why)
		e.pin(c, to, transferPinWait, why, Why{Code: WhyTransferredAgent, Agent: ev.By})
		e.queueRoute(c)
		return nil
	}
	e.admit(c, q, 0, why)
	return nil
}

// maxExcluded bounds a contact's list of agents that transferred it away.
const maxExcluded = 8

// exclude keeps a from being offered c again (a transferred it away).
func (e *Engine) exclude(c *contact, a *agent) {
	if e.excluded(c, a) {
		return
	}
	if len(c.xfer) >= maxExcluded {
		c.xfer = c.xfer[1:]
	}
	c.xfer = append(c.xfer, a)
}

func (e *Engine) include(c *contact, a *agent) {
	for i, x := range c.xfer {
		if x == a {
			c.xfer = append(c.xfer[:i], c.xfer[i+1:]...)
			return
		}
	}
}

func (e *Engine) excluded(c *contact, a *agent) bool {
	for _, x := range c.xfer {
		if x == a {
			return true
		}
	}
	return false
}

func (e *Engine) move(ev ContactMoved) error {
	c, ok := e.contacts[ev.Contact]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownContact, ev.Contact)
	}
	if c.state != Waiting {
		return fmt.Errorf("%w: contact %d is %v", ErrInvalidState, c.id, c.state)
	}
	q := c.q
	if ev.ToQueue != "" {
		if q = e.queues[ev.ToQueue]; q == nil {
			return fmt.Errorf("%w: %q", ErrUnknownQueue, ev.ToQueue)
		}
	}
	why := "moved by " + string(ev.By)
	if ev.Priority != nil {
		c.prio = *ev.Priority
		why += "; priority " + strconv.Itoa(c.prio)
	}
	if q != c.q {
		c.reqs = nil
		e.enqueue(c, q, why+" to "+q.def.ID)
		return nil
	}
	e.unlist(c)
	e.setContactState(c, Waiting, why)
	e.relist(c)
	e.queueRoute(c)
	return nil
}

func (e *Engine) callback(ev CallbackRequested) error {
	c, ok := e.contacts[ev.Contact]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownContact, ev.Contact)
	}
	switch c.state {
	case Waiting:
	case Offered:
		e.withdraw(c, "callback requested", false)
	default:
		return fmt.Errorf("%w: contact %d is %v", ErrInvalidState, c.id, c.state)
	}
	e.unlist(c)
	e.unpin(c)
	c.parked = false
	e.setContactState(c, CallbackBooked, "callback booked to "+ev.Number)
	e.close(c, EndCallback, "callback booked")
	return nil
}

func sameReqs(a, b []agents.Req) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func effective(c *contact, now time.Time) int {
	return queues.Effective(c.q.def.Priority+c.prio, c.q.def.AgingPerMinute, now.Sub(c.arrived))
}

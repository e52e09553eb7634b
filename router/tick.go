package router

import (
	"slices"
	"strconv"
	"time"

	"onecall/agents"
	"onecall/queues"
)

// announceStep is the estimated-wait change that is worth a new Announce.
const announceStep = 30 * time.Second

// tick fires every due timer, then emits QueueStats deltas.
// Each timer fires at its own due time (never before the previous event),
// so a late Tick gives the same decisions as timely ones.
func (e *Engine) tick() {
	e.expirePreferred()
	if e.statsSet && !e.statsAt.After(e.now) {
		e.emitStats()
	}
}

// fireDue fires the timers due by end, each at its own due time (never
// before the previous event); Apply runs it before every event.
func (e *Engine) fireDue(end time.Time) {
	for len(e.timers) > 0 && !e.timers[0].at.After(end) {
		t := e.timers.pop()
		if t.at.After(e.now) {
			e.now = t.at
		}
		if e.live(t) {
			e.fire(t)
		}
		e.drain()
	}
}

func (e *Engine) expirePreferred() {
	n := 0
	for n < len(e.prefFIFO) && e.now.Sub(e.prefFIFO[n].at) > e.cfg.PreferredAgentWindow {
		r := e.prefFIFO[n]
		if p, ok := e.preferred[r.citizen]; ok && p.at.Equal(r.at) {
			delete(e.preferred, r.citizen)
		}
		n++
	}
	if n > 0 {
		e.prefFIFO = append(e.prefFIFO[:0], e.prefFIFO[n:]...)
	}
}

func (e *Engine) emitStats() {
	for _, q := range e.dirty {
		q.dirty = false
		if q.orphan {
			continue
		}
		e.emit(QueueStats{Stats: e.queueSnapshot(q)})
	}
	e.dirty = e.dirty[:0]
	e.statsSet = false
	e.statsAt = e.now.Add(e.cfg.StatsEvery)
}

// live reports whether timer t would still change something.
func (e *Engine) live(t timer) bool {
	switch t.kind {
	case tWrap:
		return t.a.InWrap && t.a.wrapSeq == t.n
	case tAnnounce:
		return t.q.annSet
	}
	c := e.contacts[t.cid]
	if c == nil {
		return false
	}
	switch t.kind {
	case tOffer:
		return c.state == Offered && c.offerSeq == t.n
	case tEscalate:
		return c.q == t.q && c.escIdx == int(t.n) && (c.state == Waiting || c.state == Offered)
	case tOverflow:
		return c.q == t.q && (c.state == Waiting || c.state == Offered)
	case tPin:
		return c.state == Waiting && c.pinned != nil && c.offerSeq == t.n
	case tPark:
		return c.parked
	case tRetry:
		return c.state == Waiting && c.missed != nil && c.offerSeq == t.n
	case tBound:
		return c.state == Waiting || c.state == Talking || c.state == Offered
	case tConsult:
		return c.consult != nil && !c.consult.talking && c.consult.seq == t.n
	}
	return false
}

func (e *Engine) fire(t timer) {
	if t.kind == tWrap {
		e.endWrap(t.a, "wrap-up ended")
		return
	}
	if t.kind == tAnnounce {
		e.announce(t.q)
		return
	}
	c := e.contacts[t.cid]
	switch t.kind {
	case tConsult:
		e.consultTimedOut(c)
	case tOffer:
		why := "offer timed out after " + secs(c.q.offerTimeout(c.ch))
		a := e.withdraw(c, why, true)
		e.requeue(c, a, why)
	case tEscalate:
		e.escalate(c)
	case tOverflow:
		o := c.q.def.Overflow[t.n]
		g := &guest{q: e.queues[o.Queue], guarded: o.Guarded}
		c.guests = append(c.guests, g)
		if c.state == Waiting && c.item.In() {
			e.pushGuest(c, g)
			why := "overflow to " + o.Queue + " agents"
			if o.Guarded {
				why = "guarded " + why
			}
			e.emit(Overflowed{Contact: c.id, FromQueue: c.q.def.ID, ToQueue: o.Queue, Reason: why + " after " + secs(o.After)})
			c.reason = why
			e.queueRoute(c)
		}
	case tPin:
		why := "stopped waiting for " + string(c.pinned.id)
		e.unpin(c)
		e.setContactState(c, Waiting, why)
		e.relist(c)
		e.queueRoute(c)
	case tRetry:
		a := c.missed
		c.missed = nil
		e.queueFeed(a) // the agent chooses among all heads again
		e.queueRoute(c)
	case tPark:
		e.close(c, EndRefusedClosed, "no callback requested within "+secs(e.cfg.CallbackWait))
	case tBound:
		e.reconcile(c)
	}
}

// reconcile ends a contact whose state outlived its bound.
func (e *Engine) reconcile(c *contact) {
	switch c.state {
	case Waiting:
		if w := e.now.Sub(c.arrived); w >= e.cfg.MaxWaiting {
			e.close(c, EndStuck, "reconciler: waiting "+secs(w)+" exceeds bound "+secs(e.cfg.MaxWaiting))
		}
	case Talking:
		if d := e.now.Sub(c.talkAt); d >= e.cfg.MaxTalk {
			e.close(c, EndStuck, "reconciler: talking "+secs(d)+" exceeds bound "+secs(e.cfg.MaxTalk))
		}
	case Offered:
		// The offer times out first; check the waiting bound again then.
		e.addTimer(timer{at: e.now.Add(c.q.offerTimeout(c.ch)), kind: tBound, cid: c.id})
	default: // ended or booked: nothing to reconcile
	}
}

// escalate applies the contact's next escalation step.
func (e *Engine) escalate(c *contact) {
	st := c.q.def.Escalation[c.escIdx]
	c.escIdx++
	listed := c.state == Waiting && c.item.In()
	var why []byte
	why = append(why, "escalation step "...)
	why = strconv.AppendInt(why, int64(c.escIdx), 10)
	if len(st.Relax) > 0 {
		reqs := slices.Clone(c.reqs)
		for i := range reqs {
			for _, r := range st.Relax {
				if reqs[i].Skill == r.Skill && r.Min < reqs[i].Min {
					reqs[i].Min = r.Min
				}
			}
		}
		if listed {
			e.unlist(c)
		}
		c.reqs = reqs
		if listed {
			e.relist(c)
		}
		why = append(why, ": relaxed to"...)
		for _, r := range reqs {
			why = append(why, ' ')
			why = append(why, r.Skill...)
			why = append(why, ">="...)
			why = strconv.AppendInt(why, int64(r.Min), 10)
		}
	}
	if st.AddQueue != "" {
		g := &guest{q: e.queues[st.AddQueue]}
		c.guests = append(c.guests, g)
		if listed {
			e.pushGuest(c, g)
		}
		why = append(why, ": added queue "...)
		why = append(why, st.AddQueue...)
		if c.state == Waiting {
			e.emit(Overflowed{Contact: c.id, FromQueue: c.q.def.ID, ToQueue: st.AddQueue, Reason: string(why)})
		}
	}
	if st.OfferCallback && c.state == Waiting && !c.callback {
		why = append(why, ": callback offered"...)
		e.emit(CallbackOffered{Contact: c.id, Reason: string(why)})
	}
	c.reason = string(why)
	e.scheduleSteps(c)
	if c.state == Waiting {
		e.queueRoute(c)
	}
}

// meaningful reports whether a new place or estimate is worth telling the
// citizen: the estimate moved by announceStep or more, or the place changed
// near the front (top 10) or by at least a tenth.
func meaningful(oldPos, pos int, oldEWT, ewt time.Duration) bool {
	if d := ewt - oldEWT; d >= announceStep || d <= -announceStep {
		return true
	}
	if pos == oldPos {
		return false
	}
	d := oldPos - pos
	if d < 0 {
		d = -d
	}
	return pos <= 10 || d*10 >= oldPos
}

// announce sends place-in-line updates for q's waiting contacts whose
// position or estimated wait changed meaningfully since their last one.
func (e *Engine) announce(q *queue) {
	q.annSet = false
	if !q.annDue {
		return
	}
	q.annDue = false
	q.lastAnn = e.now
	for _, ch := range [2]Channel{Voice, Chat} {
		items := e.listed(q, ch, e.ibuf[:0])
		for i, it := range items {
			c := it.Owner.(*contact)
			pos := i + 1
			w := e.ewt(q, ch, pos)
			if !c.callback && meaningful(c.annPos, pos, c.annEWT, w) {
				c.annPos, c.annEWT = pos, w
				e.emit(e.announceCmd(c.id, ch, q, pos, w))
			}
		}
		clear(items) // the scratch keeps no contacts alive
		e.ibuf = items[:0]
	}
}

// listed appends q's waiting contacts on ch in offer order to items.
func (e *Engine) listed(q *queue, ch Channel, items []*queues.Item) []*queues.Item {
	n := len(items)
	for _, b := range q.buckets[ch] {
		items = b.list.AppendSorted(items)
	}
	if len(q.buckets[ch]) > 1 {
		slices.SortFunc(items[n:], queues.Compare)
	}
	return items
}

// scheduleAnnounce arms q's announce round, rate-limited by AnnounceEvery.
func (e *Engine) scheduleAnnounce(q *queue) {
	if q.annSet || q.orphan || q.waiting == 0 {
		return
	}
	at := q.lastAnn.Add(q.def.AnnounceEvery)
	if at.Before(e.now) {
		at = e.now
	}
	q.annSet = true
	e.addTimer(timer{at: at, kind: tAnnounce, q: q})
}

// position is c's 1-based place among q's listed contacts on its channel.
func (e *Engine) position(c *contact) int {
	if !c.item.In() {
		return 0
	}
	p := 1
	for _, b := range c.q.buckets[c.ch] {
		p += b.list.CountBefore(&c.item)
	}
	return p
}

// ewt estimates the wait at position pos: agents available now take the
// first positions; the rest wait pos*AHT/(staffed*slots), where slots is
// 1 for calls and the members' mean chat capacity for chats (an agent
// holding 3 chats frees a slot three times as often).
func (e *Engine) ewt(q *queue, ch Channel, pos int) time.Duration {
	if q.orphan {
		return 0
	}
	pos -= len(q.ready[ch].h)
	if pos <= 0 {
		return 0
	}
	if m := e.now.Unix()/60 + 1; q.ahtMin != m { // recomputed once a minute
		q.ahtMin = m
		q.ahtVal = q.stats.Window(e.now, time.Hour).AHT()
		if q.ahtVal == 0 {
			q.ahtVal = e.cfg.DefaultAHT
		}
	}
	slots := 1
	if ch == Chat && q.members > 0 {
		slots = (q.chatCap + q.members/2) / q.members
	}
	return queues.EstimatedWait(pos, q.ahtVal, e.staffed(q), slots)
}

// staffed counts q's agents that are working (ready, reserved, busy or in
// wrap-up).
func (e *Engine) staffed(q *queue) int {
	return q.byState[agents.Ready] + q.byState[agents.Reserved] + q.byState[agents.Busy] + q.byState[agents.WrapUp]
}

// announceCmd is the Announce for a contact at pos in q, with the queue's
// announce settings and whether anyone works the queue.
func (e *Engine) announceCmd(id ContactID, ch Channel, q *queue, pos int, w time.Duration) Announce {
	return Announce{Contact: id, Channel: ch, Position: pos, EstimatedWait: w, NoAgent: e.staffed(q) == 0,
		HidePosition: q.def.HidePosition, HideWait: q.def.HideWait}
}

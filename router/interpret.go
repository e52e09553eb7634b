package router

import (
	"fmt"
	"slices"

	"onecall/agents"
)

// Interpretation requests: a consult (consult.go) whose target is the
// interpreter queue of a language (QueueDef.Interprets). The agent talking
// with a voice contact asks for an interpreter for language X; routing
// offers the request to the best ready agent of that queue by the queue's
// strategy (reserved while the phone rings, busy while in the call, free
// again after, with no wrap-up owed). The citizen does not hold: on answer
// the transport mixes the three parties (ConsultAnswered starts the
// three-way at once; ConsultLeft ends it).
//
// With no interpreter free, or when the one rung does not answer, is busy
// or rejects (ConsultFailed, that interpreter is not rung again for this
// request), the request waits (ConsultWaiting) until an interpreter of the
// queue is free or until its wait (QueueDef.InterpretWait) is over: then
// it fails for good (ConsultFailed). The agent withdraws it with
// ConsultCancelled; the contact ending withdraws it too.

// interpText is the history text of an interpretation step.
func interpText(step ConsultStep, lang, who string) string {
	switch step {
	case ConsultStarted:
		return "interpreter (" + lang + ") requested: " + who
	case ConsultAnswered:
		return "interpreter (" + lang + ") joined: " + who
	case ConsultCancelled:
		if who == "" {
			return "interpretation request (" + lang + ") withdrawn"
		}
		return "interpretation request (" + lang + ") withdrawn from " + who
	case ConsultFailed:
		if who == "" {
			return "interpretation request (" + lang + ") failed"
		}
		return "interpreter (" + lang + ") not reached: " + who
	case ConsultLeft:
		return "interpreter (" + lang + ") left: " + who
	case ConsultWaiting:
		return "interpretation request (" + lang + ") waits for an interpreter"
	case ConsultCompleted, ConsultConference: // not steps of an interpretation request
	}
	return step.String() + " " + who
}

// interpreterQueue is the queue interpreting lang (named id, or the first
// in config order).
func (e *Engine) interpreterQueue(lang, id string) *queue {
	if id != "" {
		if q := e.queues[id]; q != nil && q.def.Interprets == lang {
			return q
		}
		return nil
	}
	for _, q := range e.queueList {
		if q.def.Interprets == lang {
			return q
		}
	}
	return nil
}

func (e *Engine) interpretRequest(c *contact, ev ConsultRequested) error {
	if ev.ToAgent != "" || ev.ToNumber != "" {
		return fmt.Errorf("%w: an interpretation request takes a language only", ErrInvalidState)
	}
	q := e.interpreterQueue(ev.Language, ev.ToQueue)
	if q == nil {
		return fmt.Errorf("%w: no interpreter queue for %q", ErrUnknownQueue, ev.Language)
	}
	c.consult = &consult{by: c.agent, queue: q.def.ID, note: ev.Note, lang: ev.Language,
		until: e.now.Add(q.def.InterpretWait), wait: q.def.InterpretWait}
	if !e.offerInterpreter(c) {
		e.waitInterpreter(c, "no interpreter of "+q.def.ID+" is free")
	}
	return nil
}

// offerInterpreter rings the best free interpreter for c's request; false
// when none is free.
func (e *Engine) offerInterpreter(c *contact) bool {
	k := c.consult
	q := e.queues[k.queue]
	if q == nil {
		return false
	}
	h := &q.ready[Voice]
	a := h.first(func(a *agent) bool {
		return a != k.by && !slices.Contains(k.tried, a) && a.Available(agents.Voice, false) && a.Skills.Meets(q.strict)
	}, &e.scratch)
	if a == nil {
		return false
	}
	e.unwaitInterpreter(c)
	k.waiting, k.target = false, a
	c.offerSeq++
	k.seq = c.offerSeq
	a.Offers = a.Offers.Add(agents.Voice, 1)
	e.oseq++
	a.lastOffer = e.oseq
	k.deadline = e.now.Add(q.offerTimeout(Voice))
	why := interpText(ConsultStarted, k.lang, "agent "+string(a.id)) + " for agent " + string(k.by.id) +
		" in " + q.def.ID + ": " + e.explain(a, q, h, q.strict, "")
	if k.note != "" {
		why += ": " + k.note
	}
	e.emit(ConsultChanged{Contact: c.id, Step: ConsultStarted, By: k.by.id, Agent: a.id, Queue: k.queue, Note: k.note,
		Reason: why, Deadline: k.deadline, At: e.now, Language: k.lang})
	e.addTimer(timer{at: k.deadline.Add(consultGrace), kind: tConsult, cid: c.id, n: k.seq})
	e.agentChanged(a, "interpreting for "+string(k.by.id), false)
	return true
}

// waitInterpreter parks c's request until an interpreter is free or its
// wait is over.
func (e *Engine) waitInterpreter(c *contact, why string) {
	k := c.consult
	k.waiting, k.target, k.talking = true, nil, false
	c.offerSeq++
	k.seq = c.offerSeq
	if !slices.Contains(e.interps, c) {
		e.interps = append(e.interps, c)
	}
	e.emit(ConsultChanged{Contact: c.id, Step: ConsultWaiting, By: k.by.id, Queue: k.queue, Note: k.note,
		Reason:   interpText(ConsultWaiting, k.lang, "") + " (at most " + secs(k.wait) + "): " + why,
		Deadline: k.until, At: e.now, Language: k.lang})
	e.addTimer(timer{at: k.until, kind: tConsult, cid: c.id, n: k.seq})
}

// interpreterFailed takes the transport's failed ring: the interpreter is
// free again and not rung again for this request, which waits on while
// its wait lasts.
func (e *Engine) interpreterFailed(c *contact, reason string) error {
	k := c.consult
	if k.waiting {
		return fmt.Errorf("%w: the interpretation request of contact %d rings nobody", ErrInvalidState, c.id)
	}
	e.consultEmit(c, ConsultFailed, reason)
	a := k.target
	k.target = nil
	a.Offers = a.Offers.Add(agents.Voice, -1)
	k.tried = append(k.tried, a)
	e.settle(a)
	e.agentChanged(a, "interpretation request not answered", false)
	if e.now.Before(k.until) {
		if !e.offerInterpreter(c) {
			e.waitInterpreter(c, "the interpreter was not reached ("+reason+")")
		}
		return nil
	}
	e.consultEmit(c, ConsultFailed, "its wait is over")
	e.endConsult(c, "interpretation request expired")
	return nil
}

// matchInterpreters offers waiting requests, oldest first, to the
// interpreters free now.
func (e *Engine) matchInterpreters() {
	for i := 0; i < len(e.interps); {
		c := e.interps[i]
		if c.consult == nil || !c.consult.waiting {
			e.interps = slices.Delete(e.interps, i, i+1)
			continue
		}
		if e.offerInterpreter(c) {
			continue // removed from the list
		}
		i++
	}
}

func (e *Engine) unwaitInterpreter(c *contact) {
	if i := slices.Index(e.interps, c); i >= 0 {
		e.interps = slices.Delete(e.interps, i, i+1)
	}
}

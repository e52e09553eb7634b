package router

import (
	"fmt"
	"time"

	"onecall/agents"
)

// Consult (warm) transfer. The agent talking with a voice contact puts the
// citizen on hold and calls a colleague (a named agent, or the agent the
// engine picks in a queue by the queue's strategy) or an outside number.
// The consulted agent is reserved while their phone rings and busy while
// they talk; the consult then ends in one of three ways: complete (the
// contact moves to the consulted agent, or out to the number; the first
// agent goes to wrap-up and is never its preferred agent), cancel (the
// consulted agent is free again, without wrap-up) or conference (all three
// talk; the consulted agent stays busy until they leave or the contact
// ends). The transport rings and bridges; routing keeps the agents' states
// and the contact's history (ConsultChanged).

// ConsultStep is a step of a consult, in ConsultChanged and ConsultUpdated.
type ConsultStep uint8

const (
	ConsultStarted    ConsultStep = iota + 1 // requested: the target rings
	ConsultAnswered                          // the target answered: agent and target talk, the citizen holds
	ConsultCancelled                         // the agent went back to the citizen; the target is free
	ConsultFailed                            // the target did not answer, was busy or rejected
	ConsultCompleted                         // the citizen was joined to the target; the agent left
	ConsultConference                        // all three talk
	ConsultLeft                              // the target left the conference; agent and citizen talk on
	ConsultWaiting                           // an interpretation request waits for a free interpreter
)

func (s ConsultStep) String() string {
	switch s {
	case ConsultStarted:
		return "consult"
	case ConsultAnswered:
		return "consult_answered"
	case ConsultCancelled:
		return "consult_cancelled"
	case ConsultFailed:
		return "consult_failed"
	case ConsultCompleted:
		return "consult_completed"
	case ConsultConference:
		return "conference"
	case ConsultLeft:
		return "conference_left"
	case ConsultWaiting:
		return "interpret_waiting"
	}
	return "unknown"
}

// stepText starts the default history text of a step (the target follows).
var stepText = map[ConsultStep]string{
	ConsultStarted:    "consult with ",
	ConsultAnswered:   "consult answered by ",
	ConsultCancelled:  "consult cancelled: back to the citizen from ",
	ConsultFailed:     "consult failed: not reached: ",
	ConsultCompleted:  "consult transfer completed to ",
	ConsultConference: "conference with ",
	ConsultLeft:       "conference left by ",
}

// ErrNoAgentFree means a consult found no agent free to take it: the named
// agent is not ready (or is the consulting agent), or no agent of the
// queue is ready.
var ErrNoAgentFree = fmt.Errorf("%w: no agent free for a consult", ErrInvalidState)

// ConsultRequested starts a consult of the voice contact By is talking
// with: to ToAgent, to the best ready agent of ToQueue, or to ToNumber
// (outside: routing only records it). One consult at a time per contact.
type ConsultRequested struct {
	Contact  ContactID
	By       AgentID
	ToQueue  string
	ToAgent  AgentID
	ToNumber string
	Note     string
	// Language makes it an interpretation request (interpret.go): the
	// target is the interpreter queue that serves Language (ToQueue may
	// name it; ToAgent and ToNumber stay empty). omitempty: encodings of
	// other consults stay as before (codec.go).
	Language string `json:",omitempty"`
}

// ConsultUpdated reports the transport's next step of the contact's
// consult: ConsultAnswered, ConsultCancelled, ConsultFailed (Reason says
// why), ConsultCompleted, ConsultConference or ConsultLeft.
type ConsultUpdated struct {
	Contact ContactID
	Step    ConsultStep
	Reason  string
}

func (ConsultRequested) event() {}
func (ConsultUpdated) event()   {}

// ConsultChanged reports each step of a consult, for the transport, the
// consoles (the target's console shows who consults it, with the note)
// and the contact's history. Agent is the consulted agent ("" for a
// number); Deadline is when an unanswered ring is given up (Started).
type ConsultChanged struct {
	Contact  ContactID
	Step     ConsultStep
	By       AgentID
	Agent    AgentID
	Queue    string // the consulted queue ("" for an agent or a number)
	Number   string // the consulted outside number
	Note     string
	Reason   string
	Deadline time.Time
	At       time.Time
	// Language is set for an interpretation request: Deadline is then
	// also the end of its wait (ConsultWaiting).
	Language string `json:",omitempty"`
}

func (ConsultChanged) command() {}

// consultGrace is how long past the transport's ring deadline routing
// waits before it gives up an unanswered consult by itself.
const consultGrace = 10 * time.Second

// consult is a contact's running consult.
type consult struct {
	by       *agent
	target   *agent // nil for a number
	queue    string
	number   string
	note     string
	talking  bool // the target answered
	conf     bool // in conference
	seq      uint32
	deadline time.Time
	// An interpretation request (interpret.go): its language, whether it
	// waits for a free interpreter, until when, and the interpreters that
	// did not answer it.
	lang    string
	waiting bool
	until   time.Time
	wait    time.Duration
	tried   []*agent
}

func (e *Engine) consultRequest(ev ConsultRequested) error {
	c, ok := e.contacts[ev.Contact]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownContact, ev.Contact)
	}
	if c.ch != Voice || c.state != Talking || c.agent == nil || c.agent.id != ev.By {
		return fmt.Errorf("%w: contact %d is %v, not talking with %s", ErrInvalidState, c.id, c.state, ev.By)
	}
	if c.consult != nil {
		return fmt.Errorf("%w: contact %d is already in a consult", ErrInvalidState, c.id)
	}
	if ev.Language != "" {
		return e.interpretRequest(c, ev)
	}
	n := 0
	for _, set := range []bool{ev.ToQueue != "", ev.ToAgent != "", ev.ToNumber != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: a consult needs exactly one target", ErrInvalidState)
	}
	by := c.agent
	k := &consult{by: by, queue: ev.ToQueue, number: ev.ToNumber, note: ev.Note}
	why := "consult by " + string(by.id)
	switch {
	case ev.ToAgent != "":
		a, err := e.agentFor(ev.ToAgent)
		if err != nil {
			return err
		}
		if a == by || !a.Available(agents.Voice, false) {
			return fmt.Errorf("%w: agent %s is %v", ErrNoAgentFree, a.id, AgentState(a.State))
		}
		k.target = a
		why += " with agent " + string(a.id)
	case ev.ToQueue != "":
		q := e.queues[ev.ToQueue]
		if q == nil {
			return fmt.Errorf("%w: %q", ErrUnknownQueue, ev.ToQueue)
		}
		h := &q.ready[Voice]
		a := h.first(func(a *agent) bool {
			return a != by && a.Available(agents.Voice, false) && a.Skills.Meets(q.strict)
		}, &e.scratch)
		if a == nil {
			return fmt.Errorf("%w: queue %s has no ready agent", ErrNoAgentFree, q.def.ID)
		}
		k.target = a
		why += " with " + q.def.ID + ": " + e.explain(a, q, h, q.strict, "")
	default:
		why += " with number " + ev.ToNumber
	}
	if ev.Note != "" {
		why += ": " + ev.Note
	}
	c.consult = k
	c.offerSeq++
	k.seq = c.offerSeq
	cc := ConsultChanged{Contact: c.id, Step: ConsultStarted, By: by.id, Queue: k.queue, Number: k.number,
		Note: k.note, Reason: why, At: e.now}
	if a := k.target; a != nil {
		a.Offers = a.Offers.Add(agents.Voice, 1)
		e.oseq++
		a.lastOffer = e.oseq
		k.deadline = e.now.Add(c.q.offerTimeout(Voice))
		if k.queue != "" {
			k.deadline = e.now.Add(e.queues[k.queue].offerTimeout(Voice))
		}
		cc.Agent, cc.Deadline = a.id, k.deadline
		e.addTimer(timer{at: k.deadline.Add(consultGrace), kind: tConsult, cid: c.id, n: k.seq})
	}
	e.emit(cc)
	if a := k.target; a != nil {
		e.agentChanged(a, "consulted by "+string(by.id), false)
	}
	return nil
}

func (e *Engine) consultUpdate(ev ConsultUpdated) error {
	c, ok := e.contacts[ev.Contact]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownContact, ev.Contact)
	}
	k := c.consult
	if k == nil {
		return fmt.Errorf("%w: contact %d has no consult", ErrInvalidState, c.id)
	}
	bad := func() error {
		return fmt.Errorf("%w: consult of contact %d cannot go to %v", ErrInvalidState, c.id, ev.Step)
	}
	switch ev.Step {
	case ConsultAnswered:
		if k.talking || k.waiting {
			return bad()
		}
		k.talking = true
		k.conf = k.lang != "" // an interpreter joins the three-way at once
		e.consultEmit(c, ev.Step, ev.Reason)
		if a := k.target; a != nil {
			a.Offers = a.Offers.Add(agents.Voice, -1)
			a.Active = a.Active.Add(agents.Voice, 1)
			e.agentChanged(a, "consult answered", false)
		}
	case ConsultCancelled, ConsultFailed:
		if k.conf {
			return bad()
		}
		if ev.Step == ConsultFailed && k.lang != "" {
			return e.interpreterFailed(c, ev.Reason)
		}
		e.consultEmit(c, ev.Step, ev.Reason)
		e.endConsult(c, ev.Step.String())
	case ConsultConference:
		if !k.talking || k.conf {
			return bad()
		}
		k.conf = true
		e.consultEmit(c, ev.Step, ev.Reason)
	case ConsultLeft:
		if !k.conf {
			return bad()
		}
		e.consultEmit(c, ev.Step, ev.Reason)
		e.endConsult(c, ev.Step.String())
	case ConsultCompleted:
		if !k.talking || k.lang != "" {
			return bad()
		}
		e.consultEmit(c, ev.Step, ev.Reason)
		e.completeConsult(c, ev.Reason)
	default:
		return bad()
	}
	return nil
}

func (e *Engine) consultEmit(c *contact, step ConsultStep, reason string) {
	k := c.consult
	cc := ConsultChanged{Contact: c.id, Step: step, By: k.by.id, Queue: k.queue, Number: k.number, Note: k.note,
		Reason: reason, At: e.now}
	if k.target != nil {
		cc.Agent = k.target.id
	}
	cc.Language = k.lang
	who := k.number
	if k.target != nil {
		who = "agent " + string(k.target.id)
	}
	cc.Reason = stepText[step] + who
	if k.lang != "" {
		cc.Reason = interpText(step, k.lang, who)
	}
	if reason != "" {
		cc.Reason += ": " + reason
	}
	e.emit(cc)
}

// endConsult frees the consulted agent (no wrap-up is owed for a consult)
// and forgets the consult.
func (e *Engine) endConsult(c *contact, why string) {
	k := c.consult
	c.consult = nil
	e.unwaitInterpreter(c)
	a := k.target
	if a == nil {
		return
	}
	if k.talking {
		a.Active = a.Active.Add(agents.Voice, -1)
	} else {
		a.Offers = a.Offers.Add(agents.Voice, -1)
	}
	e.settle(a)
	e.agentChanged(a, why, false)
}

// completeConsult moves the contact to the consulted agent (or out to the
// number): the consulting agent leaves with a wrap-up and is never the
// contact's preferred agent; the consulted agent keeps the contact as an
// ordinary talking contact.
func (e *Engine) completeConsult(c *contact, note string) {
	k := c.consult
	c.consult = nil
	by := k.by
	why := "consult transfer by " + string(by.id)
	if k.note != "" {
		why += ": " + k.note
	}
	if k.target == nil {
		why += " to number " + k.number
	} else {
		why += " to agent " + string(k.target.id)
	}
	tr := Transferred{Contact: c.id, Channel: c.ch, From: by.id, Talked: true, By: by.id, FromQueue: c.q.def.ID,
		ToAgent: "", ToNumber: k.number, Note: k.note, Reason: why, At: e.now}
	if k.target != nil {
		tr.ToAgent = k.target.id
		tr.ToQueue = c.q.def.ID
		if k.queue != "" {
			tr.ToQueue = k.queue
		}
	}
	e.exclude(c, by)
	e.emit(tr)
	e.release(c, false)
	if k.target == nil {
		e.close(c, EndTransferredOut, why)
		return
	}
	a := k.target
	if k.queue != "" {
		c.q = e.queues[k.queue]
	}
	c.agent = a
	a.contacts = append(a.contacts, c)
	c.talkAt = e.now
	e.emit(Connected{Contact: c.id, Agent: a.id, Channel: c.ch, Queue: c.q.def.ID})
	e.setContactState(c, Talking, why)
	e.agentChanged(a, "consult transfer completed", true)
}

// dropConsult ends a contact's consult when the contact closes.
func (e *Engine) dropConsult(c *contact, why string) {
	if c.consult == nil {
		return
	}
	step := ConsultCancelled
	if c.consult.lang != "" && c.consult.conf {
		step = ConsultLeft // the interpreter's three-way ended with the call
	}
	e.consultEmit(c, step, "the contact ended ("+why+")")
	e.endConsult(c, "contact ended")
}

// consultTimedOut gives up a ring the transport never settled.
func (e *Engine) consultTimedOut(c *contact) {
	if k := c.consult; k.lang != "" {
		if k.waiting {
			e.consultEmit(c, ConsultFailed, "no interpreter free within "+secs(k.wait))
			e.endConsult(c, "interpretation request expired")
			return
		}
		_ = e.interpreterFailed(c, "no answer: routing gave the ring up")
		return
	}
	e.consultEmit(c, ConsultFailed, "no answer: routing gave the ring up")
	e.endConsult(c, "consult not answered")
}

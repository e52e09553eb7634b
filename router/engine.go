package router

import (
	"fmt"
	"slices"
	"time"

	"onecall/agents"
	"onecall/queues"
)

// Engine is the routing core. It is not safe for concurrent use: one
// goroutine (server.Hub) owns it. All methods, including the read models,
// must be called from that goroutine.
type Engine struct {
	cfg        Config
	epoch      time.Time // origin of waiting-list scores
	now        time.Time
	queues     map[string]*queue
	queueList  []*queue
	bySkill    map[string][]*queue
	noSkill    []*queue
	hotlines   map[string]*hotline
	agents     map[AgentID]*agent
	contacts   map[ContactID]*contact
	timers     timerHeap
	tseq       uint64
	compactAt  int    // timer heap size that triggers compactTimers
	oseq       uint64 // offer counter (round-robin)
	preferred  map[string]pref
	prefFIFO   []prefRec
	dirty      []*queue
	statsAt    time.Time // earliest next QueueStats emission
	statsSet   bool
	toRoute    []*contact
	toFeed     []*agent
	interps    []*contact  // interpretation requests waiting for an interpreter (interpret.go)
	closed     []closedRec // chats closed within ClosedChatMemory, oldest first (closed.go)
	closedIdx  map[ContactID]int
	closedBase int            // closedIdx's index of closed[0]
	out        []Command      // scratch for Apply's commands, copied out
	rbuf       []byte         // scratch for reason texts
	ibuf       []*queues.Item // scratch for announce rounds
	scratch    []int
	cands      []cand
}

type pref struct {
	agent *agent
	at    time.Time
}

type prefRec struct {
	citizen string
	at      time.Time
}

// New validates cfg, applies defaults and returns an engine. Agents start
// offline.
func New(cfg Config) (*Engine, error) {
	cfg = withDefaults(cfg)
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:       cfg,
		agents:    make(map[AgentID]*agent, len(cfg.Agents)),
		contacts:  map[ContactID]*contact{},
		preferred: map[string]pref{},
		compactAt: 4096,
	}
	e.build()
	for _, d := range cfg.Agents {
		a := &agent{id: d.ID}
		a.ID = string(d.ID)
		a.Base = agents.NotReady
		e.setDef(a, d)
		e.agents[d.ID] = a
		e.attach(a)
	}
	e.dirty = e.dirty[:0]
	e.statsSet = false
	for _, q := range e.queueList {
		q.dirty = false
		q.annDue = false
	}
	return e, nil
}

// Apply applies one event at time now and returns the commands to carry out,
// in order. On error the state is unchanged unless commands are returned
// too (they must still be carried out).
func (e *Engine) Apply(ev Event, now time.Time) ([]Command, error) {
	if e.epoch.IsZero() {
		e.epoch = now
		e.now = now
	}
	if now.Before(e.now) {
		now = e.now // time never runs backwards inside the engine
	}
	e.out = e.out[:0] // scratch: anything emitted outside Apply is dropped
	// Timers due by now fire first, each at its own time: an event never
	// overtakes a due timer, and a late Tick decides as timely ones would.
	if len(e.timers) > 0 && !e.timers[0].at.After(now) {
		e.fireDue(now)
	}
	e.now = now
	var err error
	switch ev := ev.(type) {
	case ContactArrived:
		err = e.arrive(ev)
	case ContactAbandoned:
		err = e.abandon(ev)
	case ContactEnded:
		err = e.ended(ev)
	case ContactTransferred:
		err = e.transfer(ev)
	case ContactMoved:
		err = e.move(ev)
	case CallbackRequested:
		err = e.callback(ev)
	case AgentLoggedIn:
		err = e.login(ev)
	case AgentLoggedOut:
		err = e.logout(ev)
	case AgentStateRequested:
		err = e.stateRequest(ev)
	case OfferAccepted:
		err = e.accept(ev)
	case OfferRejected:
		err = e.reject(ev)
	case WrapUpDone:
		err = e.wrapDone(ev)
	case Tick:
		e.tick()
	case ConfigReloaded:
		err = e.reload(ev.Config)
	case AgentUpserted:
		err = e.upsert(ev.Agent)
	case ConsultRequested:
		err = e.consultRequest(ev)
	case ConsultUpdated:
		err = e.consultUpdate(ev)
	case NodeLost:
		e.nodeLost(ev)
	default:
		err = fmt.Errorf("%w: %T", ErrUnknownEvent, ev)
	}
	e.drain()
	// The caller owns the result: one exact-size copy; the scratch buffer
	// is cleared so it keeps no commands alive, and reused unless huge.
	out := make([]Command, len(e.out))
	copy(out, e.out)
	clear(e.out)
	if cap(e.out) > 1<<16 { // an announce round of a long queue fits
		e.out = nil
	}
	return out, err
}

func (e *Engine) emit(c Command) { e.out = append(e.out, c) }

// drain lets freed agents pick contacts (contact choice: longest waiting,
// highest priority), then routes requeued contacts (agent choice).
func (e *Engine) drain() {
	e.matchInterpreters() // a freed interpreter takes a waiting request first
	defer e.matchInterpreters()
	fi, ri := 0, 0
	for fi < len(e.toFeed) || ri < len(e.toRoute) {
		if fi < len(e.toFeed) {
			a := e.toFeed[fi]
			e.toFeed[fi] = nil
			fi++
			a.feedQ = false
			e.feed(a)
			if a.idxDirty && !a.feedQ {
				e.reindex(a, true)
			}
			continue
		}
		c := e.toRoute[ri]
		e.toRoute[ri] = nil
		ri++
		c.routeQ = false
		if c.state == Waiting {
			e.route(c)
		}
	}
	e.toRoute = e.toRoute[:0]
	e.toFeed = e.toFeed[:0]
}

func (e *Engine) queueRoute(c *contact) {
	if !c.routeQ {
		c.routeQ = true
		e.toRoute = append(e.toRoute, c)
	}
}

func (e *Engine) queueFeed(a *agent) {
	if !a.feedQ {
		a.feedQ = true
		e.toFeed = append(e.toFeed, a)
	}
}

func (e *Engine) markDirty(q *queue) {
	q.annDue = true
	e.scheduleAnnounce(q)
	if q.dirty {
		return
	}
	q.dirty = true
	e.dirty = append(e.dirty, q)
	if !e.statsSet {
		e.statsSet = true
		if e.statsAt.Before(e.now) {
			e.statsAt = e.now
		}
	}
}

func (e *Engine) addTimer(t timer) {
	e.tseq++
	t.seq = e.tseq
	t.ns = t.at.UnixNano()
	e.timers.push(t)
	if len(e.timers) > e.compactAt {
		e.compactTimers()
	}
}

// compactTimers drops timers that can no longer change anything (closed
// contacts' 24 h bounds, answered offers, ...). It runs when the heap has
// doubled since the last compaction: amortized O(1) per timer.
func (e *Engine) compactTimers() {
	kept := e.timers[:0]
	for _, t := range e.timers {
		if e.live(t) {
			kept = append(kept, t)
		}
	}
	clear(e.timers[len(kept):])
	e.timers = kept
	for i := len(kept)/2 - 1; i >= 0; i-- {
		e.timers.down(i)
	}
	e.compactAt = 2*len(kept) + 4096
}

// agentChanged re-derives a's state, emits AgentStateChanged when it (or
// the reason) changed, keeps per-queue counters and heaps, and schedules a
// feed when the agent can take a contact.
func (e *Engine) agentChanged(a *agent, why string, force bool) {
	if a.Idle() && a.ApplyNext() {
		force = true
		if a.Base == agents.Ready {
			a.IdleSince = e.now
		}
	}
	st := a.Derive()
	if st != a.State || force {
		if st != a.State {
			for i := range a.mem {
				q := a.mem[i].q
				q.byState[a.State]--
				q.byState[st]++
				e.markDirty(q)
			}
			a.State = st
			a.Since = e.now
		}
		reason := why
		if st == agents.NotReady {
			reason = a.Reason
		}
		next := AgentState(st)
		if a.HasNext {
			next = AgentState(a.Next)
		}
		ev := AgentStateChanged{Agent: a.id, State: AgentState(st), Reason: reason, Next: next, At: e.now, Active: a.Active.Total()}
		if st == agents.WrapUp {
			ev.WrapUntil = a.WrapUntil
		}
		e.emit(ev)
	}
	if a.Available(agents.Voice, true) || a.Available(agents.Chat, true) {
		// Removals now; insertions after the agent's own choice (drain),
		// which usually makes it unavailable again: a freed agent at peak
		// never touches the heaps.
		e.reindex(a, false)
		a.idxDirty = true
		e.queueFeed(a)
		return
	}
	e.reindex(a, true)
}

// reindex puts a into exactly the ready heaps where it can take a contact.
// With add false it only removes it where it no longer may be offered.
func (e *Engine) reindex(a *agent, add bool) {
	a.idleKey = a.IdleSince.UnixNano()
	if add {
		a.idxDirty = false
	}
	for i := range a.mem {
		m := &a.mem[i]
		for _, ch := range [2]Channel{Voice, Chat} {
			want := a.Available(agents.Channel(ch), m.q.def.ChatWhileBusy)
			h := &m.q.ready[ch]
			switch p := m.pos[ch]; {
			case want && p < 0:
				if add {
					h.push(a, i)
				}
			case want:
				if add {
					h.fix(p)
				}
			case p >= 0:
				h.remove(p)
			}
		}
	}
}

// shiftWaiting moves waiting contact c's count from its queue to q (the
// caller sets c.q).
func (e *Engine) shiftWaiting(c *contact, q *queue) {
	c.q.waiting--
	q.waiting++
	if c.callback {
		c.q.cbs--
		q.cbs++
	}
	e.markDirty(c.q)
	e.markDirty(q)
}

func (e *Engine) setContactState(c *contact, st ContactState, reason string) {
	first := c.state == 0
	if c.state == Waiting && st != Waiting {
		c.q.waiting--
		if c.callback {
			c.q.cbs--
		}
		e.markDirty(c.q)
	} else if c.state != Waiting && st == Waiting {
		c.q.waiting++
		if c.callback {
			c.q.cbs++
		}
		e.markDirty(c.q)
	}
	c.state = st
	c.since = e.now
	c.reason = reason
	var ag AgentID
	if c.agent != nil {
		ag = c.agent.id
	} else if st == Ended && c.last != nil {
		ag = c.last.id
	}
	ev := ContactStateChanged{Contact: c.id, State: st, Queue: c.q.def.ID, Agent: ag, Reason: reason, At: e.now}
	if first {
		// The arrival carries the whole contact, so the store can write its row.
		ev.Channel, ev.Number, ev.Citizen, ev.Arrived = c.ch, c.number, c.citizen, c.arrived
	}
	e.emit(ev)
}

// Snapshot and lookups -------------------------------------------------------

// NextDeadline is the earliest time a Tick would change something: an
// offer timeout, wrap-up end, escalation or overflow step, preferred-agent
// wait, reconciler bound, announcement round or statistics delta.
func (e *Engine) NextDeadline() (time.Time, bool) {
	for len(e.timers) > 0 && !e.live(e.timers[0]) {
		e.timers.pop()
	}
	var at time.Time
	ok := false
	if len(e.timers) > 0 {
		at, ok = e.timers[0].at, true
	}
	if e.statsSet && (!ok || e.statsAt.Before(at)) {
		at, ok = e.statsAt, true
	}
	return at, ok
}

func sortedKeys[K ~string | ~uint64, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

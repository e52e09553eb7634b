package router

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"onecall/agents"
	"onecall/queues"
)

// MarshalState and RestoreState save and restore the engine's whole state,
// so a cluster replica starts from a snapshot instead of replaying its log
// from the first entry: an engine restored from the state saved after
// event k, then given events k+1..n, emits the same commands and shows the
// same views as the engine that applied 1..n. The state holds the config,
// every queue, agent, contact and timer, with the exact order of every
// structure whose order can decide (heaps, lists, buckets, pins), so ties
// break the same way. It is JSON with a version (stateVersion), written
// and read by the engine's own goroutine.
//
// state_test.go checks that every field of the engine's structures is
// listed here: a field added without saving it fails the tests.

const stateVersion = 1

type stateWire struct {
	Version   int
	Config    configWire
	Epoch     time.Time
	Now       time.Time
	Tseq      uint64
	CompactAt int
	Oseq      uint64
	StatsAt   time.Time
	StatsSet  bool
	Queues    []queueWire // live queues in queueList order, then orphans
	Agents    []agentWire
	Contacts  []contactWire
	Timers    []timerWire // heap order
	Preferred []prefWire  // by citizen
	PrefFIFO  []prefWire
	Dirty     []int
	Interps   []int // contact refs, in order
	Closed    []closedWire
}

type closedWire struct {
	ID     ContactID
	Reason EndReason
	At     time.Time
}

type queueWire struct {
	ID       string
	Live     bool // in queueList (built from the config)
	Orphan   bool
	Def      *QueueDef // orphans only: live queues come from the config
	Buckets  [3][]bucketWire
	Ready    [3][]hentWire
	ByState  [agents.NumStates]int
	Members  int
	ChatCap  int
	Stats    *queues.StatsState
	Waiting  int
	Cbs      int
	AhtMin   int64
	AhtVal   time.Duration
	Dirty    bool
	AnnDue   bool
	AnnSet   bool
	LastAnn  time.Time
	BareDefs bool // an orphan made for a contact without a queue (no skills, no stats)
}

type bucketWire struct {
	Key    string
	Reqs   []agents.Req
	Strict bool
}

type hentWire struct {
	Agent int
	Slot  int32
}

type agentWire struct {
	ID        AgentID
	InMap     bool
	Agent     agents.Agent
	Def       AgentDef
	Mem       []memWire
	Pinned    []int // contact refs
	Contacts  []int
	LastOffer uint64
	IdleKey   int64
	WrapSeq   uint32
	FeedQ     bool
	IdxDirty  bool
	Known     bool
}

type memWire struct {
	Queue int
	Score int
	SOK   bool
	Pos   [3]int
}

type itemWire struct {
	Queue  int // the bucket's queue
	Bucket int // index in its queue's buckets of the contact's channel
	Score  int64
}

type guestWire struct {
	Queue   int
	Guarded bool
	In      bool
	Score   int64
	Arrival int64
}

type consultWire struct {
	By       int
	Target   int
	Queue    string
	Number   string
	Note     string
	Talking  bool
	Conf     bool
	Seq      uint32
	Deadline time.Time
	Lang     string
	Waiting  bool
	Until    time.Time
	Wait     time.Duration
	Tried    []int
}

type contactWire struct {
	ID          ContactID
	InMap       bool
	Ch          Channel
	Number      string
	Language    string
	Citizen     string
	Attrs       map[string]string
	Queue       int
	Prio        int
	Reqs        []agents.Req
	Arrived     time.Time
	State       ContactState
	Since       time.Time
	Item        *itemWire // listed in a bucket (and in its queue's byArr)
	Guests      []guestWire
	Agent       int
	Last        int
	Missed      int
	MissedUntil time.Time
	Xfer        []int
	OfferSeq    uint32
	EscIdx      int
	Reason      string
	Pinned      int
	PinWhy      Why
	Parked      bool
	TalkAt      time.Time
	AnnPos      int
	AnnEWT      time.Duration
	RouteQ      bool
	Callback    bool
	Consult     *consultWire
}

type timerWire struct {
	At    time.Time
	Seq   uint64
	Kind  uint8
	N     uint32
	Cid   ContactID
	Agent int
	Queue int
}

type prefWire struct {
	Citizen string
	Agent   int
	At      time.Time
}

// refs numbers the distinct pointers it is given, in first-seen order.
type refs[T any] struct {
	idx  map[*T]int
	list []*T
}

// ref returns p's number (-1 for nil), numbering it when it is new.
func (r *refs[T]) ref(p *T) int {
	if p == nil {
		return -1
	}
	if i, ok := r.idx[p]; ok {
		return i
	}
	if r.idx == nil {
		r.idx = map[*T]int{}
	}
	r.idx[p] = len(r.list)
	r.list = append(r.list, p)
	return len(r.list) - 1
}

// stateRefs numbers the queues, agents and contacts a state points at.
type stateRefs struct {
	qs   refs[queue]
	as   refs[agent]
	cs   refs[contact]
	inCM map[*contact]bool
	live int // the first live queues are the engine's queueList
}

func (r *stateRefs) q(q *queue) int   { return r.qs.ref(q) }
func (r *stateRefs) a(a *agent) int   { return r.as.ref(a) }
func (r *stateRefs) c(c *contact) int { return r.cs.ref(c) }

// MarshalState returns the engine's whole state (see above).
func (e *Engine) MarshalState() ([]byte, error) {
	st, err := e.SaveState()
	if err != nil {
		return nil, err
	}
	return st.Marshal()
}

// EngineState is a copy of an engine's state, taken by SaveState on the
// engine's goroutine (it shares only data the engine never changes in
// place) and encoded by Marshal on any goroutine, so a large snapshot
// holds routing up only for the copy (about a tenth of the encoding).
type EngineState struct{ w stateWire }

// Marshal encodes the state as MarshalState does.
func (s *EngineState) Marshal() ([]byte, error) { return json.Marshal(s.w) }

// SaveState copies the engine's whole state.
func (e *Engine) SaveState() (*EngineState, error) {
	w := stateWire{
		Version: stateVersion, Config: wireConfig(e.cfg), Epoch: e.epoch, Now: e.now, Tseq: e.tseq,
		CompactAt: e.compactAt, Oseq: e.oseq, StatsAt: e.statsAt, StatsSet: e.statsSet,
	}
	r := &stateRefs{inCM: map[*contact]bool{}}
	for _, q := range e.queueList {
		r.q(q)
	}
	r.live = len(r.qs.list)
	for _, id := range sortedKeys(e.agents) {
		r.a(e.agents[id])
	}
	for _, id := range sortedKeys(e.contacts) {
		r.c(e.contacts[id])
		r.inCM[e.contacts[id]] = true
	}
	for _, t := range e.timers {
		w.Timers = append(w.Timers, timerWire{At: t.at, Seq: t.seq, Kind: t.kind, N: t.n, Cid: t.cid, Agent: r.a(t.a), Queue: r.q(t.q)})
	}
	for _, cit := range sortedKeys(e.preferred) {
		p := e.preferred[cit]
		w.Preferred = append(w.Preferred, prefWire{Citizen: cit, Agent: r.a(p.agent), At: p.at})
	}
	for _, p := range e.prefFIFO {
		w.PrefFIFO = append(w.PrefFIFO, prefWire{Citizen: p.citizen, Agent: -1, At: p.at})
	}
	for _, q := range e.dirty {
		w.Dirty = append(w.Dirty, r.q(q))
	}
	for _, c := range e.interps {
		w.Interps = append(w.Interps, r.c(c))
	}
	for _, c := range e.closed {
		w.Closed = append(w.Closed, closedWire{ID: c.id, Reason: c.reason, At: c.at})
	}
	// Walk the tables to a fixed point: each entry may reach more.
	for qi, ai, ci := 0, 0, 0; qi < len(r.qs.list) || ai < len(r.as.list) || ci < len(r.cs.list); {
		for ; ci < len(r.cs.list); ci++ {
			w.Contacts = append(w.Contacts, r.contact(r.cs.list[ci]))
		}
		for ; ai < len(r.as.list); ai++ {
			w.Agents = append(w.Agents, r.agent(e, r.as.list[ai]))
		}
		for ; qi < len(r.qs.list); qi++ {
			w.Queues = append(w.Queues, r.queue(r.qs.list[qi]))
			w.Queues[qi].Live = qi < len(e.queueList)
		}
	}
	return &EngineState{w: w}, nil
}

func (r *stateRefs) queue(q *queue) queueWire {
	w := queueWire{
		ID: q.def.ID, Orphan: q.orphan, ByState: q.byState, Members: q.members, ChatCap: q.chatCap,
		Waiting: q.waiting, Cbs: q.cbs, AhtMin: q.ahtMin, AhtVal: q.ahtVal, Dirty: q.dirty, AnnDue: q.annDue,
		AnnSet: q.annSet, LastAnn: q.lastAnn,
	}
	if r.qs.idx[q] >= r.live {
		d := q.def
		w.Def = &d
		w.BareDefs = q.stats == nil
	}
	if q.stats != nil {
		st := q.stats.State()
		w.Stats = &st
	}
	for ch := range q.buckets {
		for _, b := range q.buckets[ch] {
			w.Buckets[ch] = append(w.Buckets[ch], bucketWire{Key: b.key, Reqs: b.reqs, Strict: b.strict})
		}
		for _, h := range q.ready[ch].h {
			w.Ready[ch] = append(w.Ready[ch], hentWire{Agent: r.a(h.a), Slot: h.slot})
		}
	}
	return w
}

func (r *stateRefs) agent(e *Engine, a *agent) agentWire {
	_, inMap := e.agents[a.id]
	inMap = inMap && e.agents[a.id] == a
	w := agentWire{
		ID: a.id, InMap: inMap, Agent: a.Agent, Def: a.def, LastOffer: a.lastOffer, IdleKey: a.idleKey,
		WrapSeq: a.wrapSeq, FeedQ: a.feedQ, IdxDirty: a.idxDirty, Known: a.known,
	}
	for _, m := range a.mem {
		w.Mem = append(w.Mem, memWire{Queue: r.q(m.q), Score: m.score, SOK: m.sOK, Pos: m.pos})
	}
	for _, c := range a.pinned {
		w.Pinned = append(w.Pinned, r.c(c))
	}
	for _, c := range a.contacts {
		w.Contacts = append(w.Contacts, r.c(c))
	}
	return w
}

func (r *stateRefs) contact(c *contact) contactWire {
	w := contactWire{
		ID: c.id, InMap: r.inCM[c], Ch: c.ch, Number: c.number, Language: c.language, Citizen: c.citizen,
		Attrs: c.attrs, Queue: r.q(c.q), Prio: c.prio, Reqs: c.reqs, Arrived: c.arrived, State: c.state,
		Since: c.since, Agent: r.a(c.agent), Last: r.a(c.last), Missed: r.a(c.missed), MissedUntil: c.missedUntil,
		OfferSeq: c.offerSeq, EscIdx: c.escIdx, Reason: c.reason, Pinned: r.a(c.pinned), PinWhy: c.pinWhy,
		Parked: c.parked, TalkAt: c.talkAt, AnnPos: c.annPos, AnnEWT: c.annEWT, RouteQ: c.routeQ, Callback: c.callback,
	}
	if b := c.bucket; b != nil {
		w.Item = &itemWire{Queue: r.q(b.q), Bucket: slices.Index(b.q.buckets[b.ch], b), Score: c.item.Score}
	}
	for _, g := range c.guests {
		w.Guests = append(w.Guests, guestWire{Queue: r.q(g.q), Guarded: g.guarded, In: g.item.In(), Score: g.item.Score, Arrival: g.item.Arrival})
	}
	for _, a := range c.xfer {
		w.Xfer = append(w.Xfer, r.a(a))
	}
	if k := c.consult; k != nil {
		w.Consult = &consultWire{By: r.a(k.by), Target: r.a(k.target), Queue: k.queue, Number: k.number, Note: k.note,
			Talking: k.talking, Conf: k.conf, Seq: k.seq, Deadline: k.deadline, Lang: k.lang, Waiting: k.waiting,
			Until: k.until, Wait: k.wait}
		for _, a := range k.tried {
			w.Consult.Tried = append(w.Consult.Tried, r.a(a))
		}
	}
	return w
}

// RestoreState returns an engine in the state MarshalState saved.
func RestoreState(b []byte) (*Engine, error) {
	var w stateWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: state: %v", ErrCodec, err)
	}
	if w.Version != stateVersion {
		return nil, fmt.Errorf("%w: state version %d, want %d", ErrCodec, w.Version, stateVersion)
	}
	cfg := withDefaults(configFromWire(w.Config))
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, epoch: w.Epoch, now: w.Now, tseq: w.Tseq, compactAt: w.CompactAt, oseq: w.Oseq,
		statsAt: w.StatsAt, statsSet: w.StatsSet,
		agents: make(map[AgentID]*agent, len(w.Agents)), contacts: make(map[ContactID]*contact, len(w.Contacts)),
		preferred: make(map[string]pref, len(w.Preferred)),
	}
	e.build()
	bad := func(what string, args ...any) (*Engine, error) {
		return nil, fmt.Errorf("%w: state: "+what, append([]any{ErrCodec}, args...)...)
	}
	// Tables.
	qs := make([]*queue, len(w.Queues))
	for i, qw := range w.Queues {
		switch {
		case qw.Live:
			if qs[i] = e.queues[qw.ID]; qs[i] == nil || qs[i] != e.queueList[i] {
				return bad("queue %q not in the config", qw.ID)
			}
		case qw.Def == nil:
			return bad("queue %q without its definition", qw.ID)
		case qw.BareDefs:
			qs[i] = &queue{def: *qw.Def}
		default:
			qs[i] = newQueueState(*qw.Def)
		}
		qs[i].orphan = qw.Orphan
	}
	live := 0
	for _, qw := range w.Queues {
		if qw.Live {
			live++
		}
	}
	if live != len(e.queueList) {
		return bad("%d live queues for %d in the config", live, len(e.queueList))
	}
	as := make([]*agent, len(w.Agents))
	for i, aw := range w.Agents {
		a := &agent{Agent: aw.Agent, id: aw.ID, def: aw.Def, lastOffer: aw.LastOffer, idleKey: aw.IdleKey,
			wrapSeq: aw.WrapSeq, feedQ: aw.FeedQ, idxDirty: aw.IdxDirty, known: aw.Known}
		as[i] = a
		if aw.InMap {
			e.agents[aw.ID] = a
		}
	}
	cs := make([]*contact, len(w.Contacts))
	for i, cw := range w.Contacts {
		c := &contact{id: cw.ID}
		cs[i] = c
		if cw.InMap {
			e.contacts[cw.ID] = c
		}
	}
	qref := func(i int) (*queue, bool) {
		if i == -1 {
			return nil, true
		}
		if i < 0 || i >= len(qs) {
			return nil, false
		}
		return qs[i], true
	}
	aref := func(i int) (*agent, bool) {
		if i == -1 {
			return nil, true
		}
		if i < 0 || i >= len(as) {
			return nil, false
		}
		return as[i], true
	}
	cref := func(i int) (*contact, bool) {
		if i < 0 || i >= len(cs) {
			return nil, false
		}
		return cs[i], true
	}
	// Queues' own state and buckets.
	for i, qw := range w.Queues {
		q := qs[i]
		q.byState, q.members, q.chatCap, q.waiting, q.cbs = qw.ByState, qw.Members, qw.ChatCap, qw.Waiting, qw.Cbs
		q.ahtMin, q.ahtVal, q.dirty, q.annDue, q.annSet, q.lastAnn = qw.AhtMin, qw.AhtVal, qw.Dirty, qw.AnnDue, qw.AnnSet, qw.LastAnn
		if qw.Stats != nil {
			q.stats = queues.RestoreStats(*qw.Stats, kst)
		}
		for ch := range qw.Buckets {
			q.buckets[ch] = nil
			for _, bw := range qw.Buckets[ch] {
				q.buckets[ch] = append(q.buckets[ch], &bucket{q: q, ch: Channel(ch), key: bw.Key, reqs: bw.Reqs, strict: bw.Strict})
			}
		}
	}
	// Agents.
	for i, aw := range w.Agents {
		a := as[i]
		for _, m := range aw.Mem {
			q, ok := qref(m.Queue)
			if !ok || q == nil {
				return bad("agent %s: bad queue ref", aw.ID)
			}
			a.mem = append(a.mem, membership{q: q, score: m.Score, sOK: m.SOK, pos: m.Pos})
		}
		for _, x := range aw.Pinned {
			c, ok := cref(x)
			if !ok {
				return bad("agent %s: bad contact ref", aw.ID)
			}
			a.pinned = append(a.pinned, c)
		}
		for _, x := range aw.Contacts {
			c, ok := cref(x)
			if !ok {
				return bad("agent %s: bad contact ref", aw.ID)
			}
			a.contacts = append(a.contacts, c)
		}
	}
	// Contacts.
	for i, cw := range w.Contacts {
		c := cs[i]
		var ok [6]bool
		c.q, ok[0] = qref(cw.Queue)
		c.agent, ok[1] = aref(cw.Agent)
		c.last, ok[2] = aref(cw.Last)
		c.missed, ok[3] = aref(cw.Missed)
		c.pinned, ok[4] = aref(cw.Pinned)
		ok[5] = c.q != nil
		if slices.Contains(ok[:], false) {
			return bad("contact %d: bad reference", cw.ID)
		}
		c.ch, c.number, c.language, c.citizen, c.attrs = cw.Ch, cw.Number, cw.Language, cw.Citizen, cw.Attrs
		c.prio, c.reqs, c.arrived, c.state, c.since = cw.Prio, cw.Reqs, cw.Arrived, cw.State, cw.Since
		c.missedUntil, c.offerSeq, c.escIdx, c.reason, c.pinWhy = cw.MissedUntil, cw.OfferSeq, cw.EscIdx, cw.Reason, cw.PinWhy
		c.parked, c.talkAt, c.annPos, c.annEWT, c.routeQ, c.callback = cw.Parked, cw.TalkAt, cw.AnnPos, cw.AnnEWT, cw.RouteQ, cw.Callback
		if c.ch != Voice && c.ch != Chat {
			return bad("contact %d: channel %d", cw.ID, cw.Ch)
		}
		for _, x := range cw.Xfer {
			a, ok := aref(x)
			if !ok || a == nil {
				return bad("contact %d: bad transfer ref", cw.ID)
			}
			c.xfer = append(c.xfer, a)
		}
		if k := cw.Consult; k != nil {
			by, ok1 := aref(k.By)
			tg, ok2 := aref(k.Target)
			if !ok1 || !ok2 || by == nil {
				return bad("contact %d: bad consult ref", cw.ID)
			}
			c.consult = &consult{by: by, target: tg, queue: k.Queue, number: k.Number, note: k.Note,
				talking: k.Talking, conf: k.Conf, seq: k.Seq, deadline: k.Deadline, lang: k.Lang,
				waiting: k.Waiting, until: k.Until, wait: k.Wait}
			for _, x := range k.Tried {
				a, ok := aref(x)
				if !ok || a == nil {
					return bad("contact %d: bad interpreter ref", cw.ID)
				}
				c.consult.tried = append(c.consult.tried, a)
			}
		}
		if it := cw.Item; it != nil {
			bq, ok := qref(it.Queue)
			if !ok || bq == nil || it.Bucket < 0 || it.Bucket >= len(bq.buckets[c.ch]) {
				return bad("contact %d: bad bucket ref", cw.ID)
			}
			b := bq.buckets[c.ch][it.Bucket]
			c.item = queues.Item{ID: uint64(c.id), Score: it.Score, Arrival: c.arrived.UnixNano(), Owner: c}
			b.list.Push(&c.item)
			c.bucket = b
			c.arrItem = queues.Item{ID: uint64(c.id), Arrival: c.arrived.UnixNano(), Owner: c}
			bq.byArr.Push(&c.arrItem)
		}
		for _, gw := range cw.Guests {
			gq, ok := qref(gw.Queue)
			if !ok || gq == nil {
				return bad("contact %d: bad guest ref", cw.ID)
			}
			g := &guest{q: gq, guarded: gw.Guarded}
			g.item = queues.Item{ID: uint64(c.id), Score: gw.Score, Arrival: gw.Arrival, Owner: c}
			c.guests = append(c.guests, g)
			if gw.In {
				if gw.Guarded {
					gq.guarded[c.ch].Push(&g.item)
				} else {
					gq.guests[c.ch].Push(&g.item)
				}
			}
		}
	}
	// Ready heaps, exactly as they were laid out.
	for i, qw := range w.Queues {
		q := qs[i]
		for ch := range qw.Ready {
			h := agentHeap{q: q, ch: Channel(ch)}
			for j, hw := range qw.Ready[ch] {
				a, ok := aref(hw.Agent)
				// An orphan's heap may hold stale entries (reload rebuilt
				// the agents' memberships): kept as they are.
				if !ok || a == nil || hw.Slot < 0 || (qw.Live && (int(hw.Slot) >= len(a.mem) || a.mem[hw.Slot].q != q || a.mem[hw.Slot].pos[ch] != j)) {
					return bad("queue %s: bad heap entry", qw.ID)
				}
				h.h = append(h.h, hent{a: a, slot: hw.Slot})
			}
			q.ready[ch] = h
		}
	}
	for _, tw := range w.Timers {
		a, ok1 := aref(tw.Agent)
		q, ok2 := qref(tw.Queue)
		if !ok1 || !ok2 || (tw.Kind == tWrap && a == nil) || ((tw.Kind == tAnnounce || tw.Kind == tEscalate || tw.Kind == tOverflow) && q == nil) {
			return bad("timer %d: bad reference", tw.Seq)
		}
		e.timers = append(e.timers, timer{at: tw.At, ns: tw.At.UnixNano(), seq: tw.Seq, kind: tw.Kind, n: tw.N, cid: tw.Cid, a: a, q: q})
	}
	for _, p := range w.Preferred {
		a, ok := aref(p.Agent)
		if !ok || a == nil {
			return bad("preferred agent of %q", p.Citizen)
		}
		e.preferred[p.Citizen] = pref{agent: a, at: p.At}
	}
	for _, p := range w.PrefFIFO {
		e.prefFIFO = append(e.prefFIFO, prefRec{citizen: p.Citizen, at: p.At})
	}
	for _, x := range w.Interps {
		c, ok := cref(x)
		if !ok {
			return bad("interpretation request ref")
		}
		e.interps = append(e.interps, c)
	}
	for _, x := range w.Dirty {
		q, ok := qref(x)
		if !ok || q == nil {
			return bad("dirty queue ref")
		}
		e.dirty = append(e.dirty, q)
	}
	for i, c := range w.Closed {
		if i > 0 && c.At.Before(w.Closed[i-1].At) {
			return bad("closed chats out of order")
		}
		if e.closedIdx == nil {
			e.closedIdx = make(map[ContactID]int, len(w.Closed))
		}
		e.closedIdx[c.ID] = len(e.closed)
		e.closed = append(e.closed, closedRec{id: c.ID, reason: c.Reason, at: c.At})
	}
	return e, nil
}

// newQueueState builds the live state of queue definition d (build and
// RestoreState).
func newQueueState(d QueueDef) *queue {
	q := &queue{def: d, strict: toReqs(d.Skills), stats: queues.NewStats(d.SLThreshold, kst)}
	q.sKey = reqKey(q.strict)
	q.loose = slices.Clone(q.strict)
	for _, st := range d.Escalation {
		for _, r := range st.Relax {
			for i := range q.loose {
				if q.loose[i].Skill == r.Skill && r.Min < q.loose[i].Min {
					q.loose[i].Min = r.Min
				}
			}
		}
	}
	for ch := range q.ready {
		q.ready[ch] = agentHeap{q: q, ch: Channel(ch)}
	}
	return q
}

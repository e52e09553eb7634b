package router

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// model tracks what the commands say, to check invariants independently of
// the engine's internals.
type model struct {
	t        *testing.T
	e        *Engine
	caps     map[AgentID][2]int // voice, chat
	offered  map[ContactID]AgentID
	talking  map[ContactID]AgentID
	channel  map[ContactID]Channel
	closed   map[ContactID]bool
	arrived  map[ContactID]bool
	loggedIn map[AgentID]bool
	deadline map[ContactID]time.Time             // outstanding offers' deadlines
	missedAt map[ContactID]map[AgentID]time.Time // when an agent's offer was withdrawn
	log      strings.Builder
	nextID   ContactID
	now      time.Time
}

func (m *model) apply(ev Event) {
	m.t.Helper()
	cmds, err := m.e.Apply(ev, m.now)
	fmt.Fprintf(&m.log, "%v %T%+v err=%v\n", m.now.Unix(), ev, ev, err)
	withdrawn := map[ContactID]bool{}
	m.checkNoIdleMatch()
	for _, c := range cmds {
		if c, ok := c.(ContactStateChanged); ok {
			withdrawn[c.Contact] = true // changed in this batch: order within it is not checked
		}
	}
	for _, c := range cmds {
		k, text := fmtCmd(c, defaultStart)
		_ = k
		m.log.WriteString(text)
		m.log.WriteByte('\n')
		switch c := c.(type) {
		case Offer:
			if a, dup := m.offered[c.Contact]; dup {
				m.t.Fatalf("double offer of c%d (to %s and %s)", c.Contact, a, c.Agent)
			}
			if _, talk := m.talking[c.Contact]; talk || m.closed[c.Contact] {
				m.t.Fatalf("offer of c%d that is talking or closed", c.Contact)
			}
			m.offered[c.Contact] = c.Agent
			m.deadline[c.Contact] = c.Deadline
			m.checkCapacity(c.Agent)
			m.checkFIFO(c, withdrawn)
		case OfferWithdrawn:
			if m.offered[c.Contact] != c.Agent {
				m.t.Fatalf("withdrawn c%d from %s, not offered to it", c.Contact, c.Agent)
			}
			delete(m.offered, c.Contact)
			withdrawn[c.Contact] = true
			at := m.now
			if m.deadline[c.Contact].Before(m.now) && strings.HasPrefix(c.Reason, "offer timed out") {
				at = m.deadline[c.Contact] // timed out at its deadline
			}
			if m.missedAt[c.Contact] == nil {
				m.missedAt[c.Contact] = map[AgentID]time.Time{}
			}
			m.missedAt[c.Contact][c.Agent] = at
		case Connected:
			if m.offered[c.Contact] != c.Agent {
				m.t.Fatalf("connected c%d to %s without offer", c.Contact, c.Agent)
			}
			delete(m.offered, c.Contact)
			m.talking[c.Contact] = c.Agent
		case ContactStateChanged:
			if c.State == Waiting || c.State == CallbackBooked {
				if _, ok := m.offered[c.Contact]; ok {
					m.t.Fatalf("c%d %v with an outstanding offer", c.Contact, c.State)
				}
				delete(m.talking, c.Contact)
			}
		case ContactClosed:
			if m.closed[c.Contact] {
				m.t.Fatalf("c%d closed twice", c.Contact)
			}
			if !m.arrived[c.Contact] {
				m.t.Fatalf("c%d closed but never arrived", c.Contact)
			}
			if _, ok := m.offered[c.Contact]; ok {
				m.t.Fatalf("c%d closed with an outstanding offer", c.Contact)
			}
			m.closed[c.Contact] = true
			delete(m.talking, c.Contact)
		}
	}
}

// checkNoIdleMatch: after every event, no available agent is eligible for a
// listed waiting contact of a queue it serves (nothing is left waiting
// while someone could take it).
func (m *model) checkNoIdleMatch() {
	for _, q := range m.e.queueList {
		for ch := range q.buckets {
			for _, b := range q.buckets[ch] {
				if b.list.Len() == 0 {
					continue
				}
				for _, h := range q.ready[ch].h {
					if h.a.Skills.Meets(b.reqs) && !m.allSkip(b, h.a) {
						m.t.Log(m.tail())
						m.t.Fatalf("agent %s is available in %s/%v while c%d waits there", h.a.id, q.def.ID, Channel(ch), b.list.Peek().ID)
					}
				}
			}
		}
	}
}

// skipped: o's agent had missed y within y's skip window at o's (logical)
// offer time, its deadline minus the offer timeout.
func (m *model) skipped(y *contact, o Offer) bool {
	w, ok := m.missedAt[y.id][o.Agent]
	if !ok {
		return false
	}
	x := m.e.contacts[o.Contact]
	offerAt := o.Deadline.Add(-x.q.offerTimeout(x.ch))
	return offerAt.Before(w.Add(y.q.offerTimeout(y.ch)))
}

func (m *model) allSkip(b *bucket, a *agent) bool {
	for _, it := range b.list.Sorted() {
		if !m.e.skips(m.e.contacts[ContactID(it.ID)], a) {
			return false
		}
	}
	return true
}

func (m *model) tail() string {
	lg := m.log.String()
	if len(lg) > 6000 {
		lg = lg[len(lg)-6000:]
	}
	return lg
}

func (m *model) checkCapacity(a AgentID) {
	var v, ch int
	for id, x := range m.offered {
		if x == a {
			if m.channel[id] == Voice {
				v++
			} else {
				ch++
			}
		}
	}
	for id, x := range m.talking {
		if x == a {
			if m.channel[id] == Voice {
				v++
			} else {
				ch++
			}
		}
	}
	c := m.caps[a]
	if v > c[0] || ch > c[1] || (v > 0 && ch > 0) {
		lg := m.log.String()
		if len(lg) > 3000 {
			lg = lg[len(lg)-3000:]
		}
		m.t.Fatalf("%s\nagent %s over capacity: voice %d/%d chat %d/%d", lg, a, v, c[0], ch, c[1])
	}
}

// checkFIFO: no contact of the same queue, channel, skills and base priority
// that arrived earlier is still waiting while a later one is offered, unless
// it just came back from an offer (it skips the agent that missed it once).
func (m *model) checkFIFO(o Offer, withdrawn map[ContactID]bool) {
	x := m.e.contacts[o.Contact]
	ag := m.e.agents[o.Agent]
	if x == nil || len(x.guests) > 0 || x.escIdx > 0 || strings.Contains(o.Reason, "preferred") {
		return
	}
	for _, y := range m.e.contacts {
		if y == x || y.state != Waiting || y.q != x.q || y.ch != x.ch || y.prio != x.prio || withdrawn[y.id] ||
			y.pinned != nil || y.parked || reqKey(y.reqs) != reqKey(x.reqs) || y.escIdx > 0 || m.e.skips(y, ag) || m.skipped(y, o) {
			continue
		}
		if y.arrived.Before(x.arrived) {
			m.t.Log(m.tail())
			m.t.Fatalf("FIFO broken: c%d (arrived %v) offered (%s) while c%d (arrived %v, %+v) waits in %s", x.id, x.arrived, o.Reason, y.id, y.arrived, y.item, x.q.def.ID+fmt.Sprintf(" ybucket in q: %v, yitem=%p head=%p missed=%v routeQ=%v", slices.Contains(y.q.buckets[y.ch], y.bucket), &y.item, y.bucket.list.Peek(), y.missed, y.routeQ))
		}
	}
}

func randomConfig(r *rand.Rand) Config {
	skills := []string{"labor", "tax", "ko", "en"}
	cfg := Config{MissedOfferNotReady: r.IntN(2) == 0, MaxTalk: 20 * time.Minute, MaxWaiting: 30 * time.Minute}
	for i := range 4 {
		q := QueueDef{
			ID:             fmt.Sprintf("q%d", i),
			Skills:         []SkillReq{{Skill: skills[i%2], Min: 1 + r.IntN(3)}, {Skill: skills[2+r.IntN(2)], Min: 1}},
			Priority:       r.IntN(3),
			Weight:         1 + r.IntN(3),
			Strategy:       Strategy(r.IntN(4)),
			SLTarget:       0.8,
			SLThreshold:    20 * time.Second,
			MaxWaiting:     5 + r.IntN(20),
			OnFull:         FullAction(r.IntN(2)),
			FullTarget:     "q0",
			WrapUpVoice:    time.Duration(r.IntN(30)) * time.Second,
			WrapUpChat:     time.Duration(r.IntN(10)) * time.Second,
			AgingPerMinute: r.IntN(2),
			ChatWhileBusy:  r.IntN(2) == 0,
		}
		if i == 0 {
			q.OnFull = FullRefuse
		}
		if i == 1 {
			q.Escalation = []EscalationStep{{After: 40 * time.Second, Relax: []SkillReq{{Skill: skills[1], Min: 1}}}, {After: 90 * time.Second, AddQueue: "q2"}}
			q.Overflow = []OverflowTarget{{Queue: "q3", After: 60 * time.Second, Guarded: true}}
		}
		cfg.Queues = append(cfg.Queues, q)
	}
	cfg.Hotlines = []HotlineDef{{Number: "110", DefaultQueue: "q0", Schedule: Schedule{Always: true}}}
	for i := range 10 {
		d := AgentDef{ID: AgentID(fmt.Sprintf("a%02d", i)), Skills: map[string]int{}, Voice: 1, Chat: 1 + r.IntN(3)}
		for _, s := range skills {
			if r.IntN(3) > 0 {
				d.Skills[s] = 1 + r.IntN(5)
			}
		}
		cfg.Agents = append(cfg.Agents, d)
	}
	if r.IntN(2) == 0 {
		cfg.PreferredAgentWindow, cfg.PreferredAgentWait = time.Hour, 10*time.Second
	}
	return cfg
}

func runRandom(t *testing.T, seed uint64, steps int) string {
	r := rand.New(rand.NewPCG(seed, 7))
	cfg := randomConfig(r)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &model{t: t, e: e, caps: map[AgentID][2]int{}, offered: map[ContactID]AgentID{}, talking: map[ContactID]AgentID{},
		channel: map[ContactID]Channel{}, closed: map[ContactID]bool{}, arrived: map[ContactID]bool{}, loggedIn: map[AgentID]bool{},
		deadline: map[ContactID]time.Time{}, missedAt: map[ContactID]map[AgentID]time.Time{},
		now: defaultStart}
	var ids []AgentID
	for _, d := range cfg.Agents {
		m.caps[d.ID] = [2]int{d.Voice, d.Chat}
		ids = append(ids, d.ID)
	}
	pickMap := func(mp map[ContactID]AgentID) (ContactID, AgentID, bool) {
		if len(mp) == 0 {
			return 0, "", false
		}
		keys := sortedKeys(mp)
		k := keys[r.IntN(len(keys))]
		return k, mp[k], true
	}
	open := func() []ContactID {
		var out []ContactID
		for id := range m.arrived {
			if !m.closed[id] {
				out = append(out, id)
			}
		}
		slices.Sort(out)
		return out
	}
	for range steps {
		switch n := r.IntN(100); {
		case n < 25:
			m.nextID++
			id := m.nextID
			ch := Voice
			if r.IntN(3) == 0 {
				ch = Chat
			}
			m.channel[id], m.arrived[id] = ch, true
			ev := ContactArrived{Contact: id, Channel: ch, Queue: fmt.Sprintf("q%d", r.IntN(4)), Priority: r.IntN(2),
				Citizen: fmt.Sprintf("010-%d", r.IntN(20))}
			if r.IntN(4) == 0 {
				ev.Queue, ev.Number = "", "110"
			}
			m.apply(ev)
		case n < 40:
			if id, a, ok := pickMap(m.offered); ok {
				m.apply(OfferAccepted{Contact: id, Agent: a})
			}
		case n < 45:
			if id, a, ok := pickMap(m.offered); ok {
				m.apply(OfferRejected{Contact: id, Agent: a, Reason: "busy"})
			}
		case n < 60:
			if id, _, ok := pickMap(m.talking); ok {
				m.apply(ContactEnded{Contact: id, Reason: EndCompleted})
			}
		case n < 65:
			if o := open(); len(o) > 0 {
				m.apply(ContactAbandoned{Contact: o[r.IntN(len(o))]})
			}
		case n < 72:
			m.apply(AgentLoggedIn{Agent: ids[r.IntN(len(ids))], Ready: r.IntN(4) > 0})
		case n < 74:
			m.apply(AgentLoggedOut{Agent: ids[r.IntN(len(ids))]})
		case n < 80:
			st := Ready
			if r.IntN(3) == 0 {
				st = NotReady
			}
			m.apply(AgentStateRequested{Agent: ids[r.IntN(len(ids))], State: st, Reason: "break", Next: r.IntN(2) == 0})
		case n < 83:
			m.apply(WrapUpDone{Agent: ids[r.IntN(len(ids))]})
		case n < 85:
			if o := open(); len(o) > 0 {
				m.apply(ContactTransferred{Contact: o[r.IntN(len(o))], ToQueue: fmt.Sprintf("q%d", r.IntN(4))})
			}
		case n < 86:
			if o := open(); len(o) > 0 {
				m.apply(CallbackRequested{Contact: o[r.IntN(len(o))]})
			}
		default:
			m.now = m.now.Add(time.Duration(r.IntN(20000)) * time.Millisecond)
			for {
				dl, ok := e.NextDeadline()
				if !ok || dl.After(m.now) {
					break
				}
				m.apply(Tick{})
			}
		}
	}
	// Drain: everyone leaves; every contact must close exactly once.
	for _, id := range open() {
		if _, ok := m.talking[id]; ok {
			m.apply(ContactEnded{Contact: id})
		} else {
			m.apply(ContactAbandoned{Contact: id})
		}
	}
	for id := range m.arrived {
		if !m.closed[id] {
			t.Fatalf("seed %d: c%d never closed", seed, id)
		}
	}
	if len(e.contacts) != 0 {
		t.Fatalf("seed %d: %d contacts left in engine", seed, len(e.contacts))
	}
	for _, q := range e.queueList {
		if q.waiting != 0 {
			t.Fatalf("seed %d: queue %s waiting counter %d", seed, q.def.ID, q.waiting)
		}
		total := 0
		for _, n := range q.byState {
			total += n
		}
		if total != q.members {
			t.Fatalf("seed %d: queue %s byState %v sums to %d, members %d", seed, q.def.ID, q.byState, total, q.members)
		}
		// The chat capacity behind the chat wait estimate is the members'.
		chatCap := 0
		for _, a := range e.agents {
			for _, mem := range a.mem {
				if mem.q == q {
					chatCap += a.Cap.Chat
				}
			}
		}
		if chatCap != q.chatCap {
			t.Fatalf("seed %d: queue %s chat capacity %d, members hold %d", seed, q.def.ID, q.chatCap, chatCap)
		}
	}
	return m.log.String()
}

func TestRandomInvariants(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	for seed := range uint64(seeds) {
		a := runRandom(t, seed, 600)
		if seed%25 == 0 {
			if b := runRandom(t, seed, 600); a != b {
				t.Fatalf("seed %d: same input, different output", seed)
			}
		}
	}
}

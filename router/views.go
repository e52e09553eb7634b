package router

import (
	"slices"
	"time"

	"onecall/agents"
)

// AgentView is the read model of one agent for server/ and the console.
type AgentView struct {
	ID       AgentID
	State    AgentState
	Reason   string // not-ready reason or why the state changed
	Since    time.Time
	Next     AgentState // state applied after the current contacts; Offline (zero) = none
	HasNext  bool
	Active   []ContactID // contacts talking with the agent, ascending
	Offered  []ContactID // contacts offered to the agent, ascending
	Handled  int
	AHT      time.Duration // average handle time (talk + wrap-up) today
	Queues   []string
	LoggedIn bool
	// WrapUntil is when the wrap-up ends (State == WrapUp), zero otherwise.
	WrapUntil time.Time
}

// ContactView is the read model of one contact.
type ContactView struct {
	ID       ContactID
	State    ContactState
	Channel  Channel
	Queue    string
	Agent    AgentID // offered-to or talking-with agent
	Arrived  time.Time
	Waited   time.Duration
	Position int // 1-based in its queue; 0 when not waiting
	Priority int // effective priority now (queue + contact + aging)
	Reason   string
	Citizen  string
}

// Snapshot is a full read model: every queue and every agent, in id order.
type Snapshot struct {
	At     time.Time
	Queues []QueueSnapshot
	Agents []AgentView
}

// Snapshot returns every queue's statistics and every agent's view, in id
// order. It costs O(agents + waiting contacts): for supervisors and resync,
// not per event.
func (e *Engine) Snapshot() Snapshot {
	s := Snapshot{At: e.now, Queues: make([]QueueSnapshot, 0, len(e.queueList))}
	for _, q := range e.queueList {
		s.Queues = append(s.Queues, e.queueSnapshot(q))
	}
	for _, id := range sortedKeys(e.agents) {
		if a := e.agents[id]; a.known {
			s.Agents = append(s.Agents, e.agentView(a))
		}
	}
	return s
}

// QueueStats returns one queue's live statistics.
func (e *Engine) QueueStats(id string) (QueueSnapshot, bool) {
	q := e.queues[id]
	if q == nil {
		return QueueSnapshot{}, false
	}
	return e.queueSnapshot(q), true
}

func (e *Engine) queueSnapshot(q *queue) QueueSnapshot {
	today := q.stats.Today(e.now)
	w15 := q.stats.Window(e.now, 15*time.Minute)
	s := QueueSnapshot{
		Queue:         q.def.ID,
		Waiting:       q.waiting,
		SLToday:       today.SL(),
		SLTodayN:      today.Answered + today.AbandonedAfterSL,
		SL15m:         w15.SL(),
		SL15mN:        w15.Answered + w15.AbandonedAfterSL,
		SL60m:         q.stats.Window(e.now, time.Hour).SL(),
		ASA:           today.ASA(),
		Offered:       today.Offered,
		Answered:      today.Answered,
		Abandoned:     today.Abandoned,
		AgentsByState: make(map[AgentState]int, 4),
		EstimatedWait: e.ewt(q, Voice, q.waiting+1),
		Callbacks:     q.cbs,
	}
	for st, n := range q.byState {
		if n > 0 {
			s.AgentsByState[AgentState(st)] = n
		}
	}
	if it := q.byArr.Peek(); it != nil {
		s.LongestWait = e.now.Sub(time.Unix(0, it.Arrival))
	}
	return s
}

// Waiting lists the contacts listed in queue, in offer order per channel
// (voice first), with their positions.
func (e *Engine) Waiting(queue string) []ContactView {
	q := e.queues[queue]
	if q == nil {
		return nil
	}
	var out []ContactView
	for _, ch := range [2]Channel{Voice, Chat} {
		for i, it := range e.listed(q, ch, nil) {
			v := e.contactView(it.Owner.(*contact))
			v.Position = i + 1
			out = append(out, v)
		}
	}
	return out
}

// Contact returns the view of one live contact.
func (e *Engine) Contact(id ContactID) (ContactView, bool) {
	c := e.contacts[id]
	if c == nil {
		return ContactView{}, false
	}
	v := e.contactView(c)
	v.Position = e.position(c)
	return v, true
}

func (e *Engine) contactView(c *contact) ContactView {
	v := ContactView{
		ID: c.id, State: c.state, Channel: c.ch, Queue: c.q.def.ID, Arrived: c.arrived,
		Waited: e.now.Sub(c.arrived), Reason: c.reason, Citizen: c.citizen,
	}
	v.Priority = c.q.def.Priority + c.prio
	if c.state == Waiting {
		v.Priority = effective(c, e.now)
	}
	if c.agent != nil {
		v.Agent = c.agent.id
	} else if c.pinned != nil {
		v.Agent = c.pinned.id
	}
	return v
}

// Agent returns the view of one agent.
func (e *Engine) Agent(id AgentID) (AgentView, bool) {
	a := e.agents[id]
	if a == nil || !a.known {
		return AgentView{}, false
	}
	return e.agentView(a), true
}

func (e *Engine) agentView(a *agent) AgentView {
	v := AgentView{
		ID: a.id, State: AgentState(a.State), Since: a.Since, Handled: a.Handled, AHT: a.AHT(),
		LoggedIn: a.LoggedIn, HasNext: a.HasNext,
	}
	if a.State == agents.NotReady {
		v.Reason = a.Reason
	}
	if a.State == agents.WrapUp {
		v.WrapUntil = a.WrapUntil
	}
	if a.HasNext {
		v.Next = AgentState(a.Next)
	}
	for _, c := range a.contacts {
		if c.state == Talking {
			v.Active = append(v.Active, c.id)
		} else {
			v.Offered = append(v.Offered, c.id)
		}
	}
	slices.Sort(v.Active)
	slices.Sort(v.Offered)
	for _, m := range a.mem {
		v.Queues = append(v.Queues, m.q.def.ID)
	}
	return v
}

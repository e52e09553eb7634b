package router

import (
	"time"

	"onecall/agents"
	"onecall/queues"
)

// queue is the live state of one QueueDef.
type queue struct {
	def     QueueDef
	strict  []agents.Req // the queue's skills
	sKey    string       // reqKey(strict)
	loose   []agents.Req // lowest minimums over escalation steps: membership
	buckets [3][]*bucket // per channel, one per distinct skill requirement
	guests  [3]queues.List
	guarded [3]queues.List
	ready   [3]agentHeap // available members per channel
	byState [agents.NumStates]int
	members int
	chatCap int // sum of the members' chat capacities (chat wait estimates)
	stats   *queues.Stats
	waiting int         // contacts of this queue in state Waiting
	cbs     int         // of which booked callbacks
	byArr   queues.List // listed contacts by arrival: longest wait
	ahtMin  int64       // minute ahtVal was computed in
	ahtVal  time.Duration
	dirty   bool
	annDue  bool // something changed since the last announce round
	annSet  bool // an announce timer is pending
	lastAnn time.Time
	orphan  bool // removed by a config reload; kept for live contacts
}

// bucket holds the waiting contacts of one queue, one channel and one skill
// requirement: FIFO by effective priority within equal skills.
type bucket struct {
	q      *queue
	ch     Channel
	key    string
	reqs   []agents.Req
	strict bool // reqs are the queue's own skills
	list   queues.List
}

type guest struct {
	q       *queue
	guarded bool
	item    queues.Item
}

// contact is the live state of one contact.
type contact struct {
	id          ContactID
	ch          Channel
	number      string
	language    string
	citizen     string
	attrs       map[string]string
	q           *queue
	prio        int
	reqs        []agents.Req
	arrived     time.Time
	state       ContactState
	since       time.Time
	item        queues.Item
	arrItem     queues.Item // in q.byArr
	bucket      *bucket
	guests      []*guest
	agent       *agent // offered-to or talking-with
	last        *agent // last agent, for ContactClosed
	missed      *agent // agent that just missed it: skipped until missedUntil
	missedUntil time.Time
	xfer        []*agent // agents that transferred it away: never offered it again
	offerSeq    uint32
	escIdx      int
	reason      string
	pinned      *agent // waiting for a preferred or named agent
	pinWhy      Why    // why it waits for pinned (Offer.Why)
	parked      bool   // waiting outside any list (closed hotline callback offer)
	talkAt      time.Time
	annPos      int
	annEWT      time.Duration
	routeQ      bool     // queued in Engine.toRoute
	callback    bool     // a booked callback placed agent first
	consult     *consult // running consult (consult.go)
}

// membership is one queue an agent serves.
type membership struct {
	q     *queue
	score int    // proficiency sum on the queue's skills (most-skilled)
	sOK   bool   // the agent meets the queue's own skills
	pos   [3]int // index in q.ready[ch], -1 when absent
}

// agent is the live state of one agent.
type agent struct {
	agents.Agent
	id        AgentID
	def       AgentDef
	mem       []membership
	pinned    []*contact
	contacts  []*contact // offered or talking
	lastOffer uint64
	idleKey   int64 // IdleSince in unix ns, refreshed by reindex
	wrapSeq   uint32
	feedQ     bool
	idxDirty  bool // heap insertions pending until its feed
	known     bool // defined by config or upsert
}

type hotline struct {
	def HotlineDef
	loc *time.Location
}

func (h *hotline) open(now time.Time) bool {
	s := &h.def.Schedule
	if s.Always {
		return true
	}
	t := now.In(h.loc)
	spans := s.Weekly[t.Weekday()]
	if len(s.Holidays) > 0 && s.Holidays[t.Format("2006-01-02")] {
		spans = s.HolidayOpen
	}
	m := t.Hour()*60 + t.Minute()
	for _, sp := range spans {
		if m >= sp.From && m < sp.To {
			return true
		}
	}
	return false
}

func (q *queue) offerTimeout(ch Channel) time.Duration {
	if ch == Chat {
		return q.def.OfferChat
	}
	return q.def.OfferVoice
}

func (q *queue) wrapFor(ch Channel) time.Duration {
	if ch == Chat {
		return q.def.WrapUpChat
	}
	return q.def.WrapUpVoice
}

func toReqs(s []SkillReq) []agents.Req {
	out := make([]agents.Req, len(s))
	for i, r := range s {
		out[i] = agents.Req{Skill: r.Skill, Min: r.Min}
	}
	return out
}

func reqKey(r []agents.Req) string {
	if len(r) == 0 {
		return ""
	}
	b := make([]byte, 0, 32)
	for _, x := range r {
		b = append(b, x.Skill...)
		b = append(b, ':', byte('0'+x.Min), ',')
	}
	return string(b)
}

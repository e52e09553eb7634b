package console

import (
	"maps"
	"slices"
	"sort"
	"time"

	"onecall/router"
)

// The mirror is the console's view of routing state, built only from the
// commands the hub delivers. Guarded by Service.mu.

// AgentView is one agent as consoles see it.
type AgentView struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	Next   string `json:"next,omitempty"`
	Since  int64  `json:"since"` // unix ms
	// WrapUntil is when wrap-up ends by itself (unix ms), while in wrap-up.
	WrapUntil int64 `json:"wrap_until,omitempty"`
	Active    int   `json:"active"`
	Phone     bool  `json:"phone"`  // SIP phone registered
	Online    bool  `json:"online"` // console connected
	// ForcedBy is the supervisor who set the agent not ready; the agent's
	// wrap-up "then" does not override it.
	ForcedBy string `json:"forced_by,omitempty"`
}

// ContactView is one live contact.
type ContactView struct {
	ID        uint64            `json:"id"`
	Channel   string            `json:"channel"`
	State     string            `json:"state"`
	Queue     string            `json:"queue"`
	Number    string            `json:"number,omitempty"`
	Agent     string            `json:"agent,omitempty"`
	Language  string            `json:"language,omitempty"`
	Citizen   string            `json:"citizen,omitempty"`
	Attrs     map[string]string `json:"attrs,omitempty"`
	Arrived   int64             `json:"arrived"` // unix ms
	Since     int64             `json:"since"`   // unix ms, current state
	Reason    string            `json:"reason,omitempty"`
	Deadline  int64             `json:"deadline,omitempty"` // offer deadline, unix ms
	Position  int               `json:"position,omitempty"`
	Priority  int               `json:"priority,omitempty"`
	Connected int64             `json:"connected,omitempty"` // unix ms
	Held      int64             `json:"held,omitempty"`      // unix ms the call was put on hold, 0 = not held
	Muted     int64             `json:"muted,omitempty"`     // unix ms the agent muted themselves, 0 = not muted
	// Interpreter is the number of the interpreter in a three-way call
	// ("" = none).
	Interpreter string `json:"interpreter,omitempty"`
	// Transfers of this contact so far, oldest first (the offer of a
	// transferred contact says from whom, with the note).
	Transfers []TransferView `json:"transfers,omitempty"`
	// Why is the routing decision of the latest offer as reason codes
	// with parameters (router.Why); the console words them in its
	// language.
	Why []WhyView `json:"why,omitempty"`
	// Consult is the running consult of a voice call (console/consult.go).
	Consult *ConsultView `json:"consult,omitempty"`
	// Monitor is a supervisor on the call (console/monitor.go).
	Monitor    *MonitorView `json:"monitor,omitempty"`
	citizenRaw string       // unmasked, never sent
}

// WhyView is one step of a routing decision (router.Why); zero fields are
// left out.
type WhyView struct {
	Code  string `json:"code"`
	Skill string `json:"skill,omitempty"`
	Level int    `json:"level,omitempty"`
	Queue string `json:"queue,omitempty"`
	Agent string `json:"agent,omitempty"`
	Secs  int64  `json:"secs,omitempty"`
	Value int    `json:"value,omitempty"`
	Of    int    `json:"of,omitempty"`
}

func whyViews(w []router.Why) []WhyView {
	if len(w) == 0 {
		return nil
	}
	out := make([]WhyView, len(w))
	for i, x := range w {
		out[i] = WhyView{Code: string(x.Code), Skill: x.Skill, Level: x.Level, Queue: x.Queue, Agent: string(x.Agent),
			Secs: x.Secs, Value: x.Value, Of: x.Of}
	}
	return out
}

// QueueView is a queue's latest statistics.
type QueueView struct {
	Queue         string         `json:"queue"`
	Waiting       int            `json:"waiting"`
	LongestWaitMS int64          `json:"longest_wait_ms"`
	SLToday       float64        `json:"sl_today"`
	SL15m         float64        `json:"sl_15m"`
	SL60m         float64        `json:"sl_60m"`
	ASAMS         int64          `json:"asa_ms"`
	Offered       int            `json:"offered"`
	Answered      int            `json:"answered"`
	Abandoned     int            `json:"abandoned"`
	Agents        map[string]int `json:"agents"`
	EstWaitMS     int64          `json:"est_wait_ms"`
	// SLTodayN / SL15mN: contacts the SL figures count; 0 = no data (idle).
	SLTodayN int `json:"sl_today_n"`
	SL15mN   int `json:"sl_15m_n"`
	// Callbacks: booked callbacks waiting in the queue for an agent (of
	// Waiting; placed agent first).
	Callbacks int `json:"callbacks"`
	// CallbacksScheduled: booked callbacks of the queue waiting for their
	// next attempt (outside routing until then).
	CallbacksScheduled int `json:"callbacks_scheduled"`
}

// chartBin is one 15-minute bin of the day chart.
type chartBin struct {
	Start     int64   `json:"start"` // unix ms
	Offered   int     `json:"offered"`
	Answered  int     `json:"answered"`
	Abandoned int     `json:"abandoned"`
	SL        float64 `json:"sl"` // answered-weighted SL15m at the end of the bin, -1 unknown
	// Agents counts agents by state at the last change within the bin.
	Agents map[string]int `json:"agents"`
	slW    float64
	slSum  float64
}

// maxBins bounds the day chart: 96 bins of 15 minutes are 24 hours.
const maxBins = 96

type mirror struct {
	agents   map[router.AgentID]*AgentView
	contacts map[router.ContactID]*ContactView
	queues   map[string]*QueueView
	bins     []*chartBin
	lastTot  map[string][3]int // queue -> offered, answered, abandoned at last stats
	byState  map[string]int    // agents by state, kept with every state change
	mask     bool
	// scheduled counts a queue's callbacks between attempts (Options).
	scheduled func(queue string) int
}

func newMirror(mask bool) *mirror {
	return &mirror{
		agents:   make(map[router.AgentID]*AgentView),
		contacts: make(map[router.ContactID]*ContactView),
		queues:   make(map[string]*QueueView),
		lastTot:  make(map[string][3]int),
		byState:  make(map[string]int),
		mask:     mask,
	}
}

func (m *mirror) agent(id router.AgentID) *AgentView {
	a := m.agents[id]
	if a == nil {
		a = &AgentView{ID: string(id), State: "offline"}
		m.agents[id] = a
		m.byState[a.State]++
	}
	return a
}

// setState changes an agent's state, keeping the counts by state.
func (m *mirror) setState(a *AgentView, st string) {
	m.byState[a.State]--
	m.byState[st]++
	a.State = st
}

func (m *mirror) contact(id router.ContactID, now time.Time) *ContactView {
	c := m.contacts[id]
	if c == nil {
		c = &ContactView{ID: uint64(id), State: "waiting", Arrived: unixMS(now), Since: unixMS(now)}
		m.contacts[id] = c
	}
	return c
}

// citizen is the citizen's identity as consoles see it: phone numbers of
// every channel masked when mask is set (chat identities pass unchanged).
func (m *mirror) citizen(_ router.Channel, s string) string {
	if m.mask {
		return maskNumber(s)
	}
	return s
}

// phoneAttrs are contact attributes that hold a phone number.
var phoneAttrs = []string{"phone", "phone_unverified", "callback_number"}

// attrs returns a's copy with phone numbers masked when mask is set.
func (m *mirror) attrs(a map[string]string) map[string]string {
	if !m.mask || a == nil {
		return a
	}
	out := make(map[string]string, len(a))
	for k, v := range a {
		out[k] = v
	}
	for _, k := range phoneAttrs {
		if v, ok := out[k]; ok {
			out[k] = maskNumber(v)
		}
	}
	return out
}

// apply folds one command into the mirror. It returns the contact's agent
// before the command (for routing ContactClosed to the right console).
func (m *mirror) apply(c router.Command, now time.Time) {
	switch c := c.(type) {
	case router.Offer:
		v := m.contact(c.Contact, now)
		v.Channel = channelName(c.Channel)
		v.Queue, v.Number, v.Agent, v.Language = c.Queue, c.Number, string(c.Agent), c.Language
		v.Citizen = m.citizen(c.Channel, c.Citizen)
		v.citizenRaw = c.Citizen
		v.Attrs = m.attrs(c.Attrs)
		v.Deadline = unixMS(c.Deadline)
		v.State = "offered"
		v.Reason = c.Reason
		v.Why = whyViews(c.Why)
		if c.Waited > 0 {
			v.Arrived = unixMS(now.Add(-c.Waited))
		}
	case router.OfferWithdrawn:
		if v := m.contacts[c.Contact]; v != nil && v.Agent == string(c.Agent) && v.State == "offered" {
			v.Agent, v.Deadline, v.State = "", 0, "waiting"
		}
	case router.Connected:
		v := m.contact(c.Contact, now)
		v.Agent, v.Channel, v.Queue = string(c.Agent), channelName(c.Channel), c.Queue
		v.State, v.Deadline, v.Connected = "talking", 0, unixMS(now)
		v.Muted = 0 // a new agent leg starts unmuted (sip: the mute is the agent's own)
	case router.Announce:
		v := m.contact(c.Contact, now)
		v.Channel = channelName(c.Channel)
		v.Position = c.Position
	case router.Overflowed:
		v := m.contact(c.Contact, now)
		v.Queue, v.Reason = c.ToQueue, c.Reason
	case router.Transferred:
		v := m.contact(c.Contact, now)
		l := append(v.Transfers[:len(v.Transfers):len(v.Transfers)], transferView(c))
		if len(l) > maxTransfersShown {
			l = l[len(l)-maxTransfersShown:]
		}
		v.Transfers = l
	case router.ContactClosed:
		delete(m.contacts, c.Contact)
	case router.ContactStateChanged:
		if c.State == router.Ended {
			return // ContactClosed removes it
		}
		v := m.contact(c.Contact, c.At)
		if c.Channel != 0 { // arrival carries the contact's identity
			v.Channel, v.Number = channelName(c.Channel), c.Number
			v.Citizen, v.citizenRaw = m.citizen(c.Channel, c.Citizen), c.Citizen
			if !c.Arrived.IsZero() {
				v.Arrived = unixMS(c.Arrived)
			}
		}
		v.State = contactStateName(c.State)
		if c.Queue != "" {
			v.Queue = c.Queue
		}
		if c.State != router.Waiting {
			v.Agent = string(c.Agent)
		} else {
			v.Agent, v.Deadline = "", 0
		}
		if c.Reason != "" {
			v.Reason = c.Reason
		}
		v.Since = unixMS(c.At)
		if c.State == router.CallbackBooked {
			delete(m.contacts, c.Contact)
		}
	case router.AgentStateChanged:
		a := m.agent(c.Agent)
		m.setState(a, stateName(c.State))
		a.Reason, a.Active = c.Reason, c.Active
		a.Next = ""
		if c.Next != c.State && c.Next != router.Offline {
			a.Next = stateName(c.Next)
		}
		at := c.At
		if at.IsZero() {
			at = now
		}
		a.Since = unixMS(at)
		a.WrapUntil = 0
		if c.State == router.WrapUp && !c.WrapUntil.IsZero() {
			a.WrapUntil = unixMS(c.WrapUntil)
		}
		m.bin(now)
	case router.QueueStats:
		m.queueStats(c.Stats, now)
	}
}

func transferView(c router.Transferred) TransferView {
	return TransferView{From: string(c.From), By: string(c.By), FromQueue: c.FromQueue, ToQueue: c.ToQueue,
		ToAgent: string(c.ToAgent), ToNumber: c.ToNumber, Note: c.Note, At: unixMS(c.At)}
}

func queueView(s router.QueueSnapshot) *QueueView {
	q := &QueueView{Queue: s.Queue, Waiting: s.Waiting, LongestWaitMS: ms(s.LongestWait), SLToday: s.SLToday,
		SL15m: s.SL15m, SL60m: s.SL60m, ASAMS: ms(s.ASA), Offered: s.Offered, Answered: s.Answered,
		Abandoned: s.Abandoned, EstWaitMS: ms(s.EstimatedWait), Agents: make(map[string]int, len(s.AgentsByState)),
		SLTodayN: s.SLTodayN, SL15mN: s.SL15mN, Callbacks: s.Callbacks}
	for st, n := range s.AgentsByState {
		q.Agents[stateName(st)] = n
	}
	return q
}

// queueView is the engine's statistics plus the callbacks between attempts.
func (m *mirror) queueView(s router.QueueSnapshot) *QueueView {
	q := queueView(s)
	if m.scheduled != nil {
		q.CallbacksScheduled = m.scheduled(s.Queue)
	}
	return q
}

func (m *mirror) queueStats(s router.QueueSnapshot, now time.Time) {
	m.queues[s.Queue] = m.queueView(s)
	// Day chart: 15-minute bins of the engine's offered, answered and
	// abandoned counters (deltas between stats) and SL.
	b := m.bin(now)
	last := m.lastTot[s.Queue]
	do, da, dx := s.Offered-last[0], s.Answered-last[1], s.Abandoned-last[2]
	if do < 0 || da < 0 || dx < 0 { // new day: counters reset
		do, da, dx = s.Offered, s.Answered, s.Abandoned
	}
	m.lastTot[s.Queue] = [3]int{s.Offered, s.Answered, s.Abandoned}
	b.Offered += do
	b.Answered += da
	b.Abandoned += dx
	if s.SL15mN > 0 {
		w := float64(s.Answered)
		b.slW += w
		b.slSum += s.SL15m * w
		b.SL = b.slSum / b.slW
	}
}

// bin returns the chart bin of now (opening it if needed) with the agents
// by state as of now.
func (m *mirror) bin(now time.Time) *chartBin {
	start := now.Truncate(15 * time.Minute).UnixMilli()
	var b *chartBin
	if n := len(m.bins); n > 0 && m.bins[n-1].Start >= start {
		b = m.bins[n-1]
	} else {
		b = &chartBin{Start: start, SL: -1}
		m.bins = append(m.bins, b)
		if len(m.bins) > maxBins {
			m.bins = slices.Delete(m.bins, 0, len(m.bins)-maxBins)
		}
	}
	if b.Agents == nil {
		b.Agents = make(map[string]int, len(m.byState))
	}
	for st, n := range m.byState {
		if n > 0 || b.Agents[st] != 0 {
			b.Agents[st] = n
		}
	}
	return b
}

func (m *mirror) agentList() []AgentView {
	out := make([]AgentView, 0, len(m.agents))
	for _, a := range m.agents {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (m *mirror) queueList() []QueueView {
	out := make([]QueueView, 0, len(m.queues))
	for _, q := range m.queues {
		out = append(out, *q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out
}

// contactList returns live contacts filtered by keep, ordered by arrival.
func (m *mirror) contactList(keep func(*ContactView) bool) []ContactView {
	out := []ContactView{}
	for _, c := range m.contacts {
		if keep(c) {
			out = append(out, *c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Arrived != out[j].Arrived {
			return out[i].Arrived < out[j].Arrived
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (m *mirror) chart() []chartBin {
	out := make([]chartBin, len(m.bins))
	for i, b := range m.bins {
		out[i] = *b
		out[i].Agents = maps.Clone(b.Agents)
	}
	return out
}

// seed replaces the mirror's agents and queues with an engine snapshot
// (taken on the hub goroutine, so it is ordered with the command stream).
func (m *mirror) seed(snap router.Snapshot) {
	for _, q := range snap.Queues {
		m.queues[q.Queue] = m.queueView(q)
		m.lastTot[q.Queue] = [3]int{q.Offered, q.Answered, q.Abandoned}
	}
	for _, a := range snap.Agents {
		v := m.agent(a.ID)
		m.setState(v, stateName(a.State))
		v.Reason, v.Since, v.Active = a.Reason, unixMS(a.Since), len(a.Active)
		v.WrapUntil = 0
		if a.State == router.WrapUp && !a.WrapUntil.IsZero() {
			v.WrapUntil = unixMS(a.WrapUntil)
		}
		v.Next = ""
		if a.HasNext {
			v.Next = stateName(a.Next)
		}
		if !a.LoggedIn {
			m.setState(v, "offline")
		}
	}
}

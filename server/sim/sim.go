package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"time"

	"onecall/router"
)

// Surge multiplies arrivals on one hotline number between From and To
// (hours of the day, local time).
type Surge struct {
	Number   string
	Factor   float64
	From, To float64
}

// Options configures a simulated day.
type Options struct {
	Config      router.Config // queues and hotlines; Agents are generated when empty
	Agents      int           // agents to generate (default 9,500)
	Contacts    int           // contacts in the day before surges (default 500,000)
	ChatShare   float64       // fraction of contacts that are chats (default 0.2)
	AHT         time.Duration // mean talk time (default 3 min)
	Patience    time.Duration // mean citizen patience before abandoning (default 3 min)
	MissRate    float64       // probability an agent lets an offer ring out (default 0.02)
	AnswerDelay time.Duration // mean time to accept an offer (default 3 s)
	Day         time.Time     // the simulated day (default next Wednesday, KST)
	Surge       *Surge
	Surges      []Surge // more surges (with Surge, all apply)
	Seed        uint64
}

// Figures are the outcome of the day's contacts of one queue or one line.
type Figures struct {
	Arrived   int
	Answered  int
	Abandoned int
	Refused   int
	Other     int
	SL        float64 // answered within the queue's threshold / (answered + abandoned after threshold)
	ASA       time.Duration
	MaxWait   time.Duration
}

// QueueResult is one queue's outcome of the day: the contacts answered,
// abandoned or refused in it (after any overflow).
type QueueResult struct {
	Queue string
	Figures
}

// LineResult is one line's (hotline number's) outcome of the day: the
// contacts that called it, wherever they were routed; SL counts each
// against the threshold of the queue it was answered or abandoned in.
type LineResult struct {
	Line string
	Figures
}

// Result is the outcome of a simulated day.
type Result struct {
	Agents                                                  int // logged in for the day (generated or the config's)
	Arrived, Answered, Abandoned, Refused, Callbacks, Other int
	ClosedTwice, NeverClosed                                int
	Events                                                  int
	Wall                                                    time.Duration
	EventsPerSec                                            float64
	PeakWaiting                                             int
	HeapBytes                                               uint64
	ApplyP99                                                time.Duration
	ApplyMax                                                time.Duration
	Queues                                                  []QueueResult
	Lines                                                   []LineResult
	Rejected                                                map[string]int
	// Timeline is the day per 15 minutes (Run only; empty for theory runs).
	Timeline Timeline
}

type evKind uint8

const (
	evArrive evKind = iota
	evAbandon
	evAccept
	evTalkEnd
	evReady
)

type simEv struct {
	at      time.Time
	seq     uint64
	kind    evKind
	contact router.ContactID
	agent   router.AgentID
}

type evHeap []simEv

func (h evHeap) Len() int { return len(h) }
func (h evHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h evHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *evHeap) Push(x any)   { *h = append(*h, x.(simEv)) }
func (h *evHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type contactState struct {
	queue    string
	line     string // the number called
	arrived  time.Time
	answered bool
	closed   int
	offerTo  router.AgentID
	talk     time.Duration // drawn at arrival
	// uncounted contacts (a theory run's warm-up) route like the others
	// but stay out of the per-queue statistics.
	uncounted bool
}

type sim struct {
	o   Options
	rng *rand.Rand // agents' behaviour and arrival times
	// crng draws what each contact brings (channel, patience, talk time)
	// at its arrival, in arrival order: two configurations run on the
	// same seed see the same contacts, whatever routing does. nil (theory
	// runs): rng draws them where they are needed.
	crng     *rand.Rand
	eng      *router.Engine
	evs      evHeap
	seq      uint64
	contacts map[router.ContactID]*contactState
	perQueue map[string]*queueAcc
	perLine  map[string]*queueAcc
	accBuf   []*queueAcc // accsFor's result, reused
	thresh   map[string]time.Duration
	res      Result
	applyNs  []int64
	waiting  int
	tl       *timeline // nil: no timeline kept
}

type queueAcc struct {
	Figures
	waitSum   time.Duration
	slOK, slN int
}

// Run simulates one day and returns its result.
func Run(o Options) (Result, error) {
	o = defaults(o)
	s := newSim(o)
	cfg := o.Config
	if len(cfg.Agents) == 0 {
		cfg.Agents = GenerateAgents(cfg, o.Agents, o.Seed)
	}
	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	eng, err := router.New(cfg)
	if err != nil {
		return Result{}, err
	}
	s.eng = eng
	start := o.Day.Add(8 * time.Hour)
	s.tl = newTimeline(start)
	s.crng = rand.New(rand.NewPCG(o.Seed^0x5851f42d4c957f2d, o.Seed+3))
	s.login(cfg.Agents, start)
	s.res.Agents = len(cfg.Agents)
	s.scheduleArrivals(cfg)
	wall := time.Now()
	s.loop()
	s.res.Wall = time.Since(wall)
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	if ms1.HeapAlloc > ms0.HeapAlloc {
		s.res.HeapBytes = ms1.HeapAlloc - ms0.HeapAlloc
	}
	s.finish()
	s.res.Timeline = s.tl.finish()
	return s.res, nil
}

func newSim(o Options) *sim {
	s := &sim{
		o:        o,
		rng:      rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		contacts: make(map[router.ContactID]*contactState, o.Contacts),
		perQueue: make(map[string]*queueAcc),
		perLine:  make(map[string]*queueAcc),
		thresh:   make(map[string]time.Duration),
		res:      Result{Rejected: map[string]int{}},
	}
	for _, q := range o.Config.Queues {
		s.thresh[q.ID] = q.SLThreshold
	}
	return s
}

func defaults(o Options) Options {
	if o.Agents <= 0 {
		o.Agents = 9500
	}
	if o.Contacts <= 0 {
		o.Contacts = 500000
	}
	if o.ChatShare == 0 {
		o.ChatShare = 0.2
	}
	if o.AHT <= 0 {
		o.AHT = 3 * time.Minute
	}
	if o.Patience <= 0 {
		o.Patience = 3 * time.Minute
	}
	if o.MissRate == 0 {
		o.MissRate = 0.02
	}
	if o.AnswerDelay <= 0 {
		o.AnswerDelay = 3 * time.Second
	}
	if o.Day.IsZero() {
		o.Day = time.Date(2026, 12, 2, 0, 0, 0, 0, time.FixedZone("KST", 9*3600))
	}
	return o
}

// GenerateAgents makes n agents spread over the queues: each serves one home
// queue at proficiency 4-5 and, one in four, a second queue at 3. Capacity is
// voice 1 and chat 3.
func GenerateAgents(cfg router.Config, n int, seed uint64) []router.AgentDef {
	rng := rand.New(rand.NewPCG(seed+1, seed+2))
	out := make([]router.AgentDef, 0, n)
	qs := cfg.Queues
	if len(qs) == 0 {
		return nil
	}
	for i := range n {
		skills := map[string]int{}
		home := qs[i%len(qs)]
		for _, r := range home.Skills {
			skills[r.Skill] = max(r.Min, 4+rng.IntN(2))
		}
		if rng.IntN(4) == 0 {
			other := qs[rng.IntN(len(qs))]
			for _, r := range other.Skills {
				if skills[r.Skill] < r.Min {
					skills[r.Skill] = max(r.Min, 3)
				}
			}
		}
		out = append(out, router.AgentDef{ID: router.AgentID(fmt.Sprintf("sim%05d", i+1)), Skills: skills, Voice: 1, Chat: 3})
	}
	return out
}

func (s *sim) push(e simEv) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.evs, e)
}

func (s *sim) login(agents []router.AgentDef, at time.Time) {
	for _, a := range agents {
		s.apply(router.AgentLoggedIn{Agent: a.ID, Ready: true}, at)
	}
}

// hourShare is the share of a day's contacts per hour 08..19 (sums to 1):
// 26 % between 10 and 12 h, as in Busan 120's published profile.
var hourShare = [12]float64{0.05, 0.10, 0.13, 0.13, 0.08, 0.10, 0.11, 0.10, 0.08, 0.06, 0.04, 0.02}

func (s *sim) scheduleArrivals(cfg router.Config) {
	var numbers []router.HotlineDef
	for _, h := range cfg.Hotlines {
		if h.DefaultQueue != "" {
			numbers = append(numbers, h)
		}
	}
	slices.SortFunc(numbers, func(a, b router.HotlineDef) int {
		if a.Number < b.Number {
			return -1
		}
		if a.Number > b.Number {
			return 1
		}
		return 0
	})
	if len(numbers) == 0 {
		return
	}
	id := router.ContactID(0)
	for h, share := range hourShare {
		base := int(math.Round(float64(s.o.Contacts) * share))
		hourStart := s.o.Day.Add(time.Duration(8+h) * time.Hour)
		for range base {
			id++
			n := numbers[s.rng.IntN(len(numbers))]
			s.arrival(id, n, hourStart.Add(time.Duration(s.rng.Int64N(int64(time.Hour)))))
		}
		for _, sg := range s.surges() {
			if float64(8+h) < sg.From || float64(8+h) >= sg.To {
				continue
			}
			extra := int(float64(base) / float64(len(numbers)) * (sg.Factor - 1))
			var target *router.HotlineDef
			for i := range numbers {
				if numbers[i].Number == sg.Number {
					target = &numbers[i]
				}
			}
			if target == nil {
				continue
			}
			for range extra {
				id++
				s.arrival(id, *target, hourStart.Add(time.Duration(s.rng.Int64N(int64(time.Hour)))))
			}
		}
	}
}

// surges is every surge of the options.
func (s *sim) surges() []Surge {
	out := slices.Clone(s.o.Surges)
	if s.o.Surge != nil {
		out = append(out, *s.o.Surge)
	}
	return out
}

func (s *sim) arrival(id router.ContactID, n router.HotlineDef, at time.Time) {
	s.contacts[id] = &contactState{queue: n.DefaultQueue, line: n.Number}
	s.push(simEv{at: at, kind: evArrive, contact: id, agent: router.AgentID(n.Number)})
}

func (s *sim) exp(mean time.Duration) time.Duration {
	return time.Duration(s.rng.ExpFloat64() * float64(mean))
}

// contactRng draws what a contact brings.
func (s *sim) contactRng() *rand.Rand {
	if s.crng != nil {
		return s.crng
	}
	return s.rng
}

// cexp is an exponential draw of what a contact brings.
func (s *sim) cexp(mean time.Duration) time.Duration {
	return time.Duration(s.contactRng().ExpFloat64() * float64(mean))
}

func (s *sim) loop() {
	for {
		next, hasNext := s.eng.NextDeadline()
		if s.evs.Len() == 0 {
			// Drain: let the engine's timers (wrap-up, reconciler) run out.
			if !hasNext || s.pending() == 0 {
				return
			}
			s.apply(router.Tick{}, next)
			continue
		}
		e := s.evs[0]
		if hasNext && next.Before(e.at) {
			s.apply(router.Tick{}, next)
			continue
		}
		heap.Pop(&s.evs)
		s.handle(e)
	}
}

func (s *sim) pending() int {
	n := 0
	for _, c := range s.contacts {
		if c.closed == 0 {
			n++
		}
	}
	return n
}

func (s *sim) handle(e simEv) {
	c := s.contacts[e.contact]
	if c == nil {
		c = &contactState{}
	}
	switch e.kind {
	case evArrive:
		ch := router.Voice
		if s.contactRng().Float64() < s.o.ChatShare {
			ch = router.Chat
		}
		if s.crng != nil {
			c.talk = s.cexp(s.o.AHT)
		}
		c.arrived = e.at
		s.res.Arrived++
		for _, a := range s.accsFor(c) {
			a.Arrived++
		}
		s.waiting++
		s.res.PeakWaiting = max(s.res.PeakWaiting, s.waiting)
		if s.tl != nil && !c.uncounted {
			s.tl.slot(c.queue, e.at).Arrived++
			s.tl.waiting(e.at, s.waiting)
		}
		s.apply(router.ContactArrived{Contact: e.contact, Channel: ch, Number: string(e.agent),
			Citizen: fmt.Sprintf("010%08d", uint64(e.contact)%100000000)}, e.at)
		if s.o.Patience > 0 {
			s.push(simEv{at: e.at.Add(s.cexp(s.o.Patience)), kind: evAbandon, contact: e.contact})
		}
	case evAbandon:
		if c.closed == 0 && !c.answered {
			s.apply(router.ContactAbandoned{Contact: e.contact}, e.at)
		}
	case evAccept:
		if c.closed == 0 && !c.answered && c.offerTo == e.agent {
			s.apply(router.OfferAccepted{Contact: e.contact, Agent: e.agent}, e.at)
		}
	case evReady:
		s.apply(router.AgentStateRequested{Agent: e.agent, State: router.Ready}, e.at)
	case evTalkEnd:
		if c.closed == 0 {
			s.apply(router.ContactEnded{Contact: e.contact, Reason: router.EndCompleted}, e.at)
		}
	}
}

// accsFor is the statistics a contact counts in: its queue's and its
// line's, or none for uncounted contacts.
func (s *sim) accsFor(c *contactState) []*queueAcc {
	s.accBuf = s.accBuf[:0]
	if c.uncounted {
		return s.accBuf
	}
	s.accBuf = append(s.accBuf, acc(s.perQueue, c.queue))
	if c.line != "" { // theory runs have no line
		s.accBuf = append(s.accBuf, acc(s.perLine, c.line))
	}
	return s.accBuf
}

func acc(m map[string]*queueAcc, k string) *queueAcc {
	a := m[k]
	if a == nil {
		a = &queueAcc{}
		m[k] = a
	}
	return a
}

func (s *sim) apply(ev router.Event, now time.Time) {
	if s.tl != nil {
		s.tl.advance(now)
	}
	t0 := time.Now()
	cmds, err := s.eng.Apply(ev, now)
	s.applyNs = append(s.applyNs, time.Since(t0).Nanoseconds())
	s.res.Events++
	if err != nil {
		s.res.Rejected[fmt.Sprintf("%T: %v", ev, errKind(err))]++
		return
	}
	for _, cmd := range cmds {
		s.command(cmd, now)
	}
}

func (s *sim) command(cmd router.Command, now time.Time) {
	switch c := cmd.(type) {
	case router.Offer:
		st := s.contacts[c.Contact]
		if st == nil {
			return
		}
		st.offerTo = c.Agent
		if s.rng.Float64() < s.o.MissRate {
			return // rings out: the engine times it out
		}
		s.push(simEv{at: now.Add(s.exp(s.o.AnswerDelay)), kind: evAccept, contact: c.Contact, agent: c.Agent})
	case router.Connected:
		st := s.contacts[c.Contact]
		if st == nil {
			return
		}
		st.answered = true
		s.waiting--
		w := now.Sub(st.arrived)
		for _, a := range s.accsFor(st) {
			a.Answered++
			a.waitSum += w
			a.MaxWait = max(a.MaxWait, w)
			a.slN++
			if w <= s.thresh[st.queue] {
				a.slOK++
			}
		}
		if s.tl != nil && !st.uncounted {
			sl := s.tl.slot(st.queue, st.arrived)
			sl.Answered++
			sl.SLBase++
			sl.WaitSum += w
			if w <= s.thresh[st.queue] {
				sl.InSL++
			}
		}
		s.res.Answered++
		talk := st.talk
		if s.crng == nil {
			talk = s.exp(s.o.AHT)
		}
		s.push(simEv{at: now.Add(talk), kind: evTalkEnd, contact: c.Contact})
	case router.AgentStateChanged:
		if s.tl != nil {
			s.tl.agent(c.Agent, c.State)
		}
		// An agent put on not-ready by a missed offer comes back a while later.
		if c.State == router.NotReady {
			s.push(simEv{at: now.Add(30 * time.Second), kind: evReady, agent: c.Agent})
		}
	case router.Overflowed:
		if st := s.contacts[c.Contact]; st != nil {
			st.queue = c.ToQueue
		}
	case router.ContactClosed:
		st := s.contacts[c.Contact]
		if st == nil {
			return
		}
		st.closed++
		if st.closed > 1 {
			s.res.ClosedTwice++
			return
		}
		if !st.answered {
			s.waiting--
		}
		accs := s.accsFor(st)
		switch c.Reason {
		case router.EndCompleted:
		case router.EndAbandoned:
			s.res.Abandoned++
			late := now.Sub(st.arrived) > s.thresh[st.queue]
			for _, a := range accs {
				a.Abandoned++
				if late {
					a.slN++
				}
			}
			if s.tl != nil && !st.uncounted {
				sl := s.tl.slot(st.queue, st.arrived)
				sl.Abandoned++
				sl.SLBase += b2i(late)
			}
		case router.EndRefusedClosed, router.EndRefusedQueueFull, router.EndMaxWait, router.EndNoQueue:
			s.res.Refused++
			for _, a := range accs {
				a.Refused++
			}
		case router.EndCallback:
			s.res.Callbacks++
		default:
			s.res.Other++
			for _, a := range accs {
				a.Other++
			}
		}
	default:
	}
}

func (s *sim) finish() {
	for _, c := range s.contacts {
		if c.closed == 0 && c.arrived != (time.Time{}) {
			s.res.NeverClosed++
		}
	}
	if s.res.Wall > 0 {
		s.res.EventsPerSec = float64(s.res.Events) / s.res.Wall.Seconds()
	}
	if len(s.applyNs) > 0 {
		slices.Sort(s.applyNs)
		s.res.ApplyP99 = time.Duration(s.applyNs[len(s.applyNs)*99/100])
		s.res.ApplyMax = time.Duration(s.applyNs[len(s.applyNs)-1])
	}
	for q, a := range s.perQueue {
		s.res.Queues = append(s.res.Queues, QueueResult{Queue: q, Figures: a.figures()})
	}
	sort.Slice(s.res.Queues, func(i, j int) bool { return s.res.Queues[i].Queue < s.res.Queues[j].Queue })
	for l, a := range s.perLine {
		s.res.Lines = append(s.res.Lines, LineResult{Line: l, Figures: a.figures()})
	}
	sort.Slice(s.res.Lines, func(i, j int) bool { return s.res.Lines[i].Line < s.res.Lines[j].Line })
}

// errKind reduces an engine error to its sentinel, so rejected events group.
func errKind(err error) error {
	for _, k := range []error{router.ErrUnknownAgent, router.ErrUnknownContact, router.ErrUnknownQueue,
		router.ErrUnknownHotline, router.ErrInvalidState, router.ErrQueueFull, router.ErrDuplicate} {
		if errors.Is(err, k) {
			return k
		}
	}
	return err
}

// figures completes the accumulated figures with SL and ASA.
func (a *queueAcc) figures() Figures {
	f := a.Figures
	if f.Answered > 0 {
		f.ASA = a.waitSum / time.Duration(f.Answered)
	}
	if a.slN > 0 {
		f.SL = float64(a.slOK) / float64(a.slN)
	}
	return f
}

package router

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// Peak model: 10,000 agents, 300 queues (15 topics x 20 languages), 60
// skills (40 topics + 20 languages), 50,000 waiting contacts.
const (
	bAgents  = 10_000
	bTopics  = 15
	bLangs   = 20
	bWaiting = 50_000
)

func peakConfig() Config {
	cfg := Config{MissedOfferNotReady: true}
	for t := range bTopics {
		for l := range bLangs {
			cfg.Queues = append(cfg.Queues, QueueDef{
				ID:             fmt.Sprintf("t%02d-l%02d", t, l),
				Skills:         []SkillReq{{Skill: fmt.Sprintf("topic%02d", t), Min: 2}, {Skill: fmt.Sprintf("lang%02d", l), Min: 1}},
				Priority:       t % 3,
				SLTarget:       0.8,
				SLThreshold:    20 * time.Second,
				AgingPerMinute: 1,
				ChatWhileBusy:  true,
			})
		}
	}
	r := rand.New(rand.NewPCG(42, 42))
	for i := range bAgents {
		d := AgentDef{ID: AgentID(fmt.Sprintf("agent%05d", i)), Skills: map[string]int{}, Voice: 1, Chat: 3}
		for len(d.Skills) < 3 {
			d.Skills[fmt.Sprintf("topic%02d", r.IntN(bTopics))] = 2 + r.IntN(4)
		}
		d.Skills["lang00"] = 5 // Korean
		d.Skills[fmt.Sprintf("lang%02d", 1+r.IntN(bLangs-1))] = 1 + r.IntN(5)
		for t := bTopics; t < 40; t++ { // unrelated topics
			if r.IntN(10) == 0 {
				d.Skills[fmt.Sprintf("topic%02d", t)] = 3
			}
		}
		cfg.Agents = append(cfg.Agents, d)
	}
	return cfg
}

type peak struct {
	e       *Engine
	now     time.Time
	r       *rand.Rand
	next    ContactID
	talking []ContactID // contacts talking (for ContactEnded)
	agentOf map[ContactID]AgentID
	lat     []time.Duration
	timeIt  bool
	events  int
	cmds    int
}

func (p *peak) apply(ev Event) []Command {
	var t0 time.Time
	if p.timeIt {
		t0 = time.Now()
	}
	cmds, err := p.e.Apply(ev, p.now)
	if p.timeIt {
		p.lat = append(p.lat, time.Since(t0))
	}
	p.events++
	p.cmds += len(cmds)
	if err != nil {
		panic(err)
	}
	return cmds
}

// acceptAll accepts the offers in cmds (and those they cause).
func (p *peak) acceptAll(cmds []Command) {
	for _, c := range cmds {
		if o, ok := c.(Offer); ok {
			p.acceptAll(p.apply(OfferAccepted{Contact: o.Contact, Agent: o.Agent}))
			p.talking = append(p.talking, o.Contact)
		}
	}
}

func (p *peak) arrive() []Command {
	p.next++
	t, l := p.r.IntN(bTopics), 0
	if p.r.IntN(4) == 0 {
		l = p.r.IntN(bLangs)
	}
	ch := Voice
	if p.r.IntN(3) == 0 {
		ch = Chat
	}
	return p.apply(ContactArrived{Contact: p.next, Channel: ch, Queue: p.e.queueList[t*bLangs+l].def.ID, Priority: p.r.IntN(2)})
}

// newPeak builds the engine with every agent logged in and busy (all their
// capacity in use) and bWaiting contacts waiting.
func newPeak(tb testing.TB, waiting int) *peak {
	e, err := New(peakConfig())
	if err != nil {
		tb.Fatal(err)
	}
	p := &peak{e: e, now: defaultStart, r: rand.New(rand.NewPCG(1, 2)), agentOf: map[ContactID]AgentID{}}
	ids := sortedKeys(e.agents)
	for _, id := range ids {
		p.apply(AgentLoggedIn{Agent: id, Ready: true})
	}
	// Fill: arrivals are offered and accepted until agents are full, then wait.
	for e.waitingTotal() < waiting {
		p.now = p.now.Add(time.Millisecond)
		p.acceptAll(p.arrive())
	}
	return p
}

func (e *Engine) waitingTotal() int {
	n := 0
	for _, q := range e.queueList {
		n += q.waiting
	}
	return n
}

// step is one peak cycle: a conversation ends (the freed agent takes the
// best waiting contact: agent-free decision), the offer is accepted, a new
// contact arrives (arrival decision), and time advances with Ticks.
func (p *peak) step() {
	p.now = p.now.Add(5 * time.Millisecond)
	i := p.r.IntN(len(p.talking))
	id := p.talking[i]
	p.talking[i] = p.talking[len(p.talking)-1]
	p.talking = p.talking[:len(p.talking)-1]
	p.acceptAll(p.apply(ContactEnded{Contact: id}))
	p.acceptAll(p.arrive())
	if dl, ok := p.e.NextDeadline(); ok && !dl.After(p.now) {
		p.acceptAll(p.apply(Tick{}))
	}
}

func BenchmarkPeakEvents(b *testing.B) {
	p := newPeak(b, bWaiting)
	p.events, p.cmds = 0, 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		p.step()
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	el := b.Elapsed()
	b.ReportMetric(float64(p.events)/el.Seconds(), "events/s")
	b.ReportMetric(float64(el.Nanoseconds())/float64(p.events), "ns/event")
	// Process CPU time (user+sys, GC workers included): what the engine
	// costs on a core, independent of waiting for a CPU on a loaded machine.
	b.ReportMetric(float64(p.events)/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(float64(p.cmds)/float64(p.events), "cmds/event")
}

func pct(l []time.Duration, q float64) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*q)]
}

// BenchmarkDecisionAgentFree times ContactEnded -> the freed agent's offer.
func BenchmarkDecisionAgentFree(b *testing.B) {
	p := newPeak(b, bWaiting)
	b.ResetTimer()
	for b.Loop() {
		p.now = p.now.Add(5 * time.Millisecond)
		i := p.r.IntN(len(p.talking))
		id := p.talking[i]
		p.talking[i] = p.talking[len(p.talking)-1]
		p.talking = p.talking[:len(p.talking)-1]
		p.timeIt = true
		cmds := p.apply(ContactEnded{Contact: id})
		p.timeIt = false
		p.acceptAll(cmds)
		p.acceptAll(p.arrive())
	}
	b.StopTimer()
	b.ReportMetric(float64(pct(p.lat, 0.5).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(pct(p.lat, 0.99).Nanoseconds()), "p99-ns")
}

// BenchmarkDecisionArrival times ContactArrived -> offer with idle agents
// (contact chooses agent) on the full 10,000-agent index.
func BenchmarkDecisionArrival(b *testing.B) {
	e, err := New(peakConfig())
	if err != nil {
		b.Fatal(err)
	}
	p := &peak{e: e, now: defaultStart, r: rand.New(rand.NewPCG(1, 2)), agentOf: map[ContactID]AgentID{}}
	for _, id := range sortedKeys(e.agents) {
		p.apply(AgentLoggedIn{Agent: id, Ready: true})
	}
	b.ResetTimer()
	for b.Loop() {
		p.now = p.now.Add(5 * time.Millisecond)
		p.timeIt = true
		cmds := p.arrive()
		p.timeIt = false
		for _, c := range cmds {
			if o, ok := c.(Offer); ok {
				p.apply(OfferAccepted{Contact: o.Contact, Agent: o.Agent})
				p.apply(ContactEnded{Contact: o.Contact})
			}
		}
		if len(p.e.contacts) > 0 { // unserved (no agent for that queue): let it go
			for _, id := range sortedKeys(p.e.contacts) {
				p.apply(ContactAbandoned{Contact: id})
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(pct(p.lat, 0.5).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(pct(p.lat, 0.99).Nanoseconds()), "p99-ns")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemory reports bytes per agent (engine with 10,000 logged-in
// agents) and bytes per waiting contact (50,000 waiting).
func BenchmarkMemory(b *testing.B) {
	cfg := peakConfig()
	h0 := heap()
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	p := &peak{e: e, now: defaultStart, r: rand.New(rand.NewPCG(1, 2)), agentOf: map[ContactID]AgentID{}}
	for _, id := range sortedKeys(e.agents) {
		p.apply(AgentLoggedIn{Agent: id, Ready: false})
	}
	h1 := heap()
	for range bWaiting {
		p.now = p.now.Add(time.Millisecond)
		p.arrive()
	}
	h2 := heap()
	if e.waitingTotal() != bWaiting {
		b.Fatalf("waiting %d", e.waitingTotal())
	}
	for b.Loop() {
	}
	b.ReportMetric(float64(h1-h0)/bAgents, "B/agent")
	b.ReportMetric(float64(h2-h1)/bWaiting, "B/contact")
	runtime.KeepAlive(e)
	runtime.KeepAlive(cfg)
}

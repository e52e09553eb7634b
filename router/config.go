package router

import (
	"fmt"
	"slices"
	"time"

	"onecall/agents"
)

// Defaults applied by New to zero config values.
const (
	DefaultOfferVoice = 15 * time.Second
	// DefaultInterpretWait bounds an interpretation request's wait for a
	// free interpreter (QueueDef.InterpretWait).
	DefaultInterpretWait = time.Minute
	DefaultOfferChat     = 30 * time.Second
	DefaultAnnounceEvery = 30 * time.Second
	DefaultMaxTalk       = 4 * time.Hour
	DefaultMaxWrapUp     = 30 * time.Minute
	DefaultMaxWaiting    = 24 * time.Hour
	DefaultAHT           = 3 * time.Minute
	DefaultStatsEvery    = time.Second
	DefaultCallbackWait  = 2 * time.Minute
)

// kst is the default schedule location (Korea has no DST).
var kst = time.FixedZone("KST", 9*3600)

func withDefaults(cfg Config) Config {
	if cfg.MaxTalk <= 0 {
		cfg.MaxTalk = DefaultMaxTalk
	}
	if cfg.MaxWrapUp <= 0 {
		cfg.MaxWrapUp = DefaultMaxWrapUp
	}
	if cfg.MaxWaiting <= 0 {
		cfg.MaxWaiting = DefaultMaxWaiting
	}
	if cfg.DefaultAHT <= 0 {
		cfg.DefaultAHT = DefaultAHT
	}
	if cfg.StatsEvery <= 0 {
		cfg.StatsEvery = DefaultStatsEvery
	}
	if cfg.CallbackWait <= 0 {
		cfg.CallbackWait = DefaultCallbackWait
	}
	cfg.Queues = slices.Clone(cfg.Queues)
	for i := range cfg.Queues {
		q := &cfg.Queues[i]
		if q.Weight <= 0 {
			q.Weight = 1
		}
		if q.Interprets != "" && q.InterpretWait <= 0 {
			q.InterpretWait = DefaultInterpretWait
		}
		if q.OfferVoice <= 0 {
			q.OfferVoice = DefaultOfferVoice
		}
		if q.OfferChat <= 0 {
			q.OfferChat = DefaultOfferChat
		}
		if q.AnnounceEvery <= 0 {
			q.AnnounceEvery = DefaultAnnounceEvery
		}
		if q.WrapUpVoice > cfg.MaxWrapUp {
			q.WrapUpVoice = cfg.MaxWrapUp
		}
		if q.WrapUpChat > cfg.MaxWrapUp {
			q.WrapUpChat = cfg.MaxWrapUp
		}
	}
	cfg.Agents = slices.Clone(cfg.Agents)
	for i := range cfg.Agents {
		cfg.Agents[i] = agentDefaults(cfg.Agents[i])
	}
	return cfg
}

func agentDefaults(d AgentDef) AgentDef {
	switch {
	case d.Voice == 0:
		d.Voice = 1
	case d.Voice < 0:
		d.Voice = 0
	}
	switch {
	case d.Chat == 0:
		d.Chat = agents.DefaultChatCapacity
	case d.Chat < 0:
		d.Chat = 0
	}
	return d
}

func validate(cfg *Config) error {
	qs := map[string]bool{}
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(f, a...))
	}
	checkSkills := func(where string, s []SkillReq) error {
		for _, r := range s {
			if r.Skill == "" || r.Min < 1 || r.Min > 5 {
				return bad("%s: skill %q min %d (want 1..5)", where, r.Skill, r.Min)
			}
		}
		return nil
	}
	for _, q := range cfg.Queues {
		if q.ID == "" || qs[q.ID] {
			return bad("queue id %q empty or duplicate", q.ID)
		}
		qs[q.ID] = true
		if err := checkSkills("queue "+q.ID, q.Skills); err != nil {
			return err
		}
		for _, st := range q.Escalation {
			if err := checkSkills("queue "+q.ID+" escalation", st.Relax); err != nil {
				return err
			}
		}
	}
	for _, q := range cfg.Queues {
		if q.OnFull == FullOverflow && !qs[q.FullTarget] {
			return bad("queue %s: full target %q unknown", q.ID, q.FullTarget)
		}
		for _, st := range q.Escalation {
			if st.AddQueue != "" && !qs[st.AddQueue] {
				return bad("queue %s: escalation queue %q unknown", q.ID, st.AddQueue)
			}
		}
		for _, o := range q.Overflow {
			if !qs[o.Queue] || o.Queue == q.ID {
				return bad("queue %s: overflow queue %q unknown", q.ID, o.Queue)
			}
		}
	}
	hs := map[string]bool{}
	for _, h := range cfg.Hotlines {
		if h.Number == "" || hs[h.Number] {
			return bad("hotline %q empty or duplicate", h.Number)
		}
		hs[h.Number] = true
		if h.DefaultQueue != "" && !qs[h.DefaultQueue] {
			return bad("hotline %s: queue %q unknown", h.Number, h.DefaultQueue)
		}
		if h.Closed == ClosedOverflow && !qs[h.ClosedTarget] {
			return bad("hotline %s: closed target %q unknown", h.Number, h.ClosedTarget)
		}
	}
	as := map[AgentID]bool{}
	for _, a := range cfg.Agents {
		if a.ID == "" || as[a.ID] {
			return bad("agent id %q empty or duplicate", a.ID)
		}
		as[a.ID] = true
		if err := validateAgent(a); err != nil {
			return err
		}
	}
	return nil
}

func validateAgent(a AgentDef) error {
	for s, l := range a.Skills {
		if l < 1 || l > 5 {
			return fmt.Errorf("%w: agent %s: skill %q level %d (want 1..5)", ErrInvalidConfig, a.ID, s, l)
		}
	}
	return nil
}

// build creates queues and hotlines from e.cfg (agents are attached by the
// caller).
func (e *Engine) build() {
	e.queues = make(map[string]*queue, len(e.cfg.Queues))
	e.queueList = e.queueList[:0]
	e.bySkill = map[string][]*queue{}
	e.noSkill = nil
	for _, d := range e.cfg.Queues {
		q := newQueueState(d)
		e.queues[d.ID] = q
		e.queueList = append(e.queueList, q)
		if len(q.loose) == 0 {
			e.noSkill = append(e.noSkill, q)
		} else {
			e.bySkill[q.loose[0].Skill] = append(e.bySkill[q.loose[0].Skill], q)
		}
	}
	slices.SortFunc(e.queueList, func(a, b *queue) int { return cmpStr(a.def.ID, b.def.ID) })
	e.hotlines = make(map[string]*hotline, len(e.cfg.Hotlines))
	for _, d := range e.cfg.Hotlines {
		loc := d.Schedule.Location
		if loc == nil {
			loc = kst
		}
		e.hotlines[d.Number] = &hotline{def: d, loc: loc}
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// memberQueues lists the queues agent definition d serves, in queue id
// order, without scanning every queue: candidates come from the index of
// queues by their first skill.
func (e *Engine) memberQueues(d AgentDef) []*queue {
	if d.Disabled {
		return nil
	}
	var out []*queue
	if d.Queues != nil {
		for _, id := range d.Queues {
			if q := e.queues[id]; q != nil && !slices.Contains(out, q) {
				out = append(out, q)
			}
		}
	} else {
		sk := agents.Skills(d.Skills)
		out = append(out, e.noSkill...)
		for s := range d.Skills {
			for _, q := range e.bySkill[s] {
				if sk.Meets(q.loose) {
					out = append(out, q)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b *queue) int { return cmpStr(a.def.ID, b.def.ID) })
	return out
}

// attach computes agent a's memberships from its definition and enters it
// into the per-queue counters and heaps.
func (e *Engine) attach(a *agent) {
	qs := e.memberQueues(a.def)
	a.mem = make([]membership, len(qs))
	for i, q := range qs {
		a.mem[i] = membership{q: q, score: a.Skills.Score(q.strict), sOK: a.Skills.Meets(q.strict), pos: [3]int{-1, -1, -1}}
		q.byState[a.State]++
		q.members++
		q.chatCap += a.Cap.Chat
		e.markDirty(q)
	}
	e.reindex(a, true)
}

// detach removes agent a from every queue it serves.
func (e *Engine) detach(a *agent) {
	for i := range a.mem {
		m := &a.mem[i]
		for ch := range m.pos {
			if m.pos[ch] >= 0 {
				m.q.ready[ch].remove(m.pos[ch])
			}
		}
		m.q.byState[a.State]--
		m.q.members--
		m.q.chatCap -= a.Cap.Chat
		e.markDirty(m.q)
	}
	a.mem = nil
}

func (e *Engine) setDef(a *agent, d AgentDef) {
	a.def = d
	a.known = true
	a.Skills = agents.Skills(d.Skills)
	a.Cap = agents.Capacity{Voice: d.Voice, Chat: d.Chat}
}

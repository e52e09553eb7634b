package configs

import (
	"sort"
	"time"
	_ "time/tzdata" // Asia/Seoul without relying on the host's zoneinfo

	"onecall/router"
)

// Seoul returns the Asia/Seoul location (embedded tzdata; fixed +09:00 as
// a fallback, which is exact since Korea has no DST).
func Seoul() *time.Location {
	if l, err := time.LoadLocation("Asia/Seoul"); err == nil {
		return l
	}
	return time.FixedZone("KST", 9*60*60)
}

func parseStrategy(s string) (router.Strategy, bool) {
	switch s {
	case "longest-idle":
		return router.LongestIdle, true
	case "most-skilled":
		return router.MostSkilled, true
	case "least-occupied":
		return router.LeastOccupied, true
	case "round-robin":
		return router.RoundRobin, true
	}
	return 0, false
}

func skillReqs(b *Bundle, m map[string]int) []router.SkillReq {
	out := make([]router.SkillReq, 0, len(m))
	for _, k := range sortedSkills(m) {
		out = append(out, router.SkillReq{Skill: k, Min: m[k]})
	}
	return out
}

// effectiveSkills is q's requirement; with lang set, the queue's language
// requirements are replaced by lang at the highest language minimum of
// the queue (3 when the queue names no language).
func effectiveSkills(b *Bundle, q *Queue, lang string) []router.SkillReq {
	all := skillReqs(b, q.Skills)
	if lang == "" {
		return all
	}
	out := make([]router.SkillReq, 0, len(all)+1)
	langMin := 0
	for _, r := range all {
		if b.Skills.IsLanguage(r.Skill) {
			langMin = max(langMin, r.Min)
			continue
		}
		out = append(out, r)
	}
	if langMin == 0 {
		langMin = 3
	}
	out = append(out, router.SkillReq{Skill: lang, Min: langMin})
	sort.Slice(out, func(i, j int) bool { return out[i].Skill < out[j].Skill })
	return out
}

// SkillsFor returns the skills a contact needs in queue when the citizen
// chose language (IVR menu or chat page); use it as ContactArrived.Skills.
// An empty language returns the queue's own requirement. ok is false for
// an unknown queue.
func (b *Bundle) SkillsFor(queue, language string) (skills []router.SkillReq, ok bool) {
	q := b.queue(queue)
	if q == nil {
		return nil, false
	}
	return effectiveSkills(b, q, language), true
}

// RouterConfig maps the bundle onto the router's pure configuration:
// every queue, every answered number (referral-only lines and aliases are
// resolved before routing and left out; Number is as written in
// hotlines.yaml), schedules in Asia/Seoul with the shared public holidays,
// and the roster's agents (none without a roster). It validates first.
func (b *Bundle) RouterConfig() (router.Config, error) {
	if err := b.Validate(); err != nil {
		return router.Config{}, err
	}
	rt := b.Server.Routing
	cfg := router.Config{
		MissedOfferNotReady:  rt.MissedOfferNotReady,
		PreferredAgentWindow: rt.PreferredAgentWindow.D(),
		PreferredAgentWait:   rt.PreferredAgentWait.D(),
		MaxTalk:              rt.MaxTalk.D(),
		MaxWrapUp:            rt.MaxWrapUp.D(),
		MaxWaiting:           rt.MaxWaiting.D(),
		DefaultAHT:           rt.DefaultAHT.D(),
		StatsEvery:           rt.StatsEvery.D(),
		CallbackWait:         rt.CallbackWait.D(),
	}
	for i := range b.Queues {
		q := &b.Queues[i]
		st, _ := parseStrategy(q.Strategy)
		d := router.QueueDef{
			ID: q.ID, Skills: skillReqs(b, q.Skills), Priority: q.Priority, Weight: q.Weight, Strategy: st,
			SLTarget: q.ServiceLevel.Percent / 100, SLThreshold: q.ServiceLevel.Within.D(),
			MaxWaiting: q.MaxWaiting, MaxWait: q.MaxWait.D(),
			WrapUpVoice: q.WrapUp.Voice.D(), WrapUpChat: q.WrapUp.Chat.D(),
			OfferVoice: q.OfferTimeout.Voice.D(), OfferChat: q.OfferTimeout.Chat.D(),
			AnnounceEvery: q.Announce.Every.D(), AgingPerMinute: q.AgingPerMinute, ChatWhileBusy: q.ChatWhileBusy,
			HidePosition: q.Announce.Position != nil && !*q.Announce.Position,
			HideWait:     q.Announce.EstimatedWait != nil && !*q.Announce.EstimatedWait,
			Interprets:   q.Interprets, InterpretWait: q.InterpretWait.D(),
		}
		switch q.OnFull.Action {
		case "overflow":
			d.OnFull, d.FullTarget = router.FullOverflow, q.OnFull.Queue
		case "callback":
			d.OnFull = router.FullCallback
		default:
			d.OnFull = router.FullRefuse
		}
		for _, e := range q.Escalation {
			d.Escalation = append(d.Escalation, router.EscalationStep{
				After: e.After.D(), Relax: skillReqs(b, e.Relax), AddQueue: e.AddQueue, OfferCallback: e.OfferCallback,
			})
		}
		for _, o := range q.Overflow {
			d.Overflow = append(d.Overflow, router.OverflowTarget{Queue: o.Queue, After: o.After.D(), Guarded: o.Guarded == nil || *o.Guarded})
		}
		cfg.Queues = append(cfg.Queues, d)
	}
	loc := Seoul()
	holidays := make(map[string]bool, len(b.Hotlines.Holidays))
	for _, h := range b.Hotlines.Holidays {
		holidays[h.Date] = true
	}
	for i := range b.Hotlines.Numbers {
		n := &b.Hotlines.Numbers[i]
		if n.Referral != "" {
			continue
		}
		h := router.HotlineDef{Number: n.Number, DefaultQueue: n.Queue, Schedule: n.Hours.schedule(loc, holidays)}
		switch n.Closed.Action {
		case "callback":
			// Without a trunk (or with callbacks off on the line) no
			// callback can be placed: the closed line refuses instead.
			h.Closed = router.ClosedRefuse
			if b.CallbackOn(n) {
				h.Closed = router.ClosedCallback
			}
		case "overflow":
			h.Closed, h.ClosedTarget = router.ClosedOverflow, n.Closed.Queue
		default:
			h.Closed = router.ClosedRefuse
		}
		cfg.Hotlines = append(cfg.Hotlines, h)
	}
	if b.Roster != nil {
		for i := range b.Roster.Users {
			u := &b.Roster.Users[i]
			if !u.IsAgent() {
				continue
			}
			skills := make(map[string]int, len(u.Skills))
			for k, v := range u.Skills {
				skills[k] = v
			}
			a := router.AgentDef{ID: router.AgentID(u.Username), Skills: skills, Voice: capacity(u.Voice, 1), Chat: capacity(u.Chat, 3), Disabled: u.Disabled}
			if len(u.Queues) > 0 {
				a.Queues = append([]string(nil), u.Queues...)
			}
			cfg.Agents = append(cfg.Agents, a)
		}
	}
	return cfg, nil
}

func spans(s []Span) []router.Span {
	if len(s) == 0 {
		return nil
	}
	out := make([]router.Span, len(s))
	for i, x := range s {
		out[i] = router.Span{From: x.From, To: x.To}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out
}

// schedule converts Hours to a router.Schedule; holidays is shared (read
// only) between all numbers.
func (h *Hours) schedule(loc *time.Location, holidays map[string]bool) router.Schedule {
	s := router.Schedule{Always: h.Always, Location: loc, Holidays: holidays}
	if h.Always {
		return s
	}
	for d := time.Monday; d <= time.Friday; d++ {
		s.Weekly[d] = spans(h.Weekdays)
	}
	sat, sun := h.Weekends, h.Weekends
	if h.Saturday != nil {
		sat = h.Saturday
	}
	if h.Sunday != nil {
		sun = h.Sunday
	}
	s.Weekly[time.Saturday] = spans(sat)
	s.Weekly[time.Sunday] = spans(sun)
	s.HolidayOpen = spans(h.Holidays)
	return s
}

// capacity maps a roster capacity (nil = def) to router.AgentDef, where 0
// means "use the router's default" and a negative value means none.
func capacity(n *int, def int) int {
	v := def
	if n != nil {
		v = *n
	}
	if v <= 0 {
		return -1
	}
	return v
}

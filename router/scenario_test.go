package router

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden scenario outputs")

// Scenario format (router/testdata/scenarios/*.txt):
//
//	# comment
//	start 2026-11-27T10:00:00+09:00          optional; default Friday 10:00 KST
//	option missed-not-ready preferred-window=24h preferred-wait=20s max-talk=4h ...
//	queue q1 skills=labor:3,ko:1 prio=1 strategy=most-skilled esc=30s/relax=labor:1 ...
//	hotline 110 queue=q1 hours=mon-fri@09:00-18:00 closed=callback
//	agent a1 skills=labor:4,ko:5 voice=1 chat=3 queues=q1,q2
//	hide stats agent contact announce        command kinds left out of the output
//	events:
//	@0s login a1 ready
//	@1s arrive c1 voice number=110
//	> @1s offer c1 a1 voice q=q1 ...          expected output (rewritten by -update)
//	@20s run                                 Tick at every NextDeadline up to 20s
//
// Event lines start with @ and an offset from start; output lines with >.

var defaultStart = time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC) // Fri 10:00 KST

type scenario struct {
	start time.Time
	cfg   Config
	hide  map[string]bool
	steps []sstep
}

type sstep struct {
	line  int // index into the file's lines
	at    time.Duration
	verb  string
	ev    Event
	query []string
}

func parseScenario(text string) (*scenario, error) {
	s := &scenario{start: defaultStart, hide: map[string]bool{}}
	s.cfg.MissedOfferNotReady = false
	inEvents := false
	var last time.Duration
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == '>' || line[0] == '=' {
			continue
		}
		f := strings.Fields(line)
		fail := func(err error) error { return fmt.Errorf("line %d %q: %w", i+1, line, err) }
		if !inEvents {
			if err := s.parseConfigLine(f); err != nil {
				return nil, fail(err)
			}
			if f[0] == "events:" {
				inEvents = true
			}
			continue
		}
		if f[0][0] != '@' {
			return nil, fail(errors.New("event lines start with @"))
		}
		at, err := time.ParseDuration(f[0][1:])
		if err != nil {
			return nil, fail(err)
		}
		if at < last {
			return nil, fail(errors.New("time goes backwards"))
		}
		last = at
		if len(f) < 2 {
			return nil, fail(errors.New("missing verb"))
		}
		st := sstep{line: i, at: at, verb: f[1]}
		switch f[1] {
		case "run", "tick":
		case "show":
			st.query = f[2:]
			if len(st.query) == 0 {
				return nil, fail(errors.New("show what"))
			}
		default:
			ev, err := parseEvent(f[1], f[2:], s.start)
			if err != nil {
				return nil, fail(err)
			}
			st.ev = ev
		}
		s.steps = append(s.steps, st)
	}
	if !inEvents {
		return nil, errors.New("missing events: line")
	}
	return s, nil
}

func kv(args []string) (pos []string, m map[string]string, multi map[string][]string) {
	m = map[string]string{}
	multi = map[string][]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			m[k] = v
			multi[k] = append(multi[k], v)
		} else {
			pos = append(pos, a)
		}
	}
	return
}

func parseSkills(s string) ([]SkillReq, error) {
	if s == "" {
		return nil, nil
	}
	var out []SkillReq
	for _, p := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(p, ":")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || k == "" {
			return nil, fmt.Errorf("bad skill %q", p)
		}
		out = append(out, SkillReq{Skill: k, Min: n})
	}
	return out, nil
}

func dur(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

func atoi(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.Atoi(s)
}

var weekdays = map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

func parseSpans(s string) ([]Span, error) {
	var out []Span
	for _, p := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(p, "-")
		if !ok {
			return nil, fmt.Errorf("bad span %q", p)
		}
		f, err1 := hhmm(a)
		t, err2 := hhmm(b)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		out = append(out, Span{From: f, To: t})
	}
	return out, nil
}

func hhmm(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hi, err1 := strconv.Atoi(h)
	mi, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hi < 0 || hi > 24 || mi < 0 || mi > 59 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return hi*60 + mi, nil
}

func (s *scenario) parseConfigLine(f []string) error {
	_, m, multi := kv(f[1:])
	var err error
	switch f[0] {
	case "events:":
		return nil
	case "start":
		if len(f) != 2 {
			return errors.New("start TIME")
		}
		s.start, err = time.Parse(time.RFC3339, f[1])
		return err
	case "hide":
		for _, k := range f[1:] {
			s.hide[k] = true
		}
		return nil
	case "option":
		c := &s.cfg
		for _, k := range f[1:] {
			if k == "missed-not-ready" {
				c.MissedOfferNotReady = true
			}
		}
		var errs []error
		set := func(dst *time.Duration, k string) {
			d, err := dur(m[k])
			errs = append(errs, err)
			*dst = d
		}
		set(&c.PreferredAgentWindow, "preferred-window")
		set(&c.PreferredAgentWait, "preferred-wait")
		set(&c.MaxTalk, "max-talk")
		set(&c.MaxWrapUp, "max-wrap")
		set(&c.MaxWaiting, "max-waiting")
		set(&c.DefaultAHT, "aht")
		set(&c.StatsEvery, "stats-every")
		set(&c.CallbackWait, "callback-wait")
		return errors.Join(errs...)
	case "queue":
		if len(f) < 2 {
			return errors.New("queue ID")
		}
		q := QueueDef{ID: f[1]}
		var errs []error
		q.Skills, err = parseSkills(m["skills"])
		errs = append(errs, err)
		ints := map[string]*int{"prio": &q.Priority, "weight": &q.Weight, "maxwaiting": &q.MaxWaiting, "aging": &q.AgingPerMinute}
		for k, p := range ints {
			*p, err = atoi(m[k])
			errs = append(errs, err)
		}
		durs := map[string]*time.Duration{"slt": &q.SLThreshold, "maxwait": &q.MaxWait, "offer-voice": &q.OfferVoice,
			"offer-chat": &q.OfferChat, "wrap-voice": &q.WrapUpVoice, "wrap-chat": &q.WrapUpChat, "announce": &q.AnnounceEvery,
			"interpret-wait": &q.InterpretWait}
		for k, p := range durs {
			*p, err = dur(m[k])
			errs = append(errs, err)
		}
		if v := m["sl"]; v != "" {
			q.SLTarget, err = strconv.ParseFloat(v, 64)
			errs = append(errs, err)
		}
		q.ChatWhileBusy = m["chatbusy"] == "true"
		q.Interprets = m["interprets"]
		switch m["strategy"] {
		case "", "longest-idle":
		case "most-skilled":
			q.Strategy = MostSkilled
		case "least-occupied":
			q.Strategy = LeastOccupied
		case "round-robin":
			q.Strategy = RoundRobin
		default:
			errs = append(errs, fmt.Errorf("strategy %q", m["strategy"]))
		}
		switch m["onfull"] {
		case "", "refuse":
		case "overflow":
			q.OnFull, q.FullTarget = FullOverflow, m["fulltarget"]
		case "callback":
			q.OnFull = FullCallback
		default:
			errs = append(errs, fmt.Errorf("onfull %q", m["onfull"]))
		}
		for _, v := range multi["esc"] {
			a, rest, _ := strings.Cut(v, "/")
			st := EscalationStep{}
			st.After, err = time.ParseDuration(a)
			errs = append(errs, err)
			k, val, _ := strings.Cut(rest, "=")
			switch k {
			case "relax":
				st.Relax, err = parseSkills(strings.ReplaceAll(val, ";", ","))
				errs = append(errs, err)
			case "add":
				st.AddQueue = val
			case "callback":
				st.OfferCallback = true
			default:
				errs = append(errs, fmt.Errorf("esc %q", v))
			}
			q.Escalation = append(q.Escalation, st)
		}
		for _, v := range multi["overflow"] {
			p := strings.Split(v, "/")
			o := OverflowTarget{Queue: p[0]}
			if len(p) > 1 {
				o.After, err = time.ParseDuration(p[1])
				errs = append(errs, err)
			}
			o.Guarded = len(p) > 2 && p[2] == "guarded"
			q.Overflow = append(q.Overflow, o)
		}
		s.cfg.Queues = append(s.cfg.Queues, q)
		return errors.Join(errs...)
	case "hotline":
		if len(f) < 2 {
			return errors.New("hotline NUMBER")
		}
		h := HotlineDef{Number: f[1], DefaultQueue: m["queue"], ClosedTarget: m["target"]}
		switch hours := m["hours"]; hours {
		case "", "always":
			h.Schedule.Always = true
		default:
			for _, part := range strings.Split(hours, ";") {
				days, spans, ok := strings.Cut(part, "@")
				sp, err := parseSpans(spans)
				if !ok || err != nil {
					return fmt.Errorf("hours %q", part)
				}
				d0, d1, _ := strings.Cut(days, "-")
				if d1 == "" {
					d1 = d0
				}
				w0, ok0 := weekdays[d0]
				w1, ok1 := weekdays[d1]
				if !ok0 || !ok1 || w1 < w0 {
					return fmt.Errorf("days %q", days)
				}
				for w := w0; w <= w1; w++ {
					h.Schedule.Weekly[w] = sp
				}
			}
		}
		for _, d := range multi["holiday"] {
			if h.Schedule.Holidays == nil {
				h.Schedule.Holidays = map[string]bool{}
			}
			h.Schedule.Holidays[d] = true
		}
		if v := m["holiday-hours"]; v != "" {
			h.Schedule.HolidayOpen, err = parseSpans(v)
			if err != nil {
				return err
			}
		}
		switch m["closed"] {
		case "", "refuse":
		case "callback":
			h.Closed = ClosedCallback
		case "overflow":
			h.Closed = ClosedOverflow
		default:
			return fmt.Errorf("closed %q", m["closed"])
		}
		s.cfg.Hotlines = append(s.cfg.Hotlines, h)
		return nil
	case "agent":
		d, err := parseAgentDef(f[1:])
		if err != nil {
			return err
		}
		s.cfg.Agents = append(s.cfg.Agents, d)
		return nil
	}
	return fmt.Errorf("unknown config line %q", f[0])
}

func parseAgentDef(f []string) (AgentDef, error) {
	if len(f) < 1 {
		return AgentDef{}, errors.New("agent ID")
	}
	pos, m, _ := kv(f[1:])
	d := AgentDef{ID: AgentID(f[0]), Skills: map[string]int{}}
	sk, err := parseSkills(m["skills"])
	if err != nil {
		return d, err
	}
	for _, r := range sk {
		d.Skills[r.Skill] = r.Min
	}
	v, err1 := atoi(m["voice"])
	c, err2 := atoi(m["chat"])
	d.Voice, d.Chat = v, c
	if q, ok := m["queues"]; ok {
		d.Queues = strings.Split(q, ",")
	}
	d.Disabled = slices.Contains(pos, "disabled")
	return d, errors.Join(err1, err2)
}

// cid parses cN, or cM.N for contact N of cluster node M (the node's
// number above ContactIDNodeShift).
func cid(s string) (ContactID, error) {
	if !strings.HasPrefix(s, "c") {
		return 0, fmt.Errorf("contact id %q (want cN or cM.N)", s)
	}
	node, num, ok := strings.Cut(s[1:], ".")
	if !ok {
		n, err := strconv.ParseUint(s[1:], 10, 64)
		return ContactID(n), err
	}
	m, err1 := strconv.ParseUint(node, 10, 16)
	n, err2 := strconv.ParseUint(num, 10, 64)
	return ContactID(m<<ContactIDNodeShift | n), errors.Join(err1, err2)
}

// cname formats id as cid parses it.
func cname(id ContactID) string {
	if node := id.Node(); node != 0 {
		return fmt.Sprintf("c%d.%d", node, uint64(id)&(1<<ContactIDNodeShift-1))
	}
	return fmt.Sprintf("c%d", uint64(id))
}

func parseEvent(verb string, args []string, start time.Time) (Event, error) {
	pos, m, _ := kv(args)
	need := func(n int) error {
		if len(pos) < n {
			return fmt.Errorf("%s needs %d arguments", verb, n)
		}
		return nil
	}
	if err := need(1); err != nil {
		return nil, err
	}
	switch verb {
	case "login":
		return AgentLoggedIn{Agent: AgentID(pos[0]), Ready: slices.Contains(pos, "ready")}, nil
	case "logout":
		return AgentLoggedOut{Agent: AgentID(pos[0]), By: AgentID(m["by"])}, nil
	case "ready":
		return AgentStateRequested{Agent: AgentID(pos[0]), State: Ready, Next: slices.Contains(pos, "next"), By: AgentID(m["by"])}, nil
	case "notready":
		return AgentStateRequested{Agent: AgentID(pos[0]), State: NotReady, Reason: m["reason"], Next: slices.Contains(pos, "next"), By: AgentID(m["by"])}, nil
	case "wrapdone":
		return WrapUpDone{Agent: AgentID(pos[0])}, nil
	case "upsert":
		d, err := parseAgentDef(args)
		return AgentUpserted{Agent: d}, err
	case "nodelost":
		n, err := strconv.ParseUint(pos[0], 10, 16)
		return NodeLost{Node: uint16(n)}, err
	}
	id, err := cid(pos[0])
	if err != nil {
		return nil, err
	}
	switch verb {
	case "arrive":
		if err := need(2); err != nil {
			return nil, err
		}
		ev := ContactArrived{Contact: id, Number: m["number"], Queue: m["queue"], Language: m["lang"], Citizen: m["citizen"]}
		switch pos[1] {
		case "voice":
			ev.Channel = Voice
		case "chat":
			ev.Channel = Chat
		default:
			return nil, fmt.Errorf("channel %q", pos[1])
		}
		var errs []error
		ev.Priority, err = atoi(m["prio"])
		errs = append(errs, err)
		ev.Skills, err = parseSkills(m["skills"])
		errs = append(errs, err)
		if v := m["arrived"]; v != "" {
			d, err := time.ParseDuration(v)
			errs = append(errs, err)
			ev.Arrived = start.Add(d)
		}
		return ev, errors.Join(errs...)
	case "accept", "reject":
		if err := need(2); err != nil {
			return nil, err
		}
		if verb == "accept" {
			return OfferAccepted{Contact: id, Agent: AgentID(pos[1])}, nil
		}
		return OfferRejected{Contact: id, Agent: AgentID(pos[1]), Reason: m["reason"]}, nil
	case "abandon":
		return ContactAbandoned{Contact: id}, nil
	case "end":
		r := EndCompleted
		if v := m["reason"]; v != "" {
			r = EndUnknown
			for x := EndUnknown; x <= EndNodeLost; x++ {
				if x.String() == v {
					r = x
				}
			}
			if r == EndUnknown {
				return nil, fmt.Errorf("end reason %q", v)
			}
		}
		return ContactEnded{Contact: id, Reason: r}, nil
	case "transfer":
		return ContactTransferred{Contact: id, ToQueue: m["queue"], ToAgent: AgentID(m["agent"]), ToNumber: m["number"],
			By: AgentID(m["by"]), Note: m["note"]}, nil
	case "move":
		ev := ContactMoved{Contact: id, ToQueue: m["queue"], By: AgentID(m["by"])}
		if v, ok := m["prio"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, err
			}
			ev.Priority = &n
		}
		return ev, nil
	case "callback":
		return CallbackRequested{Contact: id, Number: m["number"]}, nil
	case "consult":
		return ConsultRequested{Contact: id, By: AgentID(m["by"]), ToQueue: m["queue"], ToAgent: AgentID(m["agent"]),
			ToNumber: m["number"], Note: m["note"], Language: m["lang"]}, nil
	case "consultstep":
		if err := need(2); err != nil {
			return nil, err
		}
		for st := ConsultStarted; st <= ConsultWaiting; st++ {
			if st.String() == pos[1] {
				return ConsultUpdated{Contact: id, Step: st, Reason: m["reason"]}, nil
			}
		}
		return nil, fmt.Errorf("consult step %q", pos[1])
	}
	return nil, fmt.Errorf("unknown verb %q", verb)
}

// runScenario runs s and returns, per step line, the output lines.
func runScenario(t testing.TB, s *scenario) map[int][]string {
	e, err := New(s.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	out := map[int][]string{}
	now := s.start
	emit := func(line int, at time.Time, cmds []Command, err error) {
		for _, c := range cmds {
			kind, text := fmtCmd(c, s.start)
			if !s.hide[kind] {
				out[line] = append(out[line], "> "+rel(at, s.start)+" "+text)
			}
		}
		if err != nil {
			out[line] = append(out[line], "> "+rel(at, s.start)+" error: "+err.Error())
		}
	}
	for _, st := range s.steps {
		target := s.start.Add(st.at)
		switch st.verb {
		case "run":
			for {
				dl, ok := e.NextDeadline()
				if !ok || dl.After(target) {
					break
				}
				if dl.Before(now) {
					dl = now
				}
				now = dl
				cmds, err := e.Apply(Tick{}, now)
				emit(st.line, now, cmds, err)
			}
			now = target
		case "tick":
			now = target
			cmds, err := e.Apply(Tick{}, now)
			emit(st.line, now, cmds, err)
		case "show":
			now = target
			e.now = now
			out[st.line] = append(out[st.line], showQuery(e, st.query, s.start)...)
		default:
			// Timers due before the event fire first, as the hub would.
			for {
				dl, ok := e.NextDeadline()
				if !ok || !dl.Before(target) {
					break
				}
				if dl.Before(now) {
					dl = now
				}
				now = dl
				cmds, err := e.Apply(Tick{}, now)
				emit(st.line, now, cmds, err)
			}
			now = target
			cmds, err := e.Apply(st.ev, now)
			emit(st.line, now, cmds, err)
		}
	}
	return out
}

func rel(t, start time.Time) string {
	return "@" + t.Sub(start).String()
}

func relOrNone(t, start time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return rel(t, start)
}

func fmtCmd(c Command, start time.Time) (kind, text string) {
	switch c := c.(type) {
	case Offer:
		return "offer", fmt.Sprintf("offer %s %s %v q=%s deadline=%s waited=%v reason=%q why=%v", cname(c.Contact), c.Agent, c.Channel, c.Queue, rel(c.Deadline, start), c.Waited, c.Reason, c.Why)
	case OfferWithdrawn:
		return "withdrawn", fmt.Sprintf("withdrawn %s %s reason=%q", cname(c.Contact), c.Agent, c.Reason)
	case Connected:
		return "connected", fmt.Sprintf("connected %s %s %v q=%s", cname(c.Contact), c.Agent, c.Channel, c.Queue)
	case Announce:
		return "announce", fmt.Sprintf("announce %s %v pos=%d ewt=%v", cname(c.Contact), c.Channel, c.Position, c.EstimatedWait)
	case Overflowed:
		return "overflowed", fmt.Sprintf("overflowed %s %s->%s reason=%q", cname(c.Contact), c.FromQueue, c.ToQueue, c.Reason)
	case CallbackOffered:
		return "callback", fmt.Sprintf("callback-offered %s reason=%q", cname(c.Contact), c.Reason)
	case ContactClosed:
		return "closed", fmt.Sprintf("closed %s %v %v agent=%s", cname(c.Contact), c.Channel, c.Reason, c.Agent)
	case AgentStateChanged:
		return "agent", fmt.Sprintf("agent %s %v next=%v active=%d reason=%q", c.Agent, c.State, c.Next, c.Active, c.Reason)
	case ContactStateChanged:
		return "contact", fmt.Sprintf("contact %s %v q=%s agent=%s reason=%q", cname(c.Contact), c.State, c.Queue, c.Agent, c.Reason)
	case QueueStats:
		return "stats", "stats " + fmtQueue(c.Stats)
	case ConsultChanged:
		lang := ""
		if c.Language != "" {
			lang = " lang=" + c.Language
		}
		return "consult", fmt.Sprintf("%s %s by=%s agent=%s q=%s number=%s%s note=%q deadline=%s reason=%q",
			c.Step, cname(c.Contact), c.By, c.Agent, c.Queue, c.Number, lang, c.Note, relOrNone(c.Deadline, start), c.Reason)
	case Transferred:
		return "transferred", fmt.Sprintf("transferred %s from=%s talked=%v by=%s %s->%s agent=%s number=%s note=%q",
			cname(c.Contact), c.From, c.Talked, c.By, c.FromQueue, c.ToQueue, c.ToAgent, c.ToNumber, c.Note)
	}
	return "unknown", fmt.Sprintf("%T %+v", c, c)
}

func fmtQueue(q QueueSnapshot) string {
	var st []string
	for s := Offline; s <= WrapUp; s++ {
		if n := q.AgentsByState[s]; n > 0 {
			st = append(st, fmt.Sprintf("%v:%d", s, n))
		}
	}
	return fmt.Sprintf("%s waiting=%d longest=%v sl=%.2f/%.2f/%.2f asa=%v offered=%d answered=%d abandoned=%d ewt=%v agents=[%s]",
		q.Queue, q.Waiting, q.LongestWait, q.SLToday, q.SL15m, q.SL60m, q.ASA, q.Offered, q.Answered, q.Abandoned, q.EstimatedWait, strings.Join(st, " "))
}

func showQuery(e *Engine, q []string, start time.Time) []string {
	at := rel(e.now, start)
	arg := ""
	if len(q) > 1 {
		arg = q[1]
	}
	switch q[0] {
	case "agent":
		v, ok := e.Agent(AgentID(arg))
		if !ok {
			return []string{"= " + at + " agent " + arg + " unknown"}
		}
		return []string{fmt.Sprintf("= %s agent %s %v reason=%q since=%s next=%v/%v active=%v offered=%v handled=%d aht=%v queues=%v",
			at, v.ID, v.State, v.Reason, rel(v.Since, start), v.HasNext, v.Next, v.Active, v.Offered, v.Handled, v.AHT, v.Queues)}
	case "contact":
		id, _ := cid(arg)
		v, ok := e.Contact(id)
		if !ok {
			return []string{"= " + at + " contact " + arg + " gone"}
		}
		return []string{fmtView(at, v)}
	case "waiting":
		out := []string{}
		for _, v := range e.Waiting(arg) {
			out = append(out, fmtView(at, v))
		}
		if len(out) == 0 {
			out = append(out, "= "+at+" waiting "+arg+" empty")
		}
		return out
	case "queue":
		qs, ok := e.QueueStats(arg)
		if !ok {
			return []string{"= " + at + " queue " + arg + " unknown"}
		}
		return []string{"= " + at + " queue " + fmtQueue(qs)}
	case "deadline":
		dl, ok := e.NextDeadline()
		if !ok {
			return []string{"= " + at + " deadline none"}
		}
		return []string{"= " + at + " deadline " + rel(dl, start)}
	}
	return []string{"= " + at + " unknown query " + strings.Join(q, " ")}
}

func fmtView(at string, v ContactView) string {
	return fmt.Sprintf("= %s contact %s %v %v q=%s agent=%s pos=%d prio=%d waited=%v reason=%q",
		at, cname(v.ID), v.State, v.Channel, v.Queue, v.Agent, v.Position, v.Priority, v.Waited, v.Reason)
}

// render rebuilds the file: input lines verbatim, outputs after each step.
func render(text string, out map[int][]string) string {
	var b strings.Builder
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		tl := strings.TrimSpace(l)
		if strings.HasPrefix(tl, ">") || strings.HasPrefix(tl, "=") {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
		for _, o := range out[i] {
			b.WriteString(o)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestScenarios(t *testing.T) {
	eachScenario(t, func(t *testing.T, f, text string, s *scenario) {
		got := render(text, runScenario(t, s))
		// Determinism: the same input gives the same output.
		if again := render(text, runScenario(t, s)); again != got {
			t.Fatal("scenario output differs between two runs")
		}
		if *update {
			if err := os.WriteFile(f, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if got != text {
			t.Errorf("output differs (run go test ./router -run TestScenarios -update and review the diff):\n%s", diffLines(text, got))
		}
	})
}

// eachScenario runs check as a subtest on every golden scenario (file f,
// its text, parsed).
func eachScenario(t *testing.T, check func(t *testing.T, f, text string, s *scenario)) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := parseScenario(string(b))
			if err != nil {
				t.Fatal(err)
			}
			check(t, f, string(b), s)
		})
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var x, y string
		if i < len(w) {
			x = w[i]
		}
		if i < len(g) {
			y = g[i]
		}
		if x != y {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, x, y)
			if b.Len() > 4000 {
				break
			}
		}
	}
	return b.String()
}

func FuzzParseScenario(f *testing.F) {
	files, _ := filepath.Glob("testdata/scenarios/*.txt")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("queue q\nevents:\n@0s tick\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parseScenario(text)
		if err != nil {
			return
		}
		if len(s.steps) > 200 || len(s.cfg.Agents) > 50 || len(s.cfg.Queues) > 50 {
			return
		}
		for _, st := range s.steps {
			if st.at > 48*time.Hour {
				return
			}
		}
		if _, err := New(s.cfg); err != nil {
			return
		}
		// A parsed, valid scenario runs without panics and deterministically.
		a := render(text, runScenario(t, s))
		if b := render(text, runScenario(t, s)); a != b {
			t.Fatal("nondeterministic")
		}
	})
}

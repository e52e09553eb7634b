package router

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// roundTrip saves e's state and restores it into a fresh engine, which
// must save the same bytes.
func roundTrip(t testing.TB, e *Engine) *Engine { return restoreCheck(t, e, true) }

func restoreCheck(t testing.TB, e *Engine, check bool) *Engine {
	t.Helper()
	b, err := e.MarshalState()
	if err != nil {
		t.Fatalf("MarshalState: %v", err)
	}
	r, err := RestoreState(b)
	if err != nil {
		t.Fatalf("RestoreState: %v", err)
	}
	if !check {
		return r
	}
	again, err := r.MarshalState()
	if err != nil {
		t.Fatalf("MarshalState of the restored engine: %v", err)
	}
	if !bytes.Equal(again, b) {
		t.Fatalf("restored state saves differently:\n%s", firstDiff(string(b), string(again)))
	}
	return r
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(i-300, 0)
	return fmt.Sprintf("at byte %d:\n- %s\n+ %s", i, a[from:min(i+300, len(a))], b[from:min(i+300, len(b))])
}

// Every golden scenario gives its golden output when the engine is saved
// and restored after every single event: a restored engine decides as the
// original at any point.
func TestStateScenarios(t *testing.T) {
	eachScenario(t, func(t *testing.T, _, text string, s *scenario) {
		want := render(text, runScenario(t, s))
		restores := 0
		got := render(text, runScenarioWith(t, s, func(e *Engine) *Engine {
			restores++
			return roundTrip(t, e)
		}))
		if got != want {
			t.Fatalf("with a restore after every event the output differs:\n%s", diffLines(want, got))
		}
		if restores < 3 {
			t.Fatalf("only %d restores", restores)
		}
	})
}

// runScenarioWith is runScenario with swap applied to the engine after
// every Apply.
func runScenarioWith(t testing.TB, s *scenario, swap func(*Engine) *Engine) map[int][]string {
	e, err := New(s.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	out := map[int][]string{}
	now := s.start
	apply := func(line int, ev Event, at time.Time) {
		cmds, err := e.Apply(ev, at)
		for _, c := range cmds {
			kind, text := fmtCmd(c, s.start)
			if !s.hide[kind] {
				out[line] = append(out[line], "> "+rel(at, s.start)+" "+text)
			}
		}
		if err != nil {
			out[line] = append(out[line], "> "+rel(at, s.start)+" error: "+err.Error())
		}
		e = swap(e)
	}
	tickUntil := func(line int, target time.Time, inclusive bool) {
		for {
			dl, ok := e.NextDeadline()
			if !ok || dl.After(target) || (!inclusive && !dl.Before(target)) {
				break
			}
			if dl.Before(now) {
				dl = now
			}
			now = dl
			apply(line, Tick{}, now)
		}
	}
	for _, st := range s.steps {
		target := s.start.Add(st.at)
		switch st.verb {
		case "run":
			tickUntil(st.line, target, true)
			now = target
		case "tick":
			now = target
			apply(st.line, Tick{}, now)
		case "show":
			now = target
			e.now = now
			out[st.line] = append(out[st.line], showQuery(e, st.query, s.start)...)
		default:
			tickUntil(st.line, target, false)
			now = target
			apply(st.line, st.ev, now)
		}
	}
	return out
}

// stream plays a seeded random life of a center against an engine,
// reacting to its commands: arrivals (some booked callbacks, some on a
// line that closes), accepts, rejects, ends, abandons, logins and
// logouts, state changes, wrap-ups, transfers, moves, callbacks,
// consults, agent upserts, config reloads that drop and add queues, and
// time passing with ticks.
type stream struct {
	r        *rand.Rand
	cfgs     [2]Config
	cfgAt    int
	now      time.Time
	nextID   ContactID
	ids      []AgentID
	offered  map[ContactID]AgentID
	talking  map[ContactID]AgentID
	voice    map[ContactID]bool
	consults map[ContactID]bool
	open     map[ContactID]bool
	ready    map[AgentID]bool
}

func newStream(seed uint64) *stream {
	r := rand.New(rand.NewPCG(seed, 11))
	cfg := randomConfig(r)
	var week [7][]Span
	week[time.Friday] = []Span{{From: 9 * 60, To: 10*60 + 5}}
	cfg.Hotlines = append(cfg.Hotlines, HotlineDef{Number: "120", DefaultQueue: "q1",
		Schedule: Schedule{Weekly: week}, Closed: ClosedCallback})
	cfg.PreferredAgentWindow, cfg.PreferredAgentWait = time.Hour, 10*time.Second
	cfg.Queues[2].AnnounceEvery = 20 * time.Second
	cfg.Queues[3].Interprets, cfg.Queues[3].InterpretWait = "vi", 30*time.Second
	// The second config drops q3 (its contacts orphaned or closed), adds
	// q4 and changes an agent.
	alt := cfg
	alt.Queues = slices.Clone(cfg.Queues[:3])
	q4 := cfg.Queues[3]
	q4.ID = "q4"
	alt.Queues = append(alt.Queues, q4)
	alt.Queues[1].Overflow = nil
	alt.Agents = slices.Clone(cfg.Agents)
	alt.Agents[0].Skills = map[string]int{"labor": 5, "tax": 5, "ko": 5, "en": 5}
	s := &stream{r: r, cfgs: [2]Config{cfg, alt}, now: defaultStart, offered: map[ContactID]AgentID{},
		talking: map[ContactID]AgentID{}, voice: map[ContactID]bool{}, consults: map[ContactID]bool{}, open: map[ContactID]bool{}, ready: map[AgentID]bool{}}
	for _, d := range cfg.Agents {
		s.ids = append(s.ids, d.ID)
	}
	return s
}

func (s *stream) pick(m map[ContactID]AgentID) (ContactID, AgentID, bool) {
	if len(m) == 0 {
		return 0, "", false
	}
	ks := sortedKeys(m)
	k := ks[s.r.IntN(len(ks))]
	return k, m[k], true
}

func (s *stream) pickOpen() (ContactID, bool) {
	if len(s.open) == 0 {
		return 0, false
	}
	ks := sortedKeys(s.open)
	return ks[s.r.IntN(len(ks))], true
}

func (s *stream) agent() AgentID { return s.ids[s.r.IntN(len(s.ids))] }

func (s *stream) queue() string {
	return [...]string{"q0", "q1", "q2", "q3", "q4"}[s.r.IntN(5)]
}

// next returns the next event and its time.
func (s *stream) next() (Event, time.Time) {
	switch n := s.r.IntN(115); {
	case n < 20:
		s.nextID++
		id := s.nextID
		ev := ContactArrived{Contact: id, Channel: Voice, Queue: s.queue(), Priority: s.r.IntN(2),
			Citizen: fmt.Sprintf("010-%d", s.r.IntN(15))}
		if s.r.IntN(3) == 0 {
			ev.Channel = Chat
		}
		switch s.r.IntN(6) {
		case 0:
			ev.Queue, ev.Number = "", "110"
		case 1:
			ev.Queue, ev.Number = "", "120"
		case 2:
			ev.Callback, ev.Arrived = true, s.now.Add(-time.Minute)
		}
		s.open[id], s.voice[id] = true, ev.Channel == Voice
		return ev, s.now
	case n < 33:
		if id, a, ok := s.pick(s.offered); ok {
			return OfferAccepted{Contact: id, Agent: a}, s.now
		}
	case n < 37:
		if id, a, ok := s.pick(s.offered); ok {
			return OfferRejected{Contact: id, Agent: a, Reason: "busy"}, s.now
		}
	case n < 48:
		if id, _, ok := s.pick(s.talking); ok {
			return ContactEnded{Contact: id, Reason: EndCompleted}, s.now
		}
	case n < 52:
		if id, ok := s.pickOpen(); ok {
			return ContactAbandoned{Contact: id}, s.now
		}
	case n < 59:
		return AgentLoggedIn{Agent: s.agent(), Ready: s.r.IntN(4) > 0}, s.now
	case n < 61:
		return AgentLoggedOut{Agent: s.agent()}, s.now
	case n < 67:
		st := Ready
		if s.r.IntN(3) == 0 {
			st = NotReady
		}
		return AgentStateRequested{Agent: s.agent(), State: st, Reason: "break", Next: s.r.IntN(2) == 0}, s.now
	case n < 69:
		return WrapUpDone{Agent: s.agent()}, s.now
	case n < 72:
		if id, ok := s.pickOpen(); ok {
			ev := ContactTransferred{Contact: id, ToQueue: s.queue(), Note: "see"}
			switch s.r.IntN(4) {
			case 0:
				ev.ToQueue, ev.ToAgent = "", s.agent()
			case 1:
				ev.ToQueue, ev.ToNumber = "", "1350"
			}
			if a, ok := s.talking[id]; ok {
				ev.By = a
			}
			return ev, s.now
		}
	case n < 74:
		if id, ok := s.pickOpen(); ok {
			p := s.r.IntN(5)
			return ContactMoved{Contact: id, ToQueue: s.queue(), Priority: &p, By: "sup"}, s.now
		}
	case n < 75:
		if id, ok := s.pickOpen(); ok {
			return CallbackRequested{Contact: id, Number: "010"}, s.now
		}
	case n < 82:
		if id, a, ok := s.pick(s.talking); ok && s.voice[id] {
			ev := ConsultRequested{Contact: id, By: a, ToAgent: s.agent(), Note: "help"}
			if rs := sortedKeys(s.ready); len(rs) > 0 {
				ev.ToAgent = rs[s.r.IntN(len(rs))]
			}
			switch s.r.IntN(4) {
			case 0:
				ev.ToAgent, ev.ToQueue = "", s.queue()
			case 1:
				ev.ToAgent, ev.Language = "", "vi"
			}
			return ev, s.now
		}
	case n < 90:
		ks := sortedKeys(s.consults)
		if len(ks) > 0 {
			id := ks[s.r.IntN(len(ks))]
			steps := []ConsultStep{ConsultAnswered, ConsultCancelled, ConsultFailed, ConsultCompleted, ConsultConference, ConsultLeft}
			return ConsultUpdated{Contact: id, Step: steps[s.r.IntN(len(steps))], Reason: "r"}, s.now
		}
	case n < 91:
		d := s.cfgs[0].Agents[s.r.IntN(len(s.ids))]
		d.Chat = 1 + s.r.IntN(3)
		return AgentUpserted{Agent: d}, s.now
	case n < 92:
		s.cfgAt = 1 - s.cfgAt
		return ConfigReloaded{Config: s.cfgs[s.cfgAt]}, s.now
	}
	s.now = s.now.Add(time.Duration(s.r.IntN(20000)) * time.Millisecond)
	return Tick{}, s.now
}

// observe follows the commands.
func (s *stream) observe(cmds []Command) {
	for _, c := range cmds {
		switch c := c.(type) {
		case Offer:
			s.offered[c.Contact] = c.Agent
		case OfferWithdrawn:
			delete(s.offered, c.Contact)
		case Connected:
			delete(s.offered, c.Contact)
			s.talking[c.Contact] = c.Agent
		case Transferred:
			delete(s.talking, c.Contact)
		case ConsultChanged:
			switch c.Step {
			case ConsultStarted, ConsultAnswered, ConsultConference:
				s.consults[c.Contact] = true
			default:
				delete(s.consults, c.Contact)
			}
		case AgentStateChanged:
			if c.State == Ready {
				s.ready[c.Agent] = true
			} else {
				delete(s.ready, c.Agent)
			}
		case ContactClosed:
			delete(s.offered, c.Contact)
			delete(s.talking, c.Contact)
			delete(s.consults, c.Contact)
			delete(s.open, c.Contact)
		}
	}
}

func encodeAll(t testing.TB, cmds []Command, err error) string {
	t.Helper()
	var b strings.Builder
	for _, c := range cmds {
		enc, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(enc)
		b.WriteByte('\n')
	}
	if err != nil {
		b.WriteString("error: " + err.Error() + "\n")
	}
	return b.String()
}

type allViews struct {
	Snap     Snapshot
	Waiting  [][]ContactView
	Contacts []ContactView
	Deadline time.Time
}

func viewsOf(e *Engine) allViews {
	v := allViews{Snap: e.Snapshot()}
	for _, q := range e.queueList {
		v.Waiting = append(v.Waiting, e.Waiting(q.def.ID))
	}
	for _, id := range sortedKeys(e.contacts) {
		cv, _ := e.Contact(id)
		v.Contacts = append(v.Contacts, cv)
	}
	v.Deadline, _ = e.NextDeadline()
	return v
}

// Engine A applies a random stream; engine B applies the same stream but
// is saved and restored after every event. Both emit the same commands,
// event by event, and show the same views throughout.
func TestStateRandomStreams(t *testing.T) {
	const seeds = 4
	kinds := map[string]int{}
	for seed := range uint64(seeds) {
		s := newStream(seed)
		a, err := New(s.cfgs[0])
		if err != nil {
			t.Fatal(err)
		}
		b := roundTrip(t, a)
		for step := range 600 {
			ev, at := s.next()
			ca, ea := a.Apply(ev, at)
			cb, eb := b.Apply(ev, at)
			kinds[reflect.TypeOf(ev).Name()]++
			if x, y := encodeAll(t, ca, ea), encodeAll(t, cb, eb); x != y {
				t.Fatalf("seed %d step %d %T: commands differ:\n%s", seed, step, ev, diffLines(x, y))
			}
			s.observe(ca)
			for _, c := range ca {
				if c, ok := c.(ConsultChanged); ok {
					kinds["step "+c.Step.String()]++
				}
			}
			b = restoreCheck(t, b, step%5 == 0)
			if step%50 == 0 {
				if va, vb := viewsOf(a), viewsOf(b); !reflect.DeepEqual(va, vb) {
					t.Fatalf("seed %d step %d: views differ\n a %+v\n b %+v", seed, step, va, vb)
				}
			}
		}
		if va, vb := viewsOf(a), viewsOf(b); !reflect.DeepEqual(va, vb) {
			t.Fatalf("seed %d: final views differ", seed)
		}
	}
	t.Logf("events played: %v", kinds)
	for _, k := range []string{"ContactArrived", "OfferAccepted", "ContactTransferred", "ConsultRequested", "ConsultUpdated", "ConfigReloaded", "Tick"} {
		if kinds[k] < 3 {
			t.Errorf("the streams played only %d %s events", kinds[k], k)
		}
	}
}

// The engine's structures are saved field by field: a field added to one
// of them must be added to the state (state.go) and to this list.
func TestStateCoversEveryField(t *testing.T) {
	for _, c := range []struct {
		v      any
		fields string
	}{
		{Engine{}, "cfg epoch now queues queueList bySkill noSkill hotlines agents contacts timers tseq compactAt oseq preferred prefFIFO dirty statsAt statsSet toRoute toFeed interps closed closedIdx closedBase out rbuf ibuf scratch cands"},
		{queue{}, "def strict sKey loose buckets guests guarded ready byState members chatCap stats waiting cbs byArr ahtMin ahtVal dirty annDue annSet lastAnn orphan"},
		{contact{}, "id ch number language citizen attrs q prio reqs arrived state since item arrItem bucket guests agent last missed missedUntil xfer offerSeq escIdx reason pinned pinWhy parked talkAt annPos annEWT routeQ callback consult"},
		{agent{}, "Agent id def mem pinned contacts lastOffer idleKey wrapSeq feedQ idxDirty known"},
		{consult{}, "by target queue number note talking conf seq deadline lang waiting until wait tried"},
		{timer{}, "at ns seq kind n cid a q"},
		{bucket{}, "q ch key reqs strict list"},
		{guest{}, "q guarded item"},
		{membership{}, "q score sOK pos"},
	} {
		rt := reflect.TypeOf(c.v)
		var got []string
		for i := range rt.NumField() {
			got = append(got, rt.Field(i).Name)
		}
		if want := strings.Fields(c.fields); !slices.Equal(got, want) {
			t.Errorf("%s has fields %v; the state saves %v: save the new ones in state.go", rt.Name(), got, want)
		}
	}
}

func TestRestoreStateRejectsBadInput(t *testing.T) {
	e, err := New(newStream(1).cfgs[0])
	if err != nil {
		t.Fatal(err)
	}
	good, err := e.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{nil, []byte("{}"), []byte(`{"Version":1,"Queues":[{"ID":"nope","Live":true}]}`), good[:len(good)/2],
		bytes.Replace(good, []byte(`"Version":1`), []byte(`"Version":9`), 1)} {
		if _, err := RestoreState(in); err == nil {
			t.Errorf("RestoreState(%.40q) accepted", in)
		} else if !errors.Is(err, ErrCodec) && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("RestoreState(%.40q): %v", in, err)
		}
	}
}

// BenchmarkState measures saving and restoring an engine after a random
// stream, with 10 agents and 10,000 more contacts waiting.
func BenchmarkState(b *testing.B) {
	s := newStream(3)
	e, err := New(s.cfgs[0])
	if err != nil {
		b.Fatal(err)
	}
	for range 2000 {
		ev, at := s.next()
		cmds, _ := e.Apply(ev, at)
		s.observe(cmds)
	}
	cfg := s.cfgs[0]
	cfg.Queues = slices.Clone(cfg.Queues)
	cfg.Queues[1].MaxWaiting = 0
	if _, err := e.Apply(ConfigReloaded{Config: cfg}, s.now); err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		ev := ContactArrived{Contact: ContactID(1_000_000 + i), Channel: Chat, Queue: "q1", Citizen: fmt.Sprintf("010-%d", i)}
		if _, err := e.Apply(ev, s.now); err != nil {
			b.Fatal(err)
		}
	}
	var n int
	for b.Loop() {
		st, err := e.MarshalState()
		if err != nil {
			b.Fatal(err)
		}
		n = len(st)
		if _, err := RestoreState(st); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "bytes")
	b.ReportMetric(float64(len(e.contacts)), "contacts")
}

// BenchmarkSaveState measures the part of a snapshot that holds routing
// up: copying the state of an engine with 10,000 waiting contacts.
func BenchmarkSaveState(b *testing.B) {
	s := newStream(3)
	e, err := New(s.cfgs[0])
	if err != nil {
		b.Fatal(err)
	}
	cfg := s.cfgs[0]
	cfg.Queues = slices.Clone(cfg.Queues)
	cfg.Queues[1].MaxWaiting = 0
	if _, err := e.Apply(ConfigReloaded{Config: cfg}, s.now); err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		ev := ContactArrived{Contact: ContactID(1_000_000 + i), Channel: Chat, Queue: "q1", Citizen: fmt.Sprintf("010-%d", i)}
		if _, err := e.Apply(ev, s.now); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := e.SaveState(); err != nil {
			b.Fatal(err)
		}
	}
}

package router

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEnumStrings(t *testing.T) {
	var got []string
	for s := Offline; s <= WrapUp; s++ {
		got = append(got, s.String())
	}
	for s := Waiting; s <= CallbackBooked; s++ {
		got = append(got, s.String())
	}
	for r := EndUnknown; r <= EndNodeLost; r++ {
		got = append(got, r.String())
	}
	for s := LongestIdle; s <= RoundRobin; s++ {
		got = append(got, s.String())
	}
	got = append(got, Voice.String(), Chat.String(), FullRefuse.String(), FullOverflow.String(), FullCallback.String(),
		ClosedRefuse.String(), ClosedCallback.String(), ClosedOverflow.String())
	seen := map[string]bool{}
	for _, s := range got {
		if strings.Contains(s, "(") {
			t.Errorf("enum without a name: %s", s)
		}
		seen[s] = true
	}
	if AgentState(99).String() != "state(99)" || Channel(0).String() != "channel(0)" {
		t.Error("unknown values not marked")
	}
}

func TestNewValidates(t *testing.T) {
	q := QueueDef{ID: "q", Skills: []SkillReq{{Skill: "s", Min: 1}}}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"duplicate queue", Config{Queues: []QueueDef{q, q}}},
		{"bad skill level", Config{Queues: []QueueDef{{ID: "q", Skills: []SkillReq{{Skill: "s", Min: 6}}}}}},
		{"unknown full target", Config{Queues: []QueueDef{{ID: "q", OnFull: FullOverflow, FullTarget: "x"}}}},
		{"unknown escalation queue", Config{Queues: []QueueDef{{ID: "q", Escalation: []EscalationStep{{AddQueue: "x"}}}}}},
		{"overflow to itself", Config{Queues: []QueueDef{{ID: "q", Overflow: []OverflowTarget{{Queue: "q"}}}}}},
		{"hotline unknown queue", Config{Queues: []QueueDef{q}, Hotlines: []HotlineDef{{Number: "1", DefaultQueue: "x"}}}},
		{"duplicate agent", Config{Agents: []AgentDef{{ID: "a"}, {ID: "a"}}}},
		{"agent skill level", Config{Agents: []AgentDef{{ID: "a", Skills: map[string]int{"s": 0}}}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err %v, want ErrInvalidConfig", tt.name, err)
		}
	}
}

func find[T Command](cmds []Command) (T, bool) {
	for _, c := range cmds {
		if x, ok := c.(T); ok {
			return x, true
		}
	}
	var zero T
	return zero, false
}

func TestNextDeadlineAndEvents(t *testing.T) {
	e, err := New(Config{
		MissedOfferNotReady: true,
		Queues:              []QueueDef{{ID: "q", Skills: []SkillReq{{Skill: "s", Min: 1}}, OfferVoice: 10 * time.Second}},
		Agents:              []AgentDef{{ID: "a1", Skills: map[string]int{"s": 2}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := defaultStart
	if _, ok := e.NextDeadline(); ok {
		t.Fatal("deadline on an idle engine")
	}
	if _, err := e.Apply(AgentLoggedIn{Agent: "a1", Ready: true}, t0); err != nil {
		t.Fatal(err)
	}
	cmds, err := e.Apply(ContactArrived{Contact: 1, Channel: Voice, Queue: "q"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := find[Offer](cmds)
	if !ok || o.Deadline != t0.Add(10*time.Second) || !strings.Contains(o.Reason, "a1: s 2") {
		t.Fatalf("offer %+v", o)
	}
	// Stats are due first (now), then the offer timeout.
	e.Apply(Tick{}, t0)
	if dl, ok := e.NextDeadline(); !ok || !dl.Equal(o.Deadline) {
		t.Fatalf("deadline %v %v, want %v", dl, ok, o.Deadline)
	}
	if _, err := e.Apply(ContactArrived{Contact: 1, Channel: Voice, Queue: "q"}, t0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate arrival: %v", err)
	}
	if _, err := e.Apply(OfferAccepted{Contact: 1, Agent: "zz"}, t0); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("accept by other agent: %v", err)
	}
	if _, err := e.Apply(ContactAbandoned{Contact: 7}, t0); !errors.Is(err, ErrUnknownContact) {
		t.Fatalf("unknown contact: %v", err)
	}
	if _, err := e.Apply(AgentStateRequested{Agent: "a1", State: Busy}, t0); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("request busy: %v", err)
	}
	cmds, _ = e.Apply(Tick{}, t0.Add(10*time.Second))
	if w, ok := find[OfferWithdrawn](cmds); !ok || w.Contact != 1 {
		t.Fatalf("timeout: %v", cmds)
	}
	if v, ok := e.Contact(1); !ok || v.State != Waiting || v.Position != 1 {
		t.Fatalf("after timeout %+v", v)
	}
	if v, _ := e.Agent("a1"); v.State != NotReady || v.Reason != "missed offer" {
		t.Fatalf("agent after missed offer %+v", v)
	}
}

func TestConfigReloadAndUpsert(t *testing.T) {
	cfg := Config{
		Queues: []QueueDef{{ID: "q", Skills: []SkillReq{{Skill: "s", Min: 1}}}, {ID: "old", Skills: []SkillReq{{Skill: "s", Min: 1}}}},
		Agents: []AgentDef{{ID: "a1", Skills: map[string]int{"s": 2}}},
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := defaultStart
	e.Apply(ContactArrived{Contact: 1, Channel: Voice, Queue: "q"}, t0)
	e.Apply(ContactArrived{Contact: 2, Channel: Chat, Queue: "old"}, t0.Add(time.Second))
	// Reload: "old" disappears, a new agent a2 appears.
	cfg2 := Config{
		Queues: []QueueDef{{ID: "q", Skills: []SkillReq{{Skill: "s", Min: 1}}}},
		Agents: []AgentDef{{ID: "a1", Skills: map[string]int{"s": 2}}, {ID: "a2", Skills: map[string]int{"s": 1}}},
	}
	cmds, err := e.Apply(ConfigReloaded{Config: cfg2}, t0.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := find[ContactClosed](cmds); !ok || c.Contact != 2 || c.Reason != EndNoQueue {
		t.Fatalf("contact of removed queue: %v", cmds)
	}
	if v, ok := e.Contact(1); !ok || v.State != Waiting || !v.Arrived.Equal(t0) {
		t.Fatalf("waiting contact after reload: %+v", v)
	}
	cmds, err = e.Apply(AgentLoggedIn{Agent: "a2", Ready: true}, t0.Add(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := find[Offer](cmds); !ok || o.Agent != "a2" || o.Contact != 1 {
		t.Fatalf("new agent not offered: %v", cmds)
	}
	// Upsert a3 with a skill; it serves q after login.
	if _, err := e.Apply(AgentUpserted{Agent: AgentDef{ID: "a3", Skills: map[string]int{"s": 5}}}, t0.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	e.Apply(AgentLoggedIn{Agent: "a3", Ready: true}, t0.Add(5*time.Second))
	cmds, _ = e.Apply(ContactArrived{Contact: 3, Channel: Voice, Queue: "q"}, t0.Add(6*time.Second))
	if o, ok := find[Offer](cmds); !ok || o.Agent != "a3" {
		t.Fatalf("upserted agent not offered: %v", cmds)
	}
	// Upsert removing the skill: a3 leaves q's index.
	e.Apply(ContactEnded{Contact: 3}, t0.Add(7*time.Second))
	e.Apply(AgentUpserted{Agent: AgentDef{ID: "a3", Skills: map[string]int{"x": 5}}}, t0.Add(8*time.Second))
	if v, _ := e.Agent("a3"); len(v.Queues) != 0 {
		t.Fatalf("a3 still serves %v", v.Queues)
	}
	if _, err := e.Apply(ConfigReloaded{Config: Config{Queues: []QueueDef{{ID: ""}}}}, t0); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad reload: %v", err)
	}
	s := e.Snapshot()
	if len(s.Queues) != 1 || len(s.Agents) != 3 {
		t.Fatalf("snapshot %d queues %d agents", len(s.Queues), len(s.Agents))
	}
}

func TestMeaningfulAnnounce(t *testing.T) {
	tests := []struct {
		oldPos, pos    int
		oldEWT, newEWT time.Duration
		want           bool
	}{
		{5, 4, time.Minute, time.Minute, true},                // near the front
		{300, 299, 10 * time.Minute, 10 * time.Minute, false}, // one place of 300
		{300, 270, 10 * time.Minute, 10 * time.Minute, true},  // a tenth
		{300, 299, 10 * time.Minute, 9 * time.Minute, true},   // estimate moved
		{3, 3, time.Minute, time.Minute + 10*time.Second, false},
	}
	for _, tt := range tests {
		if got := meaningful(tt.oldPos, tt.pos, tt.oldEWT, tt.newEWT); got != tt.want {
			t.Errorf("meaningful%+v = %v", tt, got)
		}
	}
}

// servedAt runs one agent against a stream of priority-2 contacts (one every
// 10 s, 12 s of work each, so the line grows) and returns when the
// priority-0 contact that came first was offered, or false within 30 min.
func servedAt(t *testing.T, aging int) (time.Duration, bool) {
	e, err := New(Config{
		Queues: []QueueDef{{ID: "q", Skills: []SkillReq{{Skill: "s", Min: 1}}, AgingPerMinute: aging}},
		Agents: []AgentDef{{ID: "a", Skills: map[string]int{"s": 1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := defaultStart
	e.Apply(ContactArrived{Contact: 1, Channel: Voice, Queue: "q"}, t0)
	next, nextAt := ContactID(2), t0.Add(time.Second)
	arrive := func(until time.Time) {
		for !nextAt.After(until) {
			e.Apply(ContactArrived{Contact: next, Channel: Voice, Queue: "q", Priority: 2}, nextAt)
			next, nextAt = next+1, nextAt.Add(10*time.Second)
		}
	}
	now := t0.Add(2 * time.Second)
	arrive(now)
	e.Apply(AgentLoggedIn{Agent: "a", Ready: true}, now)
	for now.Before(t0.Add(30 * time.Minute)) {
		v, _ := e.Agent("a")
		if len(v.Offered) == 0 {
			t.Fatalf("agent idle with contacts waiting at %v", now.Sub(t0))
		}
		id := v.Offered[0]
		if id == 1 {
			return now.Sub(t0), true
		}
		e.Apply(OfferAccepted{Contact: id, Agent: "a"}, now)
		now = now.Add(12 * time.Second)
		arrive(now)
		e.Apply(ContactEnded{Contact: id}, now)
	}
	return 0, false
}

func TestAgingPreventsStarvation(t *testing.T) {
	if _, ok := servedAt(t, 0); ok {
		t.Fatal("without aging the low-priority contact was served (test is not discriminating)")
	}
	at, ok := servedAt(t, 1)
	if !ok {
		t.Fatal("with aging the low-priority contact starved")
	}
	// It goes before every priority-2 contact that arrived more than 2 min
	// after it: at most the 12 earlier ones (12 s each) are served first.
	if at > 12*12*time.Second+10*time.Second {
		t.Fatalf("served after %v", at)
	}
	t.Logf("served after %v", at)
}

// Timers of closed contacts (24 h waiting bounds, ...) do not pile up.
func TestTimerCompaction(t *testing.T) {
	e, err := New(Config{Queues: []QueueDef{{ID: "q"}}})
	if err != nil {
		t.Fatal(err)
	}
	now := defaultStart
	for i := range 20000 {
		id := ContactID(i + 1)
		e.Apply(ContactArrived{Contact: id, Channel: Voice, Queue: "q"}, now)
		e.Apply(ContactAbandoned{Contact: id}, now)
		now = now.Add(time.Second)
	}
	if n := len(e.timers); n > 2*4096+16 {
		t.Fatalf("%d timers left for 0 live contacts", n)
	}
}

// TestCallbackContact: a booked callback re-enters its queue at its
// original arrival even on a closed line and a full queue, is counted as
// a pending callback, hears no announcement, is offered like any contact
// and ends with the reason the voice side gives.
func TestCallbackContact(t *testing.T) {
	closed := Schedule{Location: time.UTC} // never open
	e, err := New(Config{
		Queues:   []QueueDef{{ID: "q", Skills: []SkillReq{{Skill: "s", Min: 1}}, OfferVoice: 10 * time.Second, MaxWaiting: 1}},
		Hotlines: []HotlineDef{{Number: "110", DefaultQueue: "q", Schedule: closed}},
		Agents:   []AgentDef{{ID: "a1", Skills: map[string]int{"s": 2}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := defaultStart
	booked := t0.Add(-10 * time.Minute)
	cmds, err := e.Apply(ContactArrived{Contact: 1, Channel: Voice, Number: "110", Queue: "q", Citizen: "01012345678",
		Arrived: booked, Callback: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := find[ContactClosed](cmds); ok {
		t.Fatalf("callback refused on a closed line: %#v", cmds)
	}
	if _, ok := find[Announce](cmds); ok {
		t.Fatalf("callback announced: %#v", cmds)
	}
	// A live caller on the closed line is still refused.
	cmds, _ = e.Apply(ContactArrived{Contact: 2, Channel: Voice, Number: "110"}, t0)
	if cl, ok := find[ContactClosed](cmds); !ok || cl.Reason != EndRefusedClosed {
		t.Fatalf("live caller on a closed line: %#v", cmds)
	}
	s, _ := e.QueueStats("q")
	if s.Callbacks != 1 || s.Waiting != 1 || s.LongestWait != 10*time.Minute {
		t.Fatalf("stats %+v", s)
	}
	cmds, _ = e.Apply(AgentLoggedIn{Agent: "a1", Ready: true}, t0.Add(time.Second))
	o, ok := find[Offer](cmds)
	if !ok || o.Contact != 1 {
		t.Fatalf("no offer: %#v", cmds)
	}
	if s, _ := e.QueueStats("q"); s.Callbacks != 0 {
		t.Fatalf("offered callback still pending: %+v", s)
	}
	if _, err := e.Apply(OfferAccepted{Contact: 1, Agent: "a1"}, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	cmds, _ = e.Apply(ContactEnded{Contact: 1, Reason: EndCallbackRetry}, t0.Add(30*time.Second))
	if cl, ok := find[ContactClosed](cmds); !ok || cl.Reason != EndCallbackRetry {
		t.Fatalf("close: %#v", cmds)
	}
	// The next attempt re-arrives with the same id and keeps its place.
	if _, err := e.Apply(ContactArrived{Contact: 1, Channel: Voice, Number: "110", Queue: "q", Arrived: booked, Callback: true}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	cmds, _ = e.Apply(ContactEnded{Contact: 1, Reason: EndCallbackMerged}, t0.Add(2*time.Minute))
	if cl, ok := find[ContactClosed](cmds); !ok || cl.Reason != EndCallbackMerged {
		t.Fatalf("merge: %#v", cmds)
	}
	if s, _ := e.QueueStats("q"); s.Callbacks != 0 || s.Waiting != 0 {
		t.Fatalf("after merge: %+v", s)
	}
}

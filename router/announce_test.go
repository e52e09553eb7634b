package router

import (
	"testing"
	"time"
)

// An announcement is honest: with no agent of the queue working it says
// so (NoAgent) instead of an estimate, and it carries the queue's announce
// settings; once an agent works the queue, the estimate comes back.
func TestAnnounceNoAgentAndSettings(t *testing.T) {
	q := QueueDef{ID: "q", Skills: []SkillReq{{Skill: "ko", Min: 1}}, MaxWaiting: 10, MaxWait: time.Hour,
		AnnounceEvery: time.Second, HideWait: true}
	e, err := New(Config{Queues: []QueueDef{q},
		Hotlines: []HotlineDef{{Number: "110", DefaultQueue: "q", Schedule: Schedule{Always: true}}},
		Agents:   []AgentDef{{ID: "a1", Skills: map[string]int{"ko": 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	ann := func(cmds []Command) (Announce, bool) {
		for _, c := range cmds {
			if a, ok := c.(Announce); ok {
				return a, true
			}
		}
		return Announce{}, false
	}
	cmds, err := e.Apply(ContactArrived{Contact: 1, Channel: Voice, Number: "110"}, now)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := ann(cmds)
	if !ok || !a.NoAgent || !a.HideWait || a.HidePosition || a.Position != 1 {
		t.Fatalf("no agent signed in: announce %+v (found %v), want NoAgent, HideWait", a, ok)
	}
	// a1 signs in ready: working the queue, so an estimate is real.
	if _, err := e.Apply(AgentLoggedIn{Agent: "a1", Ready: true}, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	cmds, err = e.Apply(ContactArrived{Contact: 2, Channel: Voice, Number: "110"}, now.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := ann(cmds); ok && a.NoAgent {
		t.Fatalf("an agent signed in, still NoAgent: %+v", a)
	}
}

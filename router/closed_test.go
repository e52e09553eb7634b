package router

import (
	"errors"
	"testing"
	"time"
)

// A closed chat's id is remembered for ClosedChatMemory: entering the chat
// again is refused (a chat closes exactly once), a voice contact may still
// arrive under a chat's id (a callback booked from a chat is placed as a
// call), and the memory survives a snapshot and is forgotten in time.
func TestClosedChatRemembered(t *testing.T) {
	e, err := New(Config{
		Queues:   []QueueDef{{ID: "q", Skills: []SkillReq{{Skill: "s", Min: 1}}, OfferChat: 10 * time.Second}},
		Hotlines: []HotlineDef{{Number: "110", DefaultQueue: "q", Schedule: Schedule{Always: true}}},
		Agents:   []AgentDef{{ID: "a1", Skills: map[string]int{"s": 2}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := defaultStart
	chat := func(id ContactID) ContactArrived {
		return ContactArrived{Contact: id, Channel: Chat, Number: "110", Queue: "q"}
	}
	for id := ContactID(1); id <= 2; id++ {
		cmds, err := e.Apply(chat(id), t0)
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := find[ContactClosed](cmds); ok {
			t.Fatalf("chat %d closed at arrival: %+v", id, c)
		}
		if _, err := e.Apply(ContactAbandoned{Contact: id}, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	r, at, ok := e.ClosedChat(1)
	if !ok || r != EndAbandoned || !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("ClosedChat(1) = %v %v %v, want abandoned at +1m", r, at, ok)
	}
	if _, _, ok := e.ClosedChat(3); ok {
		t.Fatal("a contact never seen is reported closed")
	}
	e = roundTrip(t, e)
	if _, err := e.Apply(chat(1), t0.Add(2*time.Minute)); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed chat entered again: %v, want ErrClosed", err)
	}
	// A voice contact (a callback booked from chat 2) under the same id.
	if _, err := e.Apply(ContactArrived{Contact: 2, Channel: Voice, Number: "110", Queue: "q", Callback: true}, t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("voice contact under a closed chat's id: %v", err)
	}
	// Past the memory, the id is forgotten, and pruned when the next chat
	// closes.
	late := t0.Add(time.Minute + ClosedChatMemory)
	if _, _, ok := e.ClosedChat(1); !ok {
		t.Fatal("forgotten too early")
	}
	if _, err := e.Apply(chat(5), late); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := e.ClosedChat(1); ok {
		t.Fatal("remembered past ClosedChatMemory")
	}
	if _, err := e.Apply(ContactAbandoned{Contact: 5}, late); err != nil {
		t.Fatal(err)
	}
	if len(e.closed) != 1 || len(e.closedIdx) != 1 || e.closed[0].id != 5 {
		t.Fatalf("memory holds %v %v, want chat 5 alone", e.closed, e.closedIdx)
	}
	if _, err := e.Apply(chat(1), late); err != nil {
		t.Fatalf("chat id entered after the memory: %v", err)
	}
	roundTrip(t, e)
}

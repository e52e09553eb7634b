package console

import (
	"testing"
	"time"

	"onecall/router"
)

// In wrap-up the console gets the time wrap-up ends by itself, so it can
// count down; leaving wrap-up clears it.
func TestMirrorWrapUpCountdown(t *testing.T) {
	m := newMirror(false)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	until := now.Add(30 * time.Second)
	m.apply(router.AgentStateChanged{Agent: "a1", State: router.WrapUp, Next: router.WrapUp, At: now, WrapUntil: until}, now)
	if got := m.agent("a1").WrapUntil; got != until.UnixMilli() {
		t.Fatalf("WrapUntil = %d, want %d", got, until.UnixMilli())
	}
	m.apply(router.AgentStateChanged{Agent: "a1", State: router.Ready, Next: router.Ready, At: until}, until)
	if got := m.agent("a1").WrapUntil; got != 0 {
		t.Fatalf("WrapUntil after wrap-up = %d, want 0", got)
	}
}

// The waiting drill-down takes each contact's place from the engine: a
// contact the console still shows waiting but the engine no longer lists
// (offered, pinned or ended by commands still on their way) has no place,
// not its last announced one; one the console has not seen yet is added
// with its place.
func TestWaitingPlacesFromEngine(t *testing.T) {
	m := newMirror(false)
	now := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	for i, id := range []router.ContactID{1, 2, 3} {
		at := now.Add(time.Duration(i) * time.Second)
		m.apply(router.ContactStateChanged{Contact: id, State: router.Waiting, Channel: router.Voice, Queue: "gen-110",
			Number: "110", Arrived: at, At: at}, at)
		m.apply(router.Announce{Contact: id, Channel: router.Voice, Position: i + 1}, at)
	}
	list := m.contactList(func(v *ContactView) bool { return v.Queue == "gen-110" })
	// The engine: contact 1 was offered meanwhile; 2 and 3 wait, and 4
	// arrived, its commands not here yet.
	ws := []router.ContactView{
		{ID: 2, State: router.Waiting, Channel: router.Voice, Queue: "gen-110", Position: 1, Arrived: now.Add(time.Second)},
		{ID: 3, State: router.Waiting, Channel: router.Voice, Queue: "gen-110", Position: 2, Arrived: now.Add(2 * time.Second)},
		{ID: 4, State: router.Waiting, Channel: router.Voice, Queue: "gen-110", Position: 3, Arrived: now.Add(3 * time.Second)},
	}
	got := map[uint64]int{}
	for _, v := range m.withPlaces(list, ws) {
		got[v.ID] = v.Position
	}
	want := map[uint64]int{1: 0, 2: 1, 3: 2, 4: 3}
	for id, p := range want {
		if g, ok := got[id]; !ok || g != p {
			t.Errorf("contact %d: position %d (listed %v), want %d", id, g, ok, p)
		}
	}
}

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

package app

import (
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// A phone that REGISTERs again (a restart, a second device) must not turn
// an agent on break into Ready: in demo mode only an agent out of routing
// is logged in by a registration.
func TestFullStackRegisterKeepsBreak(t *testing.T) {
	a := fsStart(t, t.TempDir())
	testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: a.sipUDP(), Password: "demo", Quit: 60 * time.Second})
	waitReady(t, a, "agent01")
	if _, err := a.Hub().Do(t.Context(), router.AgentStateRequested{Agent: "agent01", State: router.NotReady, Reason: "break"}); err != nil {
		t.Fatal(err)
	}
	before := a.registrar.Stats().Registered
	testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: a.sipUDP(), Password: "demo", Quit: 60 * time.Second})
	testpeers.WaitFor(t, 15*time.Second, "the second REGISTER", func() bool { return a.registrar.Stats().Registered > before })
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		v, _ := a.agent(t, "agent01")
		if v.State != router.NotReady || v.Reason != "break" {
			t.Fatalf("after a REGISTER agent01 on break is %v (%q)", v.State, v.Reason)
		}
		<-time.After(50 * time.Millisecond) // polling with a deadline
	}
}

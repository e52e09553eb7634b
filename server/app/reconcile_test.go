package app

import (
	"context"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// TestReconcilerFreesAnAgentAfterALostEvent: a voice contact talking with
// agent01 whose call is gone without its final event (the engine has it,
// the SIP front end has no call for it) is ended by the reconciler within
// a few sweeps (routing.reconcile_every 1s), agent01 is freed, the repair
// is logged and counted; a real call waiting meanwhile is left alone
// (issue 17: a lost final event left an agent busy for up to 4 h).
func TestReconcilerFreesAnAgentAfterALostEvent(t *testing.T) {
	cfg := fsConfig(t, "", "reconcile_every: 5s", "reconcile_every: 1s")
	a := fsStartAt(t, cfg, t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	do := func(ev router.Event) {
		t.Helper()
		if _, err := a.Hub().Do(ctx, ev); err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
	}
	do(router.AgentLoggedIn{Agent: "agent01", Ready: true})
	lost := a.Hub().NewContactID()
	do(router.ContactArrived{Contact: lost, Channel: router.Voice, Number: fsHotline, Citizen: "01077778888", Arrived: time.Now()})
	do(router.OfferAccepted{Contact: lost, Agent: "agent01"})
	if v, _ := a.contact(t, lost); v.State != router.Talking || v.Agent != "agent01" {
		t.Fatalf("setup: contact %d is %s with %q, want talking with agent01", lost, v.State, v.Agent)
	}
	// A real call, waiting in the queue while agent01 is busy.
	citizen := newRawUA(t, "127.0.0.1", a.sipUDP())
	d := citizen.invite(fsHotline, "01012121212")
	start := time.Now()
	testpeers.WaitFor(t, 10*time.Second, "agent01 freed by the reconciler", func() bool {
		v, _ := a.agent(t, "agent01")
		return len(v.Active) == 0 && v.State != router.Busy
	})
	t.Logf("agent01 freed %s after the real call arrived", time.Since(start).Round(100*time.Millisecond))
	if v, ok := a.contact(t, lost); ok && v.State != router.Ended {
		t.Fatalf("the lost contact is still %s", v.State)
	}
	c := fsEndedContact(t, a.Store(), 5*time.Second, uint64(lost))
	if c.EndReason != router.EndStuck.String() {
		t.Fatalf("lost contact ended %q, want %q", c.EndReason, router.EndStuck)
	}
	if n := a.metric(t, `onecall_reconciler_repairs_total{kind="voice_contact"}`); n != 1 {
		t.Fatalf("repairs %v, want 1 (the real call must not be repaired)", n)
	}
	if recs := a.logRecords("reconciler repair: voice contact without a live call ended"); len(recs) != 1 ||
		uint64(fsNum(recs[0], "contact_id")) != uint64(lost) || recs[0]["agent_id"] != "agent01" {
		t.Fatalf("repair log lines %v", recs)
	}
	if code := citizen.bye(d); code != 200 {
		t.Fatalf("the real call was not live any more: BYE %d", code)
	}
}

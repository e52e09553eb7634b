package sip

import (
	"testing"
	"time"

	"onecall/router"
)

// TestCallDTMFChoiceBridgeCitizenBye: SIPp citizen presses 2 with the stock
// RFC 4733 pcap (first packet duration 0), reaches the labor queue, is
// offered to agent01 (a SIPp phone that answers and speaks), audio flows both
// ways through our bridge, the citizen hangs up, the agent leg gets BYE.
func TestCallDTMFChoiceBridgeCitizenBye(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, nil)
	agent := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.m["agent01"] = agent.uri("agent01")
	citizen := startSipp(t, "citizen.xml", citizenParams{From: "01012345678", DTMFAfter: 300, Digit: "2",
		Audio: true, HoldFor: 7000}, env.udp, "1350")

	if err := citizen.wait(t, 40*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	if err := agent.wait(t, 10*time.Second); err != nil {
		t.Fatalf("agent: %v", err)
	}
	ev := env.hub.waitEvent(t, 5*time.Second, "ContactArrived", func(e router.Event) bool {
		_, ok := e.(router.ContactArrived)
		return ok
	}).(router.ContactArrived)
	if ev.Queue != "labor" || ev.Channel != router.Voice || ev.Number != "1350" || ev.Citizen != "01012345678" {
		t.Fatalf("arrived = %+v, want queue labor from 01012345678", ev)
	}
	if len(ev.Skills) != 1 || ev.Skills[0].Skill != "labor" {
		t.Fatalf("skills = %+v", ev.Skills)
	}
	env.hub.waitEvent(t, 5*time.Second, "OfferAccepted", func(e router.Event) bool {
		a, ok := e.(router.OfferAccepted)
		return ok && a.Agent == "agent01"
	})
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", func(e router.Event) bool {
		a, ok := e.(router.ContactEnded)
		return ok && a.Reason == router.EndCompleted
	})
	rec := env.store.waitCall(t, 5*time.Second)
	t.Logf("record: %+v", rec)
	if rec.Agent != "agent01" || rec.Answered.IsZero() || rec.Cause != causeCitizenBye || rec.Codec != "pcma" || rec.Legs != 2 {
		t.Fatalf("record = %+v", rec)
	}
	// Two-way audio: the citizen's and the agent's speech crossed the bridge.
	if rec.RxPackets < 150 || rec.AgentRx < 150 || rec.AgentTx < 100 || rec.TxPackets < 100 {
		t.Fatalf("RTP counters too low: %+v", rec)
	}
	for _, e := range env.hub.events() {
		if _, ok := e.(router.ContactAbandoned); ok {
			t.Fatalf("unexpected abandon: %#v", env.hub.events())
		}
	}
}

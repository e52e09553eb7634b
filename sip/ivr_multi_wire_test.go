package sip

import (
	"testing"
	"time"

	"onecall/router"
	"onecall/store"
)

// TestWireTwoDigitChoice: a SIPp citizen presses 2 then 3 (two stock
// RFC 4733 pcaps, 1.5 s apart) on a menu where "2" is a prefix of "23";
// the call must reach the two-digit choice's queue, not "2"'s. A SIPp
// agent answers and speaks; the CDR carries each leg's RTP counters.
func TestWireTwoDigitChoice(t *testing.T) {
	t.Parallel()
	menu := Menu{Choices: map[string]MenuChoice{
		"1":  {Queue: "general", Language: "ko", Label: "ko"},
		"2":  {Queue: "labor", Language: "ko", Label: "labor"},
		"23": {Queue: "imm-intl", Language: "th", Label: "th", Skills: []router.SkillReq{{Skill: "th", Min: 3}}},
	}, Timeout: 10 * time.Second, InterDigit: 5 * time.Second, Retries: 1}
	env := newTestEnv(t, []router.AgentID{"agent01"}, func(o *Options, _ *fakeHub) {
		o.Numbers = staticNumbers{"1345": menu}
	})
	agent := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.set("agent01", agent.uri("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01012345678", DTMFAfter: 300, Digit: "2",
		Digit2: "3", Digit2After: 10, HoldFor: 6000}, env.udp, "1345")
	if err := c.wait(t, 40*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	if err := agent.wait(t, 10*time.Second); err != nil {
		t.Fatalf("agent: %v", err)
	}
	ev := env.hub.waitEvent(t, 5*time.Second, "ContactArrived", isEv[router.ContactArrived](nil)).(router.ContactArrived)
	if ev.Queue != "imm-intl" || ev.Number != "1345" || ev.Attrs["ivr"] != "th" {
		t.Fatalf("arrived = %+v, want queue imm-intl by choice 23", ev)
	}
	if len(ev.Skills) != 1 || ev.Skills[0].Skill != "th" {
		t.Fatalf("skills = %+v", ev.Skills)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", isEv[router.ContactEnded](nil))
	rec := env.store.wait(t, 5*time.Second)
	// The citizen sends only its two digits (SIPp's second pcap play would
	// cut a speech pcap short); the agent speaks.
	if rec.Legs != 2 || rec.RxPackets == 0 || rec.AgentRx < minAudio || rec.TxPackets < minAudio {
		t.Fatalf("record = %+v", rec)
	}
	cdr := env.onlyCDR(t)
	if len(cdr.Legs) != 2 || cdr.Legs[0].Role != "citizen" || cdr.Legs[1].Role != "agent" {
		t.Fatalf("CDR legs = %+v", cdr.Legs)
	}
	want := []store.RTPStats{
		{PacketsReceived: rec.RxPackets, PacketsSent: rec.TxPackets},
		{PacketsReceived: rec.AgentRx, PacketsSent: rec.AgentTx},
	}
	for i, w := range want {
		if cdr.Legs[i].RTP != w {
			t.Errorf("CDR leg %d (%s) RTP = %+v, want %+v", i, cdr.Legs[i].Role, cdr.Legs[i].RTP, w)
		}
	}
	if cdr.RTP.PacketsReceived != rec.RxPackets {
		t.Errorf("CDR RTP = %+v", cdr.RTP)
	}
}

package sip

import (
	"testing"
	"time"

	"onecall/router"
)

// TestWireTwoDigitChoice: a SIPp citizen presses 2 then 3 (two stock
// RFC 4733 pcaps, 1.5 s apart) on a menu where "2" is a prefix of "23";
// the call must reach the two-digit choice's queue, not "2"'s.
func TestWireTwoDigitChoice(t *testing.T) {
	t.Parallel()
	menu := Menu{Choices: map[string]MenuChoice{
		"1":  {Queue: "general", Language: "ko", Label: "ko"},
		"2":  {Queue: "labor", Language: "ko", Label: "labor"},
		"23": {Queue: "imm-intl", Language: "th", Label: "th", Skills: []router.SkillReq{{Skill: "th", Min: 3}}},
	}, Timeout: 10 * time.Second, InterDigit: 5 * time.Second, Retries: 1}
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.Numbers = staticNumbers{"1345": menu}
	})
	c := startSipp(t, "citizen.xml", citizenParams{From: "01012345678", DTMFAfter: 300, Digit: "2",
		Digit2: "3", Digit2After: 10, HoldFor: 3000}, env.udp, "1345")
	if err := c.wait(t, 40*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	ev := env.hub.waitEvent(t, 5*time.Second, "ContactArrived", isEv[router.ContactArrived](nil)).(router.ContactArrived)
	if ev.Queue != "imm-intl" || ev.Number != "1345" || ev.Attrs["ivr"] != "th" {
		t.Fatalf("arrived = %+v, want queue imm-intl by choice 23", ev)
	}
	if len(ev.Skills) != 1 || ev.Skills[0].Skill != "th" {
		t.Fatalf("skills = %+v", ev.Skills)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactAbandoned", isEv[router.ContactAbandoned](nil))
}

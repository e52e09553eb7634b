package app

import (
	"testing"
	"time"

	"onecall/configs"
)

// The SIP front end gets each line's IVR timers from the config: sip.menu,
// overridden by the line's ivr block; a configured "retries: 0" reaches sip
// as "no replay".
func TestNumbersResolveMenuTimers(t *testing.T) {
	cfg, err := configs.Load("../../configs/onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, _, menu, ok := numbers{cfg}.Resolve("1345", "01012345678")
	if !ok || menu.Skip || menu.Timeout != 4*time.Second || menu.InterDigit != 2*time.Second || menu.Retries != 1 {
		t.Fatalf("1345 menu: ok %v skip %v timers %v %v %d", ok, menu.Skip, menu.Timeout, menu.InterDigit, menu.Retries)
	}
	n, _ := cfg.ResolveNumber("1345")
	n.IVR = &configs.MenuTimers{Timeout: configs.Duration(7 * time.Second), Retries: new(0)}
	_, _, menu, _ = numbers{cfg}.Resolve("1345", "01012345678")
	if menu.Timeout != 7*time.Second || menu.InterDigit != 2*time.Second || menu.Retries != -1 {
		t.Fatalf("overridden timers %v %v %d", menu.Timeout, menu.InterDigit, menu.Retries)
	}
}

// The bare regional short code reaches the caller's own regional center by
// area code (national or +82 form); a mobile caller gets the national 120.
func TestNumbersResolveByCallerArea(t *testing.T) {
	cfg, err := configs.Load("../../configs/onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ caller, want string }{
		{"0517771234", "051-120"},
		{"+82517771234", "051-120"},
		{"0212345678", "02-120"},
		{"01012345678", "120"},
		{"", "120"},
	} {
		number, _, _, ok := numbers{cfg}.Resolve("120", c.caller)
		if !ok || number != c.want {
			t.Errorf("120 from %q -> %q (ok %v), want %q", c.caller, number, ok, c.want)
		}
	}
	// A regional number dialled directly stays itself.
	if number, _, _, _ := (numbers{cfg}).Resolve("051-120", "0212345678"); number != "051-120" {
		t.Errorf("051-120 from Seoul -> %q", number)
	}
}

// The chat page's 1345 carries the line's 20 languages and, on its Thai
// choice, the language the IVR's digit 5 requires; with the config's
// SkillsFor that is th at the queue's language level.
func TestChatHotlinesCarryLanguages(t *testing.T) {
	cfg, err := configs.Load("../../configs/onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range chatHotlines(cfg) {
		if h.Number != "1345" {
			continue
		}
		if len(h.Languages) != 20 {
			t.Fatalf("1345 languages %v", h.Languages)
		}
		for _, tp := range h.Topics {
			if tp.ID != "5" {
				continue
			}
			if tp.Language != "th" || tp.Queue != "imm-intl" {
				t.Fatalf("1345 Thai topic %+v", tp)
			}
			sk, ok := cfg.SkillsFor(tp.Queue, tp.Language)
			found := false
			for _, r := range sk {
				found = found || (r.Skill == "th" && r.Min > 0)
			}
			if !ok || !found {
				t.Fatalf("Thai chat skills %v", sk)
			}
			return
		}
	}
	t.Fatal("1345 Thai topic not offered on the chat page")
}

package app

import (
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"onecall/configs"
	"onecall/internal/testpeers"
	"onecall/sip"
)

type ivrCitizen struct {
	From       string
	Digit      string
	DigitAfter int // ms after the ACK
	HoldFor    int // ms before the citizen's BYE (when WaitBye is 0)
	WaitBye    int // ms; > 0: wait for the server's BYE instead
}

// callPrompts returns the prompts the "call ended" log line of from's call
// lists (found through its call record), each composed clip split into the
// texts of its files by the manifest; plain phrases are kept by name.
func callPrompts(t *testing.T, a *fsApp, man sip.Manifest, from string) (names []string, texts []sip.PromptText, cause string) {
	t.Helper()
	var rec map[string]any
	testpeers.WaitFor(t, 10*time.Second, "call ended log line for "+from, func() bool {
		recs, err := a.Store().CallRecords(t.Context(), 50)
		if err != nil {
			t.Fatalf("CallRecords: %v", err)
		}
		for _, r := range recs {
			if r.From != from {
				continue
			}
			for _, m := range a.logRecords("call ended") {
				if uint64(fsNum(m, "contact_id")) == r.Contact {
					rec = m
				}
			}
		}
		return rec != nil
	})
	cause, _ = rec["cause"].(string)
	ps, _ := rec["prompts"].([]any)
	for _, p := range ps {
		name := p.(string)
		names = append(names, name)
		if !strings.HasPrefix(name, "lines/") && !strings.Contains(name, "+") && !strings.Contains(name, "-") {
			continue
		}
		for _, k := range strings.Split(name, "+") {
			f := strings.TrimPrefix(k, "lines/")
			pt, ok := man["lines/"+f+".wav"]
			if !ok {
				t.Fatalf("played %q: no committed file lines/%s.wav", name, f)
			}
			texts = append(texts, pt)
		}
	}
	return names, texts, cause
}

// TestWireLineMenus: real SIPp callers on the shipped configuration. 110
// (no menu) plays no menu; 1345 plays the menu its own configuration
// defines (Korean then English, every label of its menu, no "9"), its "2"
// is English (the English hold prompt, queue imm-en) and its "9" is
// invalid; 112 and 119 answer, name the number to dial and hang up.
func TestWireLineMenus(t *testing.T) {
	a := fsStart(t, t.TempDir())
	man, err := sip.LoadManifest()
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		number string
		c      ivrCitizen
	}{
		{"110", ivrCitizen{From: "01000000110", HoldFor: 4000}},
		{"1345", ivrCitizen{From: "01000001345", Digit: "2", DigitAfter: 4000, HoldFor: 5000}},
		{"1345", ivrCitizen{From: "01000009999", Digit: "9", DigitAfter: 4000, HoldFor: 4000}},
		{"112", ivrCitizen{From: "01000000112", WaitBye: 20000}},
		{"119", ivrCitizen{From: "01000000119", WaitBye: 20000}},
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := testpeers.StartSIPp(t, testpeers.SIPpOptions{Scenario: filepath.Join("testdata", "ivr_citizen.xml"), Data: c.c,
				Remote: a.sipUDP(), Service: c.number, Timeout: 45 * time.Second})
			if err := p.Wait(t, 40*time.Second); err != nil {
				t.Errorf("citizen %s -> %s: %v", c.c.From, c.number, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		a.dumpLog(t)
		t.FailNow()
	}
	cfg, err := configs.Load("../../configs/onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}

	// 110: greeting and hold, no menu.
	names110, texts110, _ := callPrompts(t, a, man, "01000000110")
	t.Logf("110 played %v", names110)
	if len(texts110) != 0 || !slices.Contains(names110, "ko_greeting") {
		t.Errorf("110 (no menu) played %v (line texts %+v)", names110, texts110)
	}

	// 1345, "2": its own menu, then English.
	names, texts, _ := callPrompts(t, a, man, "01000001345")
	t.Logf("1345/2 played %v", names)
	n1345, _ := cfg.ResolveNumber("1345")
	for _, m := range n1345.Menu {
		if !slices.ContainsFunc(texts, func(pt sip.PromptText) bool { return pt.Lang == "ko" && strings.HasPrefix(pt.Text, m.LabelKo+",") }) ||
			!slices.ContainsFunc(texts, func(pt sip.PromptText) bool {
				return pt.Lang == "en" && strings.HasPrefix(pt.Text, "For "+m.LabelEn+",")
			}) {
			t.Errorf("1345's menu did not say choice %s (%s / %s): %+v", m.Digit, m.LabelKo, m.LabelEn, texts)
		}
	}
	for _, pt := range texts {
		if strings.HasSuffix(pt.Text, "press 9.") || strings.HasSuffix(pt.Text, ", 9번.") {
			t.Errorf("1345's menu offers 9: %q", pt.Text)
		}
	}
	if slices.Equal(names, names110) {
		t.Errorf("1345 played what 110 played: %v", names)
	}
	// The waiting prompt is en_wait where the line places no callbacks (the
	// shipped config has no trunk), en_hold (with "press 1") where it does.
	english := slices.Contains(names, "en_hold") || slices.Contains(names, "en_wait")
	korean := slices.Contains(names, "ko_hold") || slices.Contains(names, "ko_wait")
	if !english || korean {
		t.Errorf("1345's 2 is English: want en_wait or en_hold after the menu, played %v", names)
	}

	// 1345, "9": invalid.
	names9, _, _ := callPrompts(t, a, man, "01000009999")
	t.Logf("1345/9 played %v", names9)
	if !slices.Contains(names9, "ko_invalid") {
		t.Errorf("1345's 9 is not invalid: played %v", names9)
	}

	// 112, 119: told the number, then our BYE.
	for _, c := range []struct{ from, dial string }{{"01000000112", "1 1 2"}, {"01000000119", "1 1 9"}} {
		_, texts, cause := callPrompts(t, a, man, c.from)
		if cause != "referral" || !slices.ContainsFunc(texts, func(pt sip.PromptText) bool {
			return pt.Lang == "en" && strings.Contains(pt.Text, "dial "+c.dial+".")
		}) || !slices.ContainsFunc(texts, func(pt sip.PromptText) bool { return pt.Lang == "ko" }) {
			t.Errorf("%s: cause %q, said %+v; want referral naming %s in Korean and English", c.from, cause, texts, c.dial)
		}
	}
}

package app

import (
	"slices"
	"strings"
	"testing"

	"onecall/configs"
	"onecall/sip"
)

// TestPromptsMatchConfig: every text the shipped configuration makes the
// voice front end say (menus, closed-line messages with hours, referrals)
// is committed under the hash of that very text, and no committed line
// prompt is left over from an older configuration. Changing a label in
// hotlines.yaml without running `go run ./cmd/onecall prompts` fails here.
func TestPromptsMatchConfig(t *testing.T) {
	cfg, err := configs.Load("../../configs/onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	man, err := sip.LoadManifest()
	if err != nil {
		t.Fatal(err)
	}
	need := map[string]bool{}
	for _, pt := range PromptTexts(cfg) {
		need[pt.File()] = true
		if got, ok := man[pt.File()]; !ok || got != pt {
			t.Errorf("%s %q: not committed (manifest %+v): run go run ./cmd/onecall prompts", pt.Lang, pt.Text, got)
		}
	}
	for f, pt := range man {
		if strings.HasPrefix(f, "lines/") && !need[f] {
			t.Errorf("committed %s %q is said by no line: run go run ./cmd/onecall prompts", f, pt.Text)
		}
	}
}

// TestLineTexts: the texts come from each line's own configuration.
func TestLineTexts(t *testing.T) {
	cfg, err := configs.Load("../../configs/onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n1345, _ := cfg.ResolveNumber("1345")
	say := menuSay(n1345)
	if len(say) != 2*len(n1345.Menu) {
		t.Fatalf("1345 menu: %d texts for %d choices, want Korean and English", len(say), len(n1345.Menu))
	}
	for _, want := range []sip.PromptText{{Lang: "ko", Text: "한국어, 1번."}, {Lang: "en", Text: "For English, press 2."},
		{Lang: "en", Text: "For Japanese, press 8 1."}} {
		if !slices.Contains(say, want) {
			t.Errorf("1345 menu lacks %+v: %+v", want, say)
		}
	}
	for _, pt := range say {
		if strings.HasSuffix(pt.Text, ", 9번.") || strings.HasSuffix(pt.Text, "press 9.") {
			t.Errorf("1345 menu offers 9: %q", pt.Text)
		}
	}
	n132, _ := cfg.ResolveNumber("132")
	if got := menuSay(n132); got != nil {
		t.Errorf("132 has no menu but says %+v", got)
	}
	c := closedSay(n132)
	if c["en"][0].Text != n132.Closed.MessageEn || c["en"][1].Text != "We are open weekdays from 9 AM to 6 PM. We are closed on public holidays." {
		t.Errorf("132 closed (en): %+v", c["en"])
	}
	if c["ko"][1].Text != "상담 시간은 평일 9시부터 18시까지입니다. 공휴일에는 쉽니다." {
		t.Errorf("132 closed (ko): %+v", c["ko"])
	}
	n112, _ := cfg.ResolveNumber("112")
	if r := referralSay(n112); len(r) != 2 || !strings.Contains(r[1].Text, "dial 1 1 2") {
		t.Errorf("112 referral: %+v", r)
	}
	h := configs.Hours{Weekdays: []configs.Span{{From: 9*60 + 30, To: 12 * 60}, {From: 13 * 60, To: 24 * 60}},
		Saturday: []configs.Span{{From: 9 * 60, To: 13 * 60}}, Holidays: []configs.Span{{From: 10 * 60, To: 17 * 60}}}
	if got := hoursText(&h, "en"); got != "We are open weekdays from 9:30 AM to noon, from 1 PM to midnight; Saturdays from 9 AM to 1 PM. On public holidays we are open from 10 AM to 5 PM." {
		t.Errorf("hours (en): %q", got)
	}
	if got := hoursText(&h, "ko"); got != "상담 시간은 평일 9시 30분부터 12시까지, 13시부터 24시까지, 토요일 9시부터 13시까지입니다. 공휴일에는 10시부터 17시까지 상담합니다." {
		t.Errorf("hours (ko): %q", got)
	}
	// 1345's "2" goes to imm-en and speaks English; its "83" (interpreted,
	// no language) speaks English too; its "1" Korean.
	for _, c := range []struct{ digit, want string }{{"1", "ko"}, {"2", "en"}, {"5", "th"}, {"83", "en"}} {
		for _, m := range n1345.Menu {
			if m.Digit == c.digit {
				if got := choiceVoice(cfg, n1345, m); got != c.want {
					t.Errorf("1345 %s speaks %q, want %q", c.digit, got, c.want)
				}
			}
		}
	}
}

// chat.agent_alias shapes the name citizens see.
func TestAgentAliasPattern(t *testing.T) {
	for _, c := range []struct{ pattern, alias, want string }{
		{"상담사 {alias}", "하늘", "상담사 하늘"},
		{"{alias} counsellor", "Sky", "Sky counsellor"},
		{"", "하늘", "하늘"},
	} {
		if got := agentAlias(c.pattern, c.alias); got != c.want {
			t.Errorf("agentAlias(%q, %q) = %q, want %q", c.pattern, c.alias, got, c.want)
		}
	}
}

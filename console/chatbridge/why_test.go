package chatbridge_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The citizen panel explains why the contact was routed to this agent,
// from the engine's structured reason codes, in the UI's language: never
// the engine's English text nor a raw code.
func TestAgentViewRoutingExplanation(t *testing.T) {
	r := newRig(t, nil, nil)
	a := r.agentReady("agent01")
	r.acceptChat(a, "1350", "홍길동")
	r.waitText(a, "#pane .routing", "배정 이유")
	r.waitText(a, "#pane .why", "노동 숙련도 4")
	r.waitText(a, "#pane .why", "대기 상담사 1명 중 가장 오래 대기")
	ko := eval[string](r, a, `document.querySelector('#pane .why').textContent`)
	for _, raw := range []string{"skill_match", "longest_idle", "labor", "idle ", "ready"} {
		if strings.Contains(ko, raw) {
			t.Fatalf("routing explanation shows %q: %s", raw, ko)
		}
	}
	r.run(a, "english", chromedp.Click(chromedp.ID("lang")))
	r.waitText(a, "#pane .routing", "Why you got it")
	r.waitText(a, "#pane .why", "Labour skill level 4")
	r.waitText(a, "#pane .why", "longest idle of 1 ready agents")
	if en := eval[string](r, a, `document.querySelector('#pane .why').textContent`); strings.Contains(en, "노동") || strings.Contains(en, "skill_match") {
		t.Fatalf("English explanation: %s", en)
	}
}

package chatbridge_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/console"
	"onecall/router"
)

// Each wrap-up form counts down its own contact's wrap-up time from its
// queue's config (wrap_up), from when the contact ended; the engine keeps
// the agent in wrap-up for the longest owed, shown in the header.
func TestAgentViewWrapUpTimerPerContact(t *testing.T) {
	r := newRig(t, func(c *router.Config) {
		for i := range c.Queues {
			if c.Queues[i].ID == "gen-110" {
				c.Queues[i].WrapUpChat = 40 * time.Second
			}
		}
	}, func(o *console.Options) {
		o.Queues = []console.QueueInfo{{ID: "labor", NameKo: "고용노동 상담", WrapChatMS: 120000, WrapVoiceMS: 120000},
			{ID: "gen-110", NameKo: "정부민원 일반", WrapChatMS: 40000}}
	})
	a := r.agentReady("agent01")
	_, labor := r.acceptChat(a, "1350", "홍길동")
	_, gen := r.acceptChat(a, "110", "김철수")
	for _, id := range []int{labor, gen} {
		r.run(a, "end "+itoa(id), chromedp.Click(chromedp.CSS(`#tabs .tab[data-contact="`+itoa(id)+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#pane .contact[data-contact="`+itoa(id)+`"]`)),
			chromedp.Click(chromedp.CSS("#pane .end")),
			chromedp.WaitVisible(chromedp.CSS(`#wraplist .wrap[data-contact="`+itoa(id)+`"]`)))
	}
	form := func(id int) string { return `#wraplist .wrap[data-contact="` + itoa(id) + `"]` }
	r.waitText(a, form(labor), "이 상담의 후처리 시간 남음 1:5")
	r.waitText(a, form(gen), "이 상담의 후처리 시간 남음 0:3")
	left := func(id int) int {
		return eval[int](r, a, `Number(document.querySelector('`+form(id)+`').dataset.wrapLeft)`)
	}
	if l, g := left(labor), left(gen); l <= 90 || l > 120 || g <= 10 || g > 40 {
		t.Fatalf("wrap-up left: labor %d s, gen-110 %d s", l, g)
	}
	// The engine applies the longest owed: the agent is in wrap-up until
	// about two minutes after the last contact ended.
	r.waitText(a, "#mystate", "후처리")
	r.waitText(a, "#mysince", "-1:5")
	// In English.
	r.run(a, "english", chromedp.Click(chromedp.ID("lang")))
	r.waitText(a, form(gen), "Wrap-up time left for this contact 0:")
}

// Defect 5, a queue without disposition_required: when the wrap-up time
// runs out the agent is Ready again, and the unsaved form stays until the
// agent saves it; the disposition is stored then. The pane and the form
// follow a switch of the UI's language, keeping what the agent chose.
func TestAgentViewWrapUpFormOutlivesTimer(t *testing.T) {
	r := newRig(t, func(c *router.Config) { c.Queues[0].WrapUpChat = 2 * time.Second }, nil) // labor
	a := r.agentReady("agent01")
	cit, id := r.acceptChat(a, "1350", "홍길동")
	r.run(cit, "citizen writes", chromedp.SendKeys(chromedp.ID("text"), "월급을 못 받았어요"), chromedp.Click(chromedp.ID("send-btn")))
	r.waitText(a, "#pane .log", "고객월급을 못 받았어요")
	// The pane's words follow a switch of the UI's language.
	r.run(a, "english", chromedp.Click(chromedp.ID("lang")))
	r.waitText(a, "#pane .log", "Citizen월급을 못 받았어요")
	r.waitText(a, "#pane .canned", "Canned (/)")
	r.run(a, "korean", chromedp.Click(chromedp.ID("lang")))
	r.endChat(a, id)
	f := `#wraplist .wrap[data-contact="` + itoa(id) + `"]`
	r.run(a, "the timer runs out: Ready", chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))
	r.waitText(a, f, "홍길동")
	r.waitText(a, f+" .wraplog", "고객: 월급을 못 받았어요")
	// So do the form's, and what the agent chose stays.
	r.run(a, "choose", chromedp.SetValue(chromedp.CSS(f+" .disp"), "resolved"))
	r.run(a, "english", chromedp.Click(chromedp.ID("lang")))
	r.waitText(a, f+" .wraplog", "Citizen: 월급을 못 받았어요")
	r.waitText(a, f, "Chat · 홍길동")
	words := eval[string](r, a, `[...document.querySelectorAll('`+f+` label, `+f+` option, `+f+` button, `+f+` .wrapmeta')].map((e) => e.textContent).join('|')`)
	for _, want := range []string{"Disposition", "Notes", "Then", "Resolved", "Ready", "Save", "Ministry of Employment and Labor (1350)", "Labor counselling"} {
		if !strings.Contains(words, want) {
			t.Errorf("wrap-up form in English lacks %q: %s", want, words)
		}
	}
	if hangul := regexp.MustCompile(`\p{Hangul}`); hangul.MatchString(words) {
		t.Errorf("Korean left in the English form: %s", words)
	}
	if v := eval[string](r, a, `document.querySelector('`+f+` .disp').value`); v != "resolved" {
		t.Fatalf("the chosen disposition became %q", v)
	}
	r.run(a, "korean", chromedp.Click(chromedp.ID("lang")))
	r.run(a, "save after the timer", chromedp.SendKeys(chromedp.CSS(f+" .notes"), "늦게 저장"),
		chromedp.Click(chromedp.CSS(f+" button")), chromedp.WaitNotPresent(chromedp.CSS(f)))
	c, err := r.st.Contact(context.Background(), uint64(id))
	if err != nil || c.Disposition != "resolved" || c.Notes != "늦게 저장" {
		t.Fatalf("store has %+v (%v)", c, err)
	}
	r.run(a, "still Ready", chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))
}

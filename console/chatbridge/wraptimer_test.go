package chatbridge_test

import (
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

package chatbridge_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/console"
	"onecall/router"
)

// TV mode at 1920x1080 in a quiet hour: 72 idle queues in 45 centers (the
// shipped configs have 71 queues in about as many centers) all fit one
// screen without scrolling, at a type size no smaller than 0.5; then a
// queue with a chat waiting comes first, in the attention group.
func TestWallboardTVManyCenters(t *testing.T) {
	var infos []console.QueueInfo
	r := newRig(t, func(c *router.Config) {
		for i := len(c.Queues); i < 72; i++ {
			id := fmt.Sprintf("q%02d", i)
			c.Queues = append(c.Queues, router.QueueDef{ID: id, Skills: []router.SkillReq{{Skill: "general", Min: 1}},
				SLTarget: 0.8, SLThreshold: 20 * time.Second, OfferChat: 60 * time.Second, WrapUpChat: 60 * time.Second})
		}
		for i, q := range c.Queues {
			n := strconv.Itoa(i % 45)
			infos = append(infos, console.QueueInfo{ID: q.ID, NameKo: "상담 대기열 " + q.ID, NameEn: "Counselling queue " + q.ID, SLPercent: 80, SLWithinMS: 20000,
				Center: "c" + n, CenterKo: "콜센터 " + n, CenterEn: "Call center " + n,
				Institution: "i" + n, InstitutionKo: "기관 " + n, InstitutionEn: "Institution " + n})
		}
	}, func(o *console.Options) { o.Queues = infos })
	sup := r.tab()
	r.signIn(sup, "super01")
	r.poll(sup, "72 tiles", `document.querySelectorAll('#tiles .tile').length === 72`)
	r.run(sup, "TV mode", chromedp.EmulateViewport(1920, 1080), chromedp.Click(chromedp.ID("wbtv")))
	fits := `(() => {
		if (!document.body.classList.contains('tv')) return false;
		const H = innerHeight, W = innerWidth, se = document.scrollingElement;
		if (se.scrollHeight > H + 1 || se.scrollWidth > W + 1) return false;
		return [...document.querySelectorAll('#tiles .tile, .charts figure')].every((e) => {
			const b = e.getBoundingClientRect(); return b.bottom <= H + 1 && b.right <= W + 1 && b.height > 0; });
	})()`
	r.poll(sup, "every tile on the screen", fits)
	scale := func() float64 {
		s, _ := strconv.ParseFloat(eval[string](r, sup, `document.body.style.getPropertyValue('--tv-scale')`), 64)
		return s
	}
	if s := scale(); s < 0.5 {
		t.Errorf("TV type scale %.2f, below 0.5", s)
	}
	t.Logf("72 quiet queues in TV mode: type scale %.2f", scale())
	r.citizen("110", "홍길동")
	r.poll(sup, "gen-110 first", `(() => { const f = document.querySelector('#tiles .attention .tile'); return !!f && f.dataset.queue === 'gen-110'; })()`)
	r.poll(sup, "still on the screen", fits)
}

package console

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
	"onecall/router"
)

// The agent console (sign-in, ready, offer, chat, wrap-up) and the wallboard (desk
// and TV) have no serious or critical axe-core (WCAG 2.1 AA) violation, in
// Korean and in English, and nothing clickable the keyboard cannot reach.
func TestBrowserConsoleAccessibility(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Queues = wallQueues })
	browser := testpeers.Chromium(t, chromedp.WindowSize(1366, 768))
	both := func(w *wallTab, what string) {
		t.Helper()
		testpeers.KeyboardReachable(t, w.ctx, what)
		testpeers.AxeSerious(t, w.ctx, what+" (ko)")
		testpeers.Run(t, w.ctx, "english", chromedp.Click(chromedp.ID("lang")))
		w.poll("english", `document.documentElement.lang === 'en'`)
		testpeers.AxeSerious(t, w.ctx, what+" (en)")
		testpeers.Run(t, w.ctx, "korean", chromedp.Click(chromedp.ID("lang")))
		w.poll("korean", `document.documentElement.lang === 'ko'`)
	}

	// Sign-in page.
	login := &wallTab{t: t, ctx: testpeers.Tab(t, browser, 2*time.Minute)}
	testpeers.Run(t, login.ctx, "sign-in page", chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("username")))
	both(login, "sign-in")

	// Agent: ready, an offer, a live chat, then wrap-up.
	a := openWallboard(t, browser, e.srv.URL+"/", "agent01", "#agent")
	testpeers.Run(t, a.ctx, "ready", chromedp.Click(chromedp.ID("btnready")), chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))
	both(a, "agent idle")
	if err := e.hub.Submit(router.ContactArrived{Contact: 1, Channel: router.Chat, Number: "1350", Citizen: "chat:1",
		Attrs: map[string]string{"name": "홍길동"}}); err != nil {
		t.Fatal(err)
	}
	testpeers.Run(t, a.ctx, "offer", chromedp.WaitVisible(chromedp.CSS("#offer[open]")))
	both(a, "agent offer")
	testpeers.Run(t, a.ctx, "accept", chromedp.Click(chromedp.CSS(`#offer .offercard[data-contact="1"] .accept`)),
		chromedp.WaitVisible(chromedp.CSS("#pane .contact")))
	e.chat.citizenSays(t, 1, "월급을 못 받았어요")
	a.poll("citizen line", `document.querySelector('#pane .log').textContent.includes('월급을')`)
	both(a, "agent chat")
	testpeers.Run(t, a.ctx, "end", chromedp.Click(chromedp.CSS("#pane .end")))
	if err := e.hub.Submit(router.ContactEnded{Contact: 1, Reason: router.EndCompleted}); err != nil {
		t.Fatal(err)
	}
	testpeers.Run(t, a.ctx, "wrap-up form", chromedp.WaitVisible(chromedp.CSS("#wraplist .wrap")))
	both(a, "agent wrap-up")
	// Supervisor: wallboard with a waiting contact, drilled in; then TV mode.
	if err := e.hub.Submit(router.ContactArrived{Contact: 2, Channel: router.Voice, Number: "110"}); err != nil {
		t.Fatal(err)
	}
	sup := openWallboard(t, browser, e.srv.URL+"/", "super01", "#super")
	sup.poll("tiles", `document.querySelectorAll('#tiles .tile').length === 2`)
	testpeers.Run(t, sup.ctx, "drill", chromedp.Click(chromedp.CSS(`.tile[data-queue=general]`)))
	sup.poll("drill list", `document.querySelectorAll('#waiting tbody tr').length === 1`)
	both(sup, "wallboard")
	testpeers.Run(t, sup.ctx, "tv", chromedp.Click(chromedp.ID("wbtv")))
	sup.poll("tv", `document.body.classList.contains('tv')`)
	both(sup, "wallboard TV")
}

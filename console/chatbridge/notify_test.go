package chatbridge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// An offer is announced beyond the beep: with the agent's permission a
// desktop notification names the channel, queue and citizen in the UI's
// language, and the tab's title flashes (on and off) until the offer is
// answered.
func TestAgentViewOfferNotification(t *testing.T) {
	r := newRig(t, nil, nil)
	a := r.tab()
	r.run(a, "notifications allowed, and recorded",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			// Headless Chromium reports notifications "denied" here even
			// after Browser.setPermission granted them: the page gets a
			// Notification the agent has allowed, which records what the
			// page shows.
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
				window.__notes = [];
				window.Notification = class {
					static get permission() { return 'granted'; }
					static requestPermission() { return Promise.resolve('granted'); }
					constructor(title, o) { window.__notes.push(title + ' | ' + ((o && o.body) || '')); }
					close() {}
				};`})
			return err
		}))
	r.signIn(a, "agent01")
	r.waitText(a, "#mystate", "상담 불가")
	if p := eval[string](r, a, `Notification.permission`); p != "granted" {
		t.Fatalf("notification permission %q", p)
	}
	r.run(a, "ready", chromedp.Click(chromedp.ID("btnready")), chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))
	base := eval[string](r, a, `document.title`)
	r.citizen("1350", "홍길동")
	id := r.offerID(a, "홍길동")
	r.poll(a, "a desktop notification", `window.__notes.length === 1`)
	if n := eval[string](r, a, `window.__notes[0]`); n != "새 상담 요청 | 채팅 · 고용노동 상담 · 홍길동" {
		t.Fatalf("notification %q", n)
	}
	r.poll(a, "the title flashes", `document.title.includes('새 상담 요청')`)
	r.poll(a, "on and off", `document.title === `+jsString(base))
	r.poll(a, "and on again", `document.title.includes('새 상담 요청')`)
	r.run(a, "accept", chromedp.Click(chromedp.CSS(`#offer .offercard[data-contact="`+itoa(id)+`"] .accept`)),
		chromedp.WaitVisible(chromedp.CSS(`#tabs .tab[data-contact="`+itoa(id)+`"]`)))
	r.poll(a, "the title is back", `document.title === `+jsString(base))
	if n := eval[int](r, a, `window.__notes.length`); n != 1 || strings.Contains(base, "새 상담") {
		t.Fatalf("%d notifications, title %q", n, base)
	}
}

package console

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
	"onecall/router"
)

// A booked callback against the real engine: the supervisor's wallboard
// counts it as pending on its queue's tile and in the summary; the agent's
// console offers it as a callback card with the number to call, the line,
// the booking time, the wait before booking and the last attempt's
// outcome; once accepted it is no longer pending. Callbacks between
// attempts (outside routing; two on general here) count as pending too.
func TestBrowserCallbackCardAndWallboard(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Queues = wallQueues
		o.ScheduledCallbacks = func(q string) int {
			if q == "general" {
				return 2
			}
			return 0
		}
	})
	browser := testpeers.Chromium(t, chromedp.WindowSize(1920, 1080))
	sup := openWallboard(t, browser, e.srv.URL+"/", "super01", "#super")
	sup.poll("tiles", `document.querySelectorAll('#tiles .tile').length === 2`)
	if got := sup.text(`#wbsum .kpi.cbs b`); got != "2" {
		t.Errorf("pending callbacks before any is booked: %q, want the 2 to retry", got)
	}
	if got := sup.text(`.tile[data-queue=general] .kv.cbs b`); got != "0 + 2 재시도 예정" {
		t.Errorf("general's callbacks to retry: %q", got)
	}

	now := time.Now()
	booked := now.Add(-8 * time.Minute)
	if err := e.hub.Submit(router.ContactArrived{Contact: 1, Channel: router.Voice, Number: "1350", Queue: "labor",
		Arrived: now.Add(-10 * time.Minute), Citizen: "01012345678", Callback: true,
		Attrs: map[string]string{"kind": "callback", "booked_at": booked.UTC().Format(time.RFC3339), "waited_s": "95",
			"attempt": "2", "last_outcome": "busy", "source": "voice"}}); err != nil {
		t.Fatal(err)
	}
	// A plain call waits in general: it is no callback.
	if err := e.hub.Submit(router.ContactArrived{Contact: 2, Channel: router.Voice, Number: "110"}); err != nil {
		t.Fatal(err)
	}
	sup.poll("labor counts one callback", `(() => { const b = document.querySelector('.tile[data-queue=labor] .kv.cbs b');
		return !!b && b.textContent === '1'; })()`)
	if got := sup.text(`#wbsum .kpi.cbs b`); got != "3" {
		t.Errorf("pending callbacks in the summary: %q, want 3", got)
	}

	a := openWallboard(t, browser, e.srv.URL+"/", "agent01", "#agent")
	testpeers.Run(t, a.ctx, "ready", chromedp.Click(chromedp.ID("btnready")),
		chromedp.WaitVisible(chromedp.CSS(`#offer .offercard.callbackcard[data-contact="1"]`)))
	card := a.text(`#offer .offercard[data-contact="1"]`)
	t.Logf("callback card: %s", card)
	bookedText := a.eval(`new Date('` + booked.UTC().Format(time.RFC3339) + `').toLocaleString('ko-KR')`)
	for _, want := range []string{"콜백 요청", "걸 번호", "01012345678", "1350", "예약 시각", bookedText, "예약 전 대기", "1:35",
		"시도", "2", "지난 시도", "통화 중", "수락하면 onecall이 이 번호로 전화를 겁니다"} {
		if !strings.Contains(card, want) {
			t.Errorf("callback card lacks %q: %s", want, card)
		}
	}
	for _, internal := range []string{"booked_at", "waited_s", "kind", "last_outcome"} {
		if strings.Contains(card, internal) {
			t.Errorf("callback card shows the internal key %q: %s", internal, card)
		}
	}
	testpeers.Run(t, a.ctx, "accept", chromedp.Click(chromedp.CSS(`#offer .offercard[data-contact="1"] .accept`)))
	sup.poll("no callback pending once accepted", `!document.querySelector('.tile[data-queue=labor] .kv.cbs') &&
		document.querySelector('#wbsum .kpi.cbs b').textContent === '2'`)
}

package console

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
	"onecall/reports"
	"onecall/store"
)

// TestBrowserWallboardBackfill: contacts and agent states the store holds
// from earlier in the day (before this server's own chart bins) show in
// the volume chart, the agents-by-state chart and the SL-per-queue chart
// as soon as the wallboard loads, read from GET /api/reports and GET
// /api/wallboard/agent-states.
func TestBrowserWallboardBackfill(t *testing.T) {
	var rep atomic.Pointer[reports.Handler]
	e := newEnv(t, func(o *Options) {
		o.Queues = wallQueues
		o.Reports = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rep.Load().ServeHTTP(w, r) })
	})
	// 45 minutes before the current 15-minute bin: 3 offered, 2 answered,
	// 1 abandoned, in the store as the store sink writes them.
	bin := time.Now().Truncate(15 * time.Minute).Add(-45 * time.Minute)
	ctx := context.Background()
	for i, c := range []store.ContactUpsert{
		{Channel: "voice", Hotline: "1350", Queue: "labor", State: "ended", EndReason: "completed", Agent: "agent01",
			Arrived: bin.Add(time.Minute), Answered: bin.Add(time.Minute + 5*time.Second), Ended: bin.Add(4 * time.Minute), Wait: 5 * time.Second, Handle: 3 * time.Minute},
		{Channel: "chat", Hotline: "1350", Queue: "labor", State: "ended", EndReason: "completed", Agent: "agent01",
			Arrived: bin.Add(2 * time.Minute), Answered: bin.Add(2*time.Minute + 8*time.Second), Ended: bin.Add(9 * time.Minute), Wait: 8 * time.Second, Handle: 7 * time.Minute},
		{Channel: "voice", Hotline: "110", Queue: "general", State: "ended", EndReason: "abandoned",
			Arrived: bin.Add(3 * time.Minute), Ended: bin.Add(4 * time.Minute), Wait: time.Minute},
	} {
		c.ID = uint64(9000 + i)
		if err := e.st.Durable(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// Agents by state in the store's log: at the end of that bin (bin+15
	// min) hist01 is ready and hist02 busy; hist02 goes offline later.
	for _, r := range []store.AgentStateLog{
		{Agent: "hist01", State: "ready", At: bin.Add(time.Minute)},
		{Agent: "hist02", State: "busy", At: bin.Add(2 * time.Minute)},
		{Agent: "hist02", State: "offline", At: bin.Add(20 * time.Minute)},
	} {
		if err := e.st.Durable(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rep.Store(&reports.Handler{Src: e.st, Cfg: reports.Config{Loc: time.Local, Now: func() time.Time { return bin },
		Thresholds: map[string]time.Duration{"labor": 20 * time.Second, "general": 10 * time.Second}}})
	browser := testpeers.Chromium(t, chromedp.WindowSize(1920, 1080))
	sup := openWallboard(t, browser, e.srv.URL+"/", "super01", "#super")
	want := bin.UnixMilli() / 1000
	sup.poll("backfilled bin in the volume chart", `(() => { const p = window.onecallWall.plots.vol; if (!p) return false;
		const i = p.data[0].indexOf(`+itoa64(want)+`); return i >= 0 && p.data[1][i] === 3 && p.data[2][i] === 2 && p.data[3][i] === 1; })()`)
	// The server's own (current) bin still follows it.
	if n := sup.eval(`String(window.onecallWall.plots.vol.data[0].filter((x) => x > ` + itoa64(want) + `).length)`); n == "0" {
		t.Fatal("no live bin after the backfilled one")
	}
	// Agents by state over the day: the same bin from the agent state log
	// (series: ready, busy, reserved, wrap-up, not ready).
	sup.poll("backfilled bin in the agents chart", `(() => { const p = window.onecallWall.plots.agents; if (!p) return false;
		const i = p.data[0].indexOf(`+itoa64(want)+`); return i >= 0 && p.data[1][i] === 1 && p.data[2][i] === 1; })()`)
	// SL per queue against its target, from the day in the store (the live
	// figures of this fresh server have none): general's one contact
	// abandoned after a minute (0 % against 90 %), labor's two answered
	// within 20 s (100 % against 80 %); general's tile is the worst.
	sup.poll("SL per queue from the store", `(() => { const v = (q) => { const r = document.querySelector('#chartsl li[data-queue="' + q + '"] .slv'); return r ? r.textContent : ''; };
		return v('general') === '0 % / 90 %' && v('labor') === '100 % / 80 %' &&
			document.querySelector('#tiles .tile[data-queue="general"]').classList.contains('lv-bad'); })()`)

	// The wallboard links the historical reports: today by line per hour,
	// the page's inline style allowed by its own CSP (the console's
	// style-src 'self' would block it), service level per line in the
	// table, a form for another period and the CSV of this one.
	href := sup.eval(`document.querySelector('#wbreports').getAttribute('href') + ' ' + document.querySelector('#wbreports').textContent`)
	if href != "/api/reports?format=html&by=line&every=1h 통계 보고서" && href != "/api/reports?format=html&by=line&every=1h Reports" {
		t.Fatalf("reports link %q", href)
	}
	testpeers.Run(t, sup.ctx, "open the reports", chromedp.Navigate(e.srv.URL+"/api/reports?format=html&by=line&every=1h"),
		chromedp.WaitVisible(chromedp.CSS("svg polyline")))
	page := sup.eval(`[getComputedStyle(document.body).marginTop, document.querySelector('th:nth-child(2)').textContent,
		...[...document.querySelectorAll('tbody tr')].map(r => r.children[1].textContent + '=' + r.children[6].textContent),
		document.querySelector('#csv').getAttribute('href')].join('|')`)
	if page != "24px|line|1350=100.0 %|110=0.0 %|?by=line&every=1h&format=csv" && page != "24px|line|110=0.0 %|1350=100.0 %|?by=line&every=1h&format=csv" {
		t.Fatalf("reports page: %q", page)
	}
}

func itoa64(n int64) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

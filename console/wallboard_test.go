package console

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
	"onecall/router"
)

var wallQueues = []QueueInfo{
	{ID: "labor", NameKo: "노동 상담", NameEn: "Labour counselling", SLPercent: 80, SLWithinMS: 20000,
		Center: "moel-1350", CenterKo: "고용노동부 고객상담센터", CenterEn: "MOEL Customer Counseling Center",
		Institution: "moel", InstitutionKo: "고용노동부", InstitutionEn: "Ministry of Employment and Labor"},
	{ID: "general", NameKo: "정부민원안내", NameEn: "Government civil complaints", SLPercent: 90, SLWithinMS: 10000,
		Center: "acrc-110", CenterKo: "정부민원안내콜센터", CenterEn: "Government Civil Complaint Call Center",
		Institution: "acrc", InstitutionKo: "국민권익위원회", InstitutionEn: "Anti-Corruption and Civil Rights Commission"},
}

// wallTab is a signed-in browser tab with small helpers for the wallboard
// tests.
type wallTab struct {
	t   *testing.T
	ctx context.Context
}

func openWallboard(t *testing.T, browser context.Context, url, user, view string) *wallTab {
	t.Helper()
	c := testpeers.Tab(t, browser, 2*time.Minute)
	testpeers.Run(t, c, user+" signs in",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), "demo"),
		chromedp.Click(chromedp.ID("loginbtn")),
		chromedp.WaitVisible(chromedp.CSS(view)),
		chromedp.WaitVisible(chromedp.CSS("#conn.online")))
	return &wallTab{t: t, ctx: c}
}

// poll waits until the JS expression js is true.
func (w *wallTab) poll(what, js string) {
	w.t.Helper()
	if _, err := chromedp.Run(w.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		w.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (w *wallTab) eval(js string) string {
	w.t.Helper()
	s, err := chromedp.Run(w.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		w.t.Fatalf("eval %s: %v", js, err)
	}
	return s
}

func (w *wallTab) text(sel string) string {
	w.t.Helper()
	return w.eval(fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||''`, sel))
}

// TestBrowserWallboard drives the wallboard against the real engine: the
// queue with a contact waiting comes first, an idle queue shows "—" and no
// SL, queues are grouped by institution and center and filtered, the drill
// down follows a supervisor's move and an agent's transfer live, the charts
// carry the engine's counts, and TV mode fits 1920x1080 without scrolling.
func TestBrowserWallboard(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Queues = wallQueues })
	browser := testpeers.Chromium(t, chromedp.WindowSize(1920, 1080))
	sup := openWallboard(t, browser, e.srv.URL+"/", "super01", "#super")

	// Idle: both queues show "—" for SL, nothing needs attention.
	sup.poll("idle tiles", `document.querySelectorAll('#tiles .tile.lv-idle').length === 2`)
	if got := sup.text(`.tile[data-queue=general] .tbig`); got != "0대기—SL 15분" {
		t.Errorf("idle general tile shows %q", got)
	}
	if sup.eval(`String(!!document.querySelector('#tiles .attention'))`) == "true" {
		t.Errorf("attention group shown while idle")
	}
	if got := sup.text(`#tiles`); !strings.Contains(got, "고용노동부 · 고용노동부 고객상담센터") || !strings.Contains(got, "국민권익위원회 · 정부민원안내콜센터") {
		t.Errorf("groups by institution and center missing: %q", got)
	}

	// Two chats wait in labor (no agent is ready): labor comes first.
	for id := router.ContactID(1); id <= 2; id++ {
		if err := e.hub.Submit(router.ContactArrived{Contact: id, Channel: router.Chat, Number: "1350"}); err != nil {
			t.Fatal(err)
		}
	}
	sup.poll("labor needs attention", `(() => { const f = document.querySelector('#tiles .attention .tile');
		return !!f && f.dataset.queue === 'labor' && f.querySelector('.tw b').textContent === '2'; })()`)
	if got := sup.text(`#tiles .attention h3`); got != "조치 필요" {
		t.Errorf("attention heading %q", got)
	}

	// Drill into labor; the supervisor moves contact 2 to general: it
	// leaves the labor list without a reload.
	testpeers.Run(t, sup.ctx, "drill labor", chromedp.Click(chromedp.CSS(`.tile[data-queue=labor]`)))
	sup.poll("two waiting in labor", `document.querySelectorAll('#waiting tbody tr').length === 2`)
	testpeers.Run(t, sup.ctx, "move 2 to general",
		chromedp.SetValue(chromedp.CSS(`#waiting tr[data-contact="2"] select.mvq`), "general"),
		chromedp.Click(chromedp.CSS(`#waiting tr[data-contact="2"] button.mv`)))
	sup.poll("2 left labor", `!document.querySelector('#waiting tr[data-contact="2"]') && !!document.querySelector('#waiting tr[data-contact="1"]')`)
	sup.poll("history link", `document.querySelector('#waiting tr[data-contact="1"] a.hist').getAttribute('href') === '/console/contact?id=1'`)
	testpeers.Run(t, sup.ctx, "drill general", chromedp.Click(chromedp.CSS(`.tile[data-queue=general]`)))
	sup.poll("2 in general", `!!document.querySelector('#waiting tr[data-contact="2"]')`)

	// agent02 (labor and general) answers one of them and transfers it to
	// the other queue while the supervisor watches that queue: it appears
	// there live.
	if err := e.hub.Submit(router.AgentLoggedIn{Agent: "agent02", Ready: true}); err != nil {
		t.Fatal(err)
	}
	var offered router.ContactID
	var from string
	testpeers.WaitFor(t, 10*time.Second, "an offer to agent02", func() bool {
		e.svc.mu.Lock()
		defer e.svc.mu.Unlock()
		for id, c := range e.svc.m.contacts {
			if c.Agent == "agent02" && c.State == "offered" {
				offered, from = id, c.Queue
				return true
			}
		}
		return false
	})
	to := "labor"
	if from == "labor" {
		to = "general"
	}
	testpeers.Run(t, sup.ctx, "drill "+to, chromedp.Click(chromedp.CSS(`.tile[data-queue=`+to+`]`)))
	sup.poll("one waiting in "+to, `document.querySelectorAll('#waiting tbody tr').length === 1`)
	if err := e.hub.Submit(router.OfferAccepted{Contact: offered, Agent: "agent02"}); err != nil {
		t.Fatal(err)
	}
	if err := e.hub.Submit(router.AgentStateRequested{Agent: "agent02", State: router.NotReady, Reason: "break", Next: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.hub.Submit(router.ContactTransferred{Contact: offered, ToQueue: to, Note: "다른 부서 문의", By: "agent02"}); err != nil {
		t.Fatal(err)
	}
	sup.poll("transferred contact appears in "+to, fmt.Sprintf(`(() => { const r = document.querySelector('#waiting tr[data-contact="%d"]'); return !!r && r.textContent.includes('대기'); })()`, offered))

	// Charts: the volume chart holds the engine's counts (two contacts
	// offered today, plus the move and the transfer re-entering a queue).
	sup.poll("volume chart data", `(() => { const p = window.onecallWall.plots.vol; if (!p) return false;
		const d = p.data[1]; return d.length > 0 && d.reduce((a, b) => a + b, 0) >= 2; })()`)
	var offeredToday int
	e.svc.mu.Lock()
	for _, q := range e.svc.m.queues {
		offeredToday += q.Offered
	}
	e.svc.mu.Unlock()
	testpeers.Run(t, sup.ctx, "redraw", chromedp.Evaluate[chromedp.Void](`window.onecallWall.chartAt = 0`))
	sup.poll("volume equals the engine's offered", fmt.Sprintf(`window.onecallWall.plots.vol.data[1].reduce((a, b) => a + b, 0) === %d`, offeredToday))
	for _, want := range []string{"인입", "응답", "포기"} {
		if got := sup.text(`#chartvol .u-legend`); !strings.Contains(got, want) {
			t.Errorf("volume legend %q lacks %q", got, want)
		}
	}
	if got := sup.text(`#chartagents .u-legend`); !strings.Contains(got, "상담 가능") || !strings.Contains(got, "후처리") {
		t.Errorf("agents legend %q", got)
	}
	// Chart marks stand out from their background (WCAG 2.1 1.4.11,
	// non-text contrast at least 3:1): every series in the legends, and
	// the SL bars against their track.
	sup.poll("the SL chart", `document.querySelectorAll('#chartsl .slfill').length > 0`)
	if bad := sup.eval(chartContrastJS); bad != "" {
		t.Errorf("chart contrast below 3:1: %s", bad)
	}
	png, err := chromedp.Run(sup.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	testpeers.SaveDocScreenshot(t, "wallboard-desk.png", png)

	// Filter by institution, then by text.
	setInput := func(id, v, ev string) {
		t.Helper()
		sup.eval(fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event(%q)); return ''; })()`, id, v, ev))
	}
	setInput("wbinst", "acrc", "change")
	sup.poll("only general", `document.querySelectorAll('#tiles .tile').length === 1 && !!document.querySelector('.tile[data-queue=general]')`)
	setInput("wbinst", "", "change")
	testpeers.Run(t, sup.ctx, "type a filter", chromedp.SendKeys(chromedp.ID("wbfilter"), "노동"))
	sup.poll("only labor", `document.querySelectorAll('#tiles .tile').length === 1 && !!document.querySelector('.tile[data-queue=labor]')`)
	setInput("wbfilter", "", "input")
	sup.poll("both again", `document.querySelectorAll('#tiles .tile').length === 2`)

	// TV mode: one screen, no scrolling, every tile and chart inside it.
	testpeers.Run(t, sup.ctx, "tv mode", chromedp.EmulateViewport(1920, 1080), chromedp.Click(chromedp.ID("wbtv")))
	sup.poll("tv", `document.body.classList.contains('tv')`)
	assertFitsScreen(t, sup)
	testpeers.Run(t, sup.ctx, "english", chromedp.Click(chromedp.ID("lang")))
	sup.poll("english tiles", `document.querySelector('#tiles').textContent.includes('Needs attention')`)
	assertFitsScreen(t, sup)
}

// assertFitsScreen fails unless the page does not scroll and every tile and
// chart lies within the window.
func assertFitsScreen(t *testing.T, w *wallTab) {
	t.Helper()
	got := w.eval(`(() => {
		const H = window.innerHeight, W = window.innerWidth, se = document.scrollingElement;
		if (se.scrollHeight > H + 1 || se.scrollWidth > W + 1) return 'page scrolls: ' + se.scrollWidth + 'x' + se.scrollHeight;
		for (const e of document.querySelectorAll('#tiles .tile, .charts figure')) {
			const r = e.getBoundingClientRect();
			if (r.bottom > H + 1 || r.right > W + 1 || r.height === 0) return 'outside: ' + (e.dataset.queue || e.textContent.slice(0, 30)) + ' ' + JSON.stringify(r);
		}
		return '';
	})()`)
	if got != "" {
		t.Fatalf("TV mode does not fit %s", got)
	}
}

// chartContrastJS lists the chart marks whose colour has less than 3:1
// contrast with what is behind them ("" = none).
const chartContrastJS = `(() => {
	const rgb = (s) => (s.match(/[0-9.]+/g) || []).slice(0, 3).map(Number);
	const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
	const ratio = (a, b) => { const x = lum(rgb(a)), y = lum(rgb(b)); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
	const bad = [];
	for (const m of document.querySelectorAll('.charts .u-legend .u-series:not(:first-child) .u-marker')) {
		const c = getComputedStyle(m).borderColor, r = ratio(c, 'rgb(255, 255, 255)');
		if (r < 3) bad.push(m.closest('.u-series').textContent + ' ' + c + ' ' + r.toFixed(2));
	}
	for (const f of document.querySelectorAll('#chartsl .slfill')) {
		const c = getComputedStyle(f).backgroundColor, r = ratio(c, getComputedStyle(f.parentElement).backgroundColor);
		if (r < 3) bad.push(f.closest('li').textContent + ' ' + c + ' ' + r.toFixed(2));
	}
	return bad.join('; ');
})()`

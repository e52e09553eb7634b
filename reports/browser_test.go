package reports

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
)

// The HTML report, served from a seeded store, opens in Chromium with both
// charts drawn (lines with points, axes labelled, a legend) and the table;
// the screenshot is committed as docs/screenshots/report.png.
func TestHTMLReportInChromium(t *testing.T) {
	st := openStore(t)
	seedDay(t, st, 600, 42)
	cfg := testConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 12, 7, 15, 0, 0, 0, kst) }
	srv := httptest.NewServer(Handler{Src: st, Cfg: cfg})
	t.Cleanup(srv.Close)

	browser := testpeers.Chromium(t, chromedp.WindowSize(1366, 900))
	tab := testpeers.Tab(t, browser, 60*time.Second)
	testpeers.Run(t, tab, "open the report", chromedp.Navigate(srv.URL+"/?by=queue&every=1h&format=html"),
		chromedp.WaitVisible(chromedp.CSS("svg polyline")))
	got, err := chromedp.Run(tab, chromedp.Evaluate[map[string]float64](`(() => {
		const svgs = [...document.querySelectorAll('svg')];
		const pts = p => p.getAttribute('points').trim().split(/\s+/).length;
		return {
			svgs: svgs.length,
			volumeLines: svgs[0].querySelectorAll('polyline').length,
			volumePoints: Math.min(...[...svgs[0].querySelectorAll('polyline')].map(pts)),
			slLines: svgs[1].querySelectorAll('polyline').length,
			width: svgs[0].getBoundingClientRect().width,
			axisLabels: svgs[0].querySelectorAll('text').length,
			rows: document.querySelectorAll('tbody tr').length,
			legends: document.querySelectorAll('.legend span').length,
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report page: %v", got)
	// 12 working hours, 3 queues: 36 rows; offered/answered/abandoned
	// over 12 hourly points; one SL line per queue.
	if got["svgs"] != 2 || got["volumeLines"] != 3 || got["volumePoints"] != 12 || got["slLines"] != 3 ||
		got["rows"] != 36 || got["legends"] != 6 || got["axisLabels"] < 10 || got["width"] < 900 {
		t.Fatalf("report page: %v", got)
	}
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", "screenshots", "report.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

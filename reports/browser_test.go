package reports

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
)

// The HTML report, served from a seeded store, opens in Chromium with both
// charts drawn (lines with points, axes labelled, a legend) and the table,
// styled under its own CSP; its form asks for the report by line per day
// and links it as CSV; the screenshot is committed as
// docs/screenshots/report.png.
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
	// The page's inline style is allowed by its CSP hash (the console
	// serves every page with style-src 'self'; the report sends its own
	// policy): the body has the style's margin.
	style, err := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.body).marginTop + ' ' +
		getComputedStyle(document.querySelector('table')).borderCollapse`))
	if err != nil || style != "24px collapse" {
		t.Fatalf("report page style %q (%v): the CSP blocked its inline style", style, err)
	}

	// Its form asks for another report: by line, per day, over two days.
	testpeers.Run(t, tab, "ask by line per day", chromedp.SetValue(chromedp.CSS(`select[name=by]`), "line"),
		chromedp.SetValue(chromedp.CSS(`select[name=every]`), "1d"),
		chromedp.SetValue(chromedp.CSS(`input[name=from]`), "2026-12-06"),
		chromedp.SetValue(chromedp.CSS(`input[name=to]`), "2026-12-08"),
		chromedp.Click(chromedp.CSS(`#ask button`)),
		chromedp.WaitVisible(chromedp.Search(`//th[text()="line"]`)))
	byLine, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](`(() => ({
		url: location.search,
		rows: [...document.querySelectorAll('tbody tr')].map(r => r.children[0].textContent + ' ' + r.children[1].textContent + ' ' + r.children[2].textContent),
		csv: document.querySelector('#csv').getAttribute('href'),
		by: document.querySelector('select[name=by]').value,
	}))()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("by line: %v", byLine)
	// The seeded day is 2026-12-07: the 6th has no contacts, the 7th one
	// row per line, 600 contacts in all.
	rows, _ := byLine["rows"].([]any)
	total := 0
	for _, r := range rows {
		var day, clock, line string
		var n int
		if _, err := fmt.Sscan(r.(string), &day, &clock, &line, &n); err != nil || day != "2026-12-07" {
			t.Fatalf("row %q (%v)", r, err)
		}
		total += n
	}
	if len(rows) != 3 || total != 600 || byLine["by"] != "line" {
		t.Fatalf("by line per day: %v", byLine)
	}
	csvURL, _ := byLine["csv"].(string)
	if !strings.Contains(csvURL, "format=csv") || !strings.Contains(csvURL, "by=line") || !strings.Contains(csvURL, "every=1d") {
		t.Fatalf("CSV link %q", csvURL)
	}
	res, err := http.Get(srv.URL + "/" + csvURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if lines := strings.Split(strings.TrimSpace(string(body)), "\n"); res.StatusCode != http.StatusOK || len(lines) != 4 ||
		!strings.Contains(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV %d %q:\n%s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	testpeers.Run(t, tab, "back to the report by queue", chromedp.Navigate(srv.URL+"/?by=queue&every=1h&format=html"), chromedp.WaitVisible(chromedp.CSS("svg polyline")))

	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", "screenshots", "report.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"bytes"
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

// `onecall simulate --compare no-overflow --html` runs the shipped
// configuration twice on the same arrivals, prints the difference per
// queue and per line, and writes a report that opens in Chromium with its charts drawn:
// SL per queue per 15 minutes for each run, waiting contacts and agent
// occupancy over the day (one line per run), and the tables per queue and
// per line with the SL difference; the screenshot is committed
// as docs/screenshots/simulate.png. Thin staff and a surge on 1350 make
// overflow matter: some queue's SL differs between the runs.
func TestSimulateCompareHTMLInChromium(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"simulate", "--config", "../../configs", "--agents", "150", "--contacts", "8000",
		"--surge", "1350:20:10-12", "--compare", "no-overflow", "--html", filepath.Join(dir, "sim.html")}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut.String(), out.String())
	}
	text := out.String()
	for _, want := range []string{"A overflow on", "B overflow off", "queue  arrived    SL A", "line  arrived    SL A", "B-A points", "labor-1350", "1577-1000"} {
		if !strings.Contains(text, want) {
			t.Fatalf("output lacks %q:\n%s", want, text)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)

	browser := testpeers.Chromium(t, chromedp.WindowSize(1366, 900))
	tab := testpeers.Tab(t, browser, 60*time.Second)
	testpeers.Run(t, tab, "open the simulation report", chromedp.Navigate(srv.URL+"/sim.html"),
		chromedp.WaitVisible(chromedp.CSS("svg polyline")))
	got, err := chromedp.Run(tab, chromedp.Evaluate[map[string]float64](`(() => {
		const svgs = [...document.querySelectorAll('svg')];
		const pts = p => p.getAttribute('points').trim().split(/\s+/).filter(Boolean);
		const lines = s => [...s.querySelectorAll('polyline')];
		const minPts = s => Math.min(...lines(s).map(p => pts(p).length));
		// y of every point inside the plot area (16..316 of a 360 high chart)
		const inside = s => lines(s).every(p => pts(p).every(xy => { const y = +xy.split(',')[1]; return y >= 16 && y <= 316; }));
		return {
			svgs: svgs.length,
			sl1Lines: lines(svgs[0]).length, sl2Lines: lines(svgs[1]).length,
			slPoints: Math.max(...lines(svgs[0]).map(p => pts(p).length)),
			waitingLines: lines(svgs[2]).length, waitingPoints: minPts(svgs[2]),
			occLines: lines(svgs[3]).length, occPoints: minPts(svgs[3]), occInside: inside(svgs[3]) ? 1 : 0,
			labels: svgs[3].querySelectorAll('text').length,
			width: svgs[2].getBoundingClientRect().width,
			rows: document.querySelectorAll('#queues tbody tr').length,
			cells: document.querySelector('#queues tbody tr').children.length,
			lineRows: document.querySelectorAll('#lines tbody tr').length,
			lineCells: document.querySelector('#lines tbody tr').children.length,
			// the surged line is the busiest, and its SL differs between the runs
			line1350: document.querySelector('#lines tbody tr').children[0].textContent === '1350' ? 1 : 0,
			line1350Diff: +document.querySelector('#lines tbody tr').children[9].textContent,
			legends: document.querySelectorAll('.legend span').length,
			// queues whose SL differs between the runs (column 10)
			diffs: [...document.querySelectorAll('#queues tbody tr')].filter(r => +r.children[9].textContent !== 0).length,
			headings: document.querySelectorAll('h3').length,
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("simulation page: %v", got)
	// 08-20 h is 48 intervals of 15 minutes (the drain adds a few).
	if got["svgs"] != 4 || got["sl1Lines"] != 8 || got["sl2Lines"] != 8 || got["slPoints"] < 48 ||
		got["waitingLines"] != 2 || got["waitingPoints"] < 48 || got["occLines"] != 2 || got["occPoints"] < 48 ||
		got["occInside"] != 1 || got["labels"] < 10 || got["width"] < 900 || got["rows"] < 40 || got["cells"] != 12 ||
		got["legends"] != 8+8+2+2 || got["diffs"] < 1 || got["headings"] != 2 ||
		got["lineRows"] < 80 || got["lineCells"] != 12 || got["line1350"] != 1 || got["line1350Diff"] == 0 {
		t.Fatalf("simulation page: %v", got)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", "simulate.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

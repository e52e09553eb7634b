package chat

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/router"
)

// Real browser on a closed line: before the citizen starts, the page shows
// the line's hours, that it is closed now and when it opens next; the start
// button leaves a message, and once started the message form is there at
// once (no "waiting for an agent"), without a callback form where the line
// places none. An open line says it is open.
func TestBrowserClosedLineShowsHours(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	sat := time.Date(2026, 12, 5, 12, 0, 0, 0, kst) // a Saturday noon
	skew := time.Until(sat)
	wk := []router.Span{{From: 9 * 60, To: 18 * 60}}
	e := newEnv(t, func(c *envConfig) {
		c.opts.Now = func() time.Time { return time.Now().Add(skew) }
		c.opts.Hotlines = append(c.opts.Hotlines, Hotline{Number: "1345", NameKO: "외국인종합안내", NameEN: "Immigration",
			Hours: &Hours{Schedule: router.Schedule{Location: kst, Weekly: [7][]router.Span{time.Monday: wk, time.Tuesday: wk,
				time.Wednesday: wk, time.Thursday: wk, time.Friday: wk}}, ClosedKO: "닫힘", ClosedEN: "Closed", Callback: false}})
	})
	ctx := newBrowser(t)
	text := func(id string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("`+id+`").textContent`))
		if err != nil {
			t.Fatalf("text of %s: %v", id, err)
		}
		return v
	}
	// 110 (no hours given: open at all times).
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/chat/110?lang=en"),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="hours-status" and text()="Open now."]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[@id="start-btn" and text()="Start chat"]`)),
	)
	if err != nil {
		t.Fatalf("open line: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/chat/1345?lang=en"),
		chromedp.WaitVisible(chromedp.ID("hours")),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="hours-status" and contains(text(),"Closed now")]`)),
	)
	if err != nil {
		t.Fatalf("hours on the start page: %v", err)
	}
	status, hours, btn := text("hours-status"), text("hours-text"), text("start-btn")
	t.Logf("status %q; hours %q; button %q", status, hours, btn)
	if !strings.Contains(status, "Opens Mon") || !strings.Contains(status, "09:00") {
		t.Errorf("status %q: want the next opening, Monday 09:00", status)
	}
	if !strings.Contains(hours, "Mon–Fri 09:00–18:00") || !strings.Contains(hours, "closed on public holidays") {
		t.Errorf("hours %q", hours)
	}
	if btn != "Leave a message" {
		t.Errorf("start button %q on a closed line", btn)
	}
	start := time.Now()
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.ID("text")),
		chromedp.WaitVisible(chromedp.ID("leave-btn")),
		chromedp.WaitNotVisible(chromedp.ID("cb-btn")),
	)
	if err != nil {
		t.Fatalf("message form after start: %v", err)
	}
	queue := text("wait")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("message form after %v", took)
	}
	if !strings.Contains(queue, "closed") {
		t.Errorf("wait section says %q, want that the line is closed", queue)
	}
}

package chat

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
)

// The start form asks for a phone number "for a callback" only on a line
// that places callbacks (110 here); on a line that places none (1350) the
// phone field is gone, a number typed before is dropped, and the privacy
// notice does not say it collects one.
func TestBrowserPhoneOnlyWhereCallbacks(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.opts.RetentionDays = 30 })
	ctx := newBrowser(t)
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	testpeers.Run(t, ctx, "open 110", chromedp.Navigate(e.srv.URL+"/chat/110?lang=en"),
		chromedp.WaitVisible(chromedp.ID("privacy-text")), chromedp.WaitVisible(chromedp.ID("hours")),
		chromedp.WaitVisible(chromedp.ID("phone")))
	hint, notice := eval(`document.getElementById("phone-hint").textContent`), eval(`document.getElementById("privacy-text").textContent`)
	if !strings.Contains(hint, "callback") || !strings.Contains(notice, "phone number") {
		t.Fatalf("110 (callbacks): hint %q, notice %q", hint, notice)
	}
	testpeers.Run(t, ctx, "type a number", chromedp.SendKeys(chromedp.ID("phone"), "01012345678"))
	testpeers.Run(t, ctx, "pick 1350", chromedp.SetValue(chromedp.ID("number"), "1350"))
	eval(`document.getElementById("number").dispatchEvent(new Event("change")) && ""`)
	testpeers.Run(t, ctx, "phone field gone", chromedp.WaitNotVisible(chromedp.ID("phone-field")))
	notice = eval(`document.getElementById("privacy-text").textContent`)
	if strings.Contains(notice, "phone") || strings.Contains(notice, "call you back") || !strings.Contains(notice, "30 days") {
		t.Errorf("1350 (no callbacks): notice %q", notice)
	}
	if v := eval(`document.getElementById("phone").value`); v != "" {
		t.Errorf("1350: the phone typed for 110 is still sent: %q", v)
	}
	testpeers.Run(t, ctx, "back to 110", chromedp.SetValue(chromedp.ID("number"), "110"))
	eval(`document.getElementById("number").dispatchEvent(new Event("change")) && ""`)
	testpeers.Run(t, ctx, "phone field back", chromedp.WaitVisible(chromedp.ID("phone")))
}

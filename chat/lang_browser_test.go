package chat

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
)

// The chat page in the languages of 1345: the privacy notice (with the
// configured retention) shows before the name and phone fields; picking
// Thai shows Thai labels; Arabic is right to left and has no serious axe
// violation.
func TestBrowserChatLanguages(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.opts.RetentionDays = 37
		c.opts.Hotlines[1].RetentionDays = new(5) // 1350 keeps its chats 5 days
	})
	ctx := newBrowser(t)
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	pick := func(l string) {
		t.Helper()
		testpeers.Run(t, ctx, "pick "+l, chromedp.SetValue(chromedp.ID("lang-pick"), l))
		eval(`document.getElementById("lang-pick").dispatchEvent(new Event("change")) && ""`)
	}
	testpeers.Run(t, ctx, "open ko", chromedp.Navigate(e.srv.URL+"/chat/110?lang=ko"),
		chromedp.WaitVisible(chromedp.ID("privacy-text")))
	notice := eval(`document.getElementById("privacy-text").textContent`)
	before := eval(`String(!!(document.getElementById("privacy").compareDocumentPosition(document.getElementById("name")) & Node.DOCUMENT_POSITION_FOLLOWING))`)
	if !strings.Contains(notice, "37일") || before != "true" {
		t.Fatalf("ko notice %q, before the name field %s", notice, before)
	}
	testpeers.Run(t, ctx, "pick 1350", chromedp.SetValue(chromedp.ID("number"), "1350"))
	eval(`document.getElementById("number").dispatchEvent(new Event("change")) && ""`)
	if n := eval(`document.getElementById("privacy-text").textContent`); !strings.Contains(n, "5일") || strings.Contains(n, "37") {
		t.Fatalf("1350's own retention: notice %q", n)
	}
	testpeers.Run(t, ctx, "back to 110", chromedp.SetValue(chromedp.ID("number"), "110"))
	eval(`document.getElementById("number").dispatchEvent(new Event("change")) && ""`)
	pick("th")
	testpeers.Run(t, ctx, "Thai labels", chromedp.WaitVisible(chromedp.Search(`//button[@id="start-btn" and text()="เริ่มแชท"]`)),
		chromedp.WaitVisible(chromedp.Search(`//label[@for="name" and text()="ชื่อ (ไม่บังคับ)"]`)))
	if l, n := eval(`document.documentElement.lang`), eval(`document.getElementById("privacy-text").textContent`); l != "th" || !strings.Contains(n, "37 วัน") {
		t.Fatalf("Thai: lang %q notice %q", l, n)
	}
	// Hours and states are translated too (110 is open at all times).
	testpeers.Run(t, ctx, "Thai hours", chromedp.WaitVisible(chromedp.Search(`//p[@id="hours-text" and text()="เปิดตลอด 24 ชั่วโมง ทุกวัน"]`)))
	pick("ar")
	testpeers.Run(t, ctx, "Arabic labels", chromedp.WaitVisible(chromedp.Search(`//button[@id="start-btn" and text()="ابدأ الدردشة"]`)))
	if d, n := eval(`document.documentElement.dir`), eval(`document.getElementById("privacy-text").textContent`); d != "rtl" || !strings.Contains(n, "37") {
		t.Fatalf("Arabic: dir %q notice %q", d, n)
	}
	testpeers.AxeSerious(t, ctx, "chat start page (ar)")
}

package console

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
)

// Defect 7: in Chromium, an inline script injected into any console page
// (the app served from /console/static/ included) does not run. The other
// directives are checked on the wire by TestConsoleCSPHeaders.
func TestBrowserConsoleCSPBlocksInlineScript(t *testing.T) {
	e := newEnv(t)
	browser := testpeers.Chromium(t)
	for _, path := range []string{"/console", "/console/static/", "/console/static/index.html", "/console/audit"} {
		tab := testpeers.Tab(t, browser, 30*time.Second)
		testpeers.Run(t, tab, "open "+path, chromedp.Navigate(e.srv.URL+path), chromedp.WaitReady("body"))
		ran, err := chromedp.Run(tab, chromedp.Evaluate[bool](`(() => { const s = document.createElement('script');
			s.textContent = 'window.__inline = true'; document.body.appendChild(s); return window.__inline === true; })()`))
		if err != nil {
			t.Fatalf("%s: evaluate: %v", path, err)
		}
		if ran {
			t.Errorf("%s: an inline script ran (no CSP)", path)
		}
	}
}

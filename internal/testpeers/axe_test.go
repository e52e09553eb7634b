package testpeers

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Axe reports what it should: an unlabelled input and low-contrast text
// are violations, the fixed page has none.
func TestAxeFindsViolations(t *testing.T) {
	page := map[string]string{
		"/bad":  `<!doctype html><html lang="en"><head><title>t</title></head><body><main><p style="color:#aaa;background:#fff">faint text</p><input id="x"></main></body></html>`,
		"/good": `<!doctype html><html lang="en"><head><title>t</title></head><body><main><p style="color:#333;background:#fff">text</p><label for="x">Name</label><input id="x"></main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page[r.URL.Path]))
	}))
	defer srv.Close()
	tab := Tab(t, Chromium(t), 60*time.Second)
	Run(t, tab, "bad page", chromedp.Navigate(srv.URL+"/bad"))
	got := map[string]string{}
	for _, v := range Axe(t, tab) {
		got[v.ID] = v.Impact
	}
	if got["label"] != "critical" || got["color-contrast"] != "serious" {
		t.Fatalf("violations %v, want label (critical) and color-contrast (serious)", got)
	}
	Run(t, tab, "good page", chromedp.Navigate(srv.URL+"/good"))
	if vs := Axe(t, tab); len(vs) != 0 {
		t.Fatalf("violations on the good page: %v", vs)
	}
}

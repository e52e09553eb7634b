package testpeers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumStart bounds the browser's start.
const chromiumStart = time.Minute

// Chromium starts Debian's headless Chromium (/usr/bin/chromium) with a
// fresh profile and the project's flags (--headless --no-sandbox
// --disable-gpu --disable-background-networking --disable-component-update
// --disable-sync --no-first-run) and returns its chromedp context; extra
// options (e.g. chromedp.WindowSize) are applied after those. The browser
// is already running when Chromium returns (a start failure fails the
// test) and is closed at cleanup. New tabs: chromedp.NewContext(ctx).
func Chromium(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
	}, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Bounded: a browser that never comes up fails the test, not the
	// package's whole time budget.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(chromiumStart):
		cancel()
		cancelAlloc()
		t.Fatalf("chromium did not start within %s", chromiumStart)
	}
	return ctx
}

// SaveScreenshot writes png as name into the repository's git-ignored
// .screenshots folder, so a person can look at what the browser tests saw.
func SaveScreenshot(t testing.TB, name string, png []byte) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", ".screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatalf("save screenshot %s: %v", name, err)
	}
}

// Screenshot takes a full-page screenshot of the browser tab ctx and saves it
// as name (see SaveScreenshot).
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	SaveScreenshot(t, name, png)
}

// Tab opens a tab in a fresh browser context (its own cookies and storage,
// like a separate browser profile) of the browser from Chromium, bounded by
// d and closed at cleanup.
func Tab(t testing.TB, browser context.Context, d time.Duration) context.Context {
	t.Helper()
	c, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	c, cancelT := context.WithTimeout(c, d)
	t.Cleanup(cancelT)
	return c
}

// stepTimeout bounds each browser action of Run, well inside a tab's own
// deadline, so a failure can still read the page.
const stepTimeout = time.Minute

// Run runs browser actions in tab c, each within stepTimeout, and fails the
// test with what on error, naming the step that failed and what the page
// showed then (its address and the start of its text).
func Run(t testing.TB, c context.Context, what string, acts ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	// The first Run on a tab binds the tab's life to its context: it runs
	// on c itself, so a step's own timeout does not close the tab.
	if err := chromedp.Do(c); err != nil {
		t.Fatalf("%s: open the tab: %v", what, err)
	}
	for i, a := range acts {
		sc, cancel := context.WithTimeout(c, stepTimeout)
		_, err := chromedp.Run(sc, a)
		cancel()
		if err != nil {
			t.Fatalf("%s: step %d of %d: %v (%s)", what, i+1, len(acts), err, PageState(c))
		}
	}
}

// PageState describes, within a few seconds, the address of tab c and the
// start of its text, for a failure message.
func PageState(c context.Context) string {
	sc, cancel := context.WithTimeout(c, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(sc, chromedp.Location())
	if err != nil {
		return "page not readable: " + err.Error()
	}
	text, err := chromedp.Run(sc, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	if err != nil {
		return "at " + loc + ", text not readable: " + err.Error()
	}
	if r := []rune(strings.Join(strings.Fields(text), " ")); len(r) > 400 {
		text = string(r[:400]) + "…"
	} else {
		text = string(r)
	}
	return fmt.Sprintf("at %s showing %q", loc, text)
}

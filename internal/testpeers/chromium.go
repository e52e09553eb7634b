package testpeers

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

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
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

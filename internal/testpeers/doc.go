// Package testpeers is for tests only: it starts the real peers the wire
// tests talk to (SIPp, baresip, headless Chromium) on 127.0.0.1, plus the
// small harness pieces those tests share: a goroutine-safe output buffer,
// free-port finders and a poll-with-deadline wait.
//
// Production code must not import it. It holds no package state: every
// peer belongs to the test that started it and is stopped by that test's
// t.Cleanup. Its helpers take a testing.TB and fail the test (t.Fatal) on
// setup errors, so they must be called from the test's goroutine. A
// missing tool is a failure, never a skip (.ci/install-deps installs
// sip-tester, baresip-core and chromium).
package testpeers

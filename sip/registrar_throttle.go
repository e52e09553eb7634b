package sip

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// throttle counts failed digest attempts per source IP and per user name in
// token buckets (x/time/rate): burst failures, then one every `every`. The
// table is bounded; fully refilled entries are swept when it is full, and a
// new key that still does not fit is not tracked (fail open: a flood of
// distinct sources must not lock out every honest phone).
type throttle struct {
	burst int
	every rate.Limit
	max   int

	mu      sync.Mutex
	entries map[string]*rate.Limiter
}

func newThrottle(burst int, every time.Duration, max int) *throttle {
	return &throttle{burst: burst, every: rate.Every(every), max: max, entries: map[string]*rate.Limiter{}}
}

func throttleKeys(ip, user string) [2]string {
	return [2]string{"ip\x00" + ip, "user\x00" + user}
}

// throttled reports whether the IP or the user has no failure left.
func (t *throttle) throttled(now time.Time, ip, user string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range throttleKeys(ip, user) {
		if l, ok := t.entries[k]; ok && l.TokensAt(now) < 1 {
			return true
		}
	}
	return false
}

// fail spends one failure of the IP and of the user.
func (t *throttle) fail(now time.Time, ip, user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range throttleKeys(ip, user) {
		l, ok := t.entries[k]
		if !ok {
			if len(t.entries) >= t.max {
				t.sweep(now)
			}
			if len(t.entries) >= t.max {
				continue // table full of active entries: not tracked
			}
			l = rate.NewLimiter(t.every, t.burst)
			t.entries[k] = l
		}
		l.AllowN(now, 1)
	}
}

// sweep drops entries whose bucket is full again.
func (t *throttle) sweep(now time.Time) {
	for k, l := range t.entries {
		if l.TokensAt(now) >= float64(t.burst) {
			delete(t.entries, k)
		}
	}
}

func (t *throttle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

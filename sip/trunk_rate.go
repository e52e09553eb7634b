package sip

import (
	"net/netip"
	"time"

	"golang.org/x/time/rate"
)

// TrunkRate names one trunk's networks for its own calls-per-second
// budget (limits.rate.calls_per_second_per_trunk).
type TrunkRate struct {
	Name string
	Nets []netip.Prefix
}

// trunkLimiter gives every trunk its own token bucket, checked before the
// global MaxCPS one, so a trunk over its share is refused without spending
// the tokens of the others. Sources in no named trunk (the demo's
// 127.0.0.0/8) share one more bucket.
type trunkLimiter struct {
	trunks []TrunkRate
	lims   []*rate.Limiter // one per trunk, then the shared one
}

func newTrunkLimiter(trunks []TrunkRate, perSecond float64, burst int) *trunkLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = max(1, int(perSecond))
	}
	t := &trunkLimiter{trunks: trunks}
	for range len(trunks) + 1 {
		t.lims = append(t.lims, rate.NewLimiter(rate.Limit(perSecond), burst))
	}
	return t
}

// allow takes a token of the trunk src belongs to and returns its name
// ("" for the shared bucket). A nil limiter allows everything.
func (t *trunkLimiter) allow(src netip.Addr, now time.Time) (string, bool) {
	if t == nil {
		return "", true
	}
	for i, tr := range t.trunks {
		if inNets(tr.Nets, src) {
			return tr.Name, t.lims[i].AllowN(now, 1)
		}
	}
	return "", t.lims[len(t.trunks)].AllowN(now, 1)
}

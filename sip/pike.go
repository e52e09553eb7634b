package sip

import (
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"golang.org/x/time/rate"
)

// pike limits SIP requests per source IP, in the style of Kamailio's pike
// module: a token bucket per address (PikeRate, PikeBurst); a request over
// it is dropped without any reply (a reply would be the amplification the
// flood wants) and counted as a `pike` drop. Trunk sources and PikeExempt
// networks are never limited. The table is bounded (maxPikeEntries): when
// it is full, buckets idle long enough to be full again are evicted, and
// if none is, a new source is let through untracked (fail open: a flood
// from that many addresses is not what this guard is for).
type pike struct {
	limit  rate.Limit
	burst  int
	exempt []netip.Prefix
	max    int

	mu sync.Mutex
	m  map[netip.Addr]*pikeEntry
}

type pikeEntry struct {
	lim  *rate.Limiter
	last time.Time
}

const maxPikeEntries = 65536

func newPike(perSecond float64, burst int, exempt []netip.Prefix) *pike {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &pike{limit: rate.Limit(perSecond), burst: burst, exempt: exempt, max: maxPikeEntries,
		m: map[netip.Addr]*pikeEntry{}}
}

// allow takes one token for a. A nil pike allows everything.
func (p *pike) allow(a netip.Addr, now time.Time) bool {
	if p == nil || !a.IsValid() || inNets(p.exempt, a) {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.m[a]
	if e == nil {
		if len(p.m) >= p.max && !p.evict(now) {
			return true
		}
		e = &pikeEntry{lim: rate.NewLimiter(p.limit, p.burst)}
		p.m[a] = e
	}
	e.last = now
	return e.lim.AllowN(now, 1)
}

// evict drops the buckets idle long enough to have refilled; it reports
// whether there is room now.
func (p *pike) evict(now time.Time) bool {
	full := time.Duration(float64(p.burst) / float64(p.limit) * float64(time.Second))
	for a, e := range p.m {
		if now.Sub(e.last) > full {
			delete(p.m, a)
		}
	}
	return len(p.m) < p.max
}

// pikeAllows applies the per-source limit to req: trunks are exempt.
func (s *Service) pikeAllows(req *sip.Request) bool {
	if s.pike == nil {
		return true
	}
	a := sourceAddr(req.Source())
	if inNets(s.opts.Trunks, a) {
		return true
	}
	if s.pike.allow(a, time.Now()) {
		return true
	}
	s.drops.add(DropPike)
	return false
}

// guarded wraps a request handler with the per-source limit.
func (s *Service) guarded(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if !s.pikeAllows(req) {
			return
		}
		next(req, tx)
	}
}

// noRoute answers methods nobody handles (sipgo's default, behind the
// per-source limit).
func (s *Service) noRoute(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil))
}

package console

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in guard. Every POST /api/login passes, in order:
//
//  1. a per-source token bucket (Options.LoginsPerMinute per address);
//  2. the (source, account) lockout: LockAfter failures of one account
//     from one address within LockFor stop that address for that account
//     for LockFor. Another address, the real user's, is not affected;
//  3. the account lockout: 4×LockAfter failures of one account from any
//     addresses within LockFor stop every address that has not signed in
//     as that account successfully within the session TTL (a known-good
//     source keeps working);
//  4. a semaphore bounding concurrent argon2id hashes (HashSlots, 19 MiB
//     each); a sign-in finding no free slot is answered 503 at once.
//
// Unknown and known usernames take the same path (the same counters, the
// same hash, no store write on failure), so the answer and its time do not
// tell whether an account exists. State is in memory and bounded; a restart
// forgets it.

// guardMaxKeys bounds each table of the guard; a full table is pruned of
// expired entries, then refuses new keys (the attempt is throttled).
const guardMaxKeys = 100000

type failRec struct {
	n     int
	first time.Time // start of the counting window
	until time.Time // locked until (zero: not locked)
}

type loginGuard struct {
	perMin    int
	lockAfter int
	lockFor   time.Duration
	goodFor   time.Duration

	slots  chan struct{} // argon2id hashes in flight
	hashes atomic.Int64  // hashes run (tests compare the work per answer)

	mu    sync.Mutex
	ip    map[string]*rate.Limiter
	pair  map[[2]string]*failRec // (source, account)
	acct  map[string]*failRec    // account, any source
	known map[[2]string]time.Time
}

func newLoginGuard(o Options) *loginGuard {
	return &loginGuard{
		perMin: o.LoginsPerMinute, lockAfter: o.LockAfter, lockFor: o.LockFor, goodFor: o.SessionTTL,
		slots: make(chan struct{}, o.HashSlots),
		ip:    make(map[string]*rate.Limiter), pair: make(map[[2]string]*failRec),
		acct: make(map[string]*failRec), known: make(map[[2]string]time.Time),
	}
}

// sourceOf is the request's source address (the TCP peer; onecall trusts
// no forwarding header).
func sourceOf(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// allowSource takes one token of src's bucket; on refusal it returns the
// wait.
func (g *loginGuard) allowSource(src string, now time.Time) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.ip[src]
	if l == nil {
		if len(g.ip) >= guardMaxKeys {
			for k, v := range g.ip {
				if v.TokensAt(now) >= float64(g.perMin) {
					delete(g.ip, k)
				}
			}
			if len(g.ip) >= guardMaxKeys {
				return time.Minute, false
			}
		}
		l = rate.NewLimiter(rate.Limit(float64(g.perMin)/60), g.perMin)
		g.ip[src] = l
	}
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// locked reports whether src may not try account now, and for how long.
func (g *loginGuard) locked(src, account string, now time.Time) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.pair[[2]string{src, account}]; f != nil && now.Before(f.until) {
		return f.until.Sub(now), true
	}
	if f := g.acct[account]; f != nil && now.Before(f.until) {
		if t, ok := g.known[[2]string{src, account}]; ok && now.Sub(t) < g.goodFor {
			return 0, false
		}
		return f.until.Sub(now), true
	}
	return 0, false
}

// count adds one failure to f (a window of lockFor) and locks it at max.
func (g *loginGuard) count(f *failRec, max int, now time.Time) {
	if now.Sub(f.first) >= g.lockFor {
		f.n, f.first = 0, now
	}
	f.n++
	if f.n >= max {
		f.until, f.n, f.first = now.Add(g.lockFor), 0, now
	}
}

// failed records a failed sign-in of account from src; it reports whether
// src is now locked out of account.
func (g *loginGuard) failed(src, account string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pruneLocked(now)
	k := [2]string{src, account}
	p := g.pair[k]
	if p == nil {
		if len(g.pair) >= guardMaxKeys {
			return true
		}
		p = &failRec{first: now}
		g.pair[k] = p
	}
	g.count(p, g.lockAfter, now)
	a := g.acct[account]
	if a == nil {
		if len(g.acct) >= guardMaxKeys {
			return true
		}
		a = &failRec{first: now}
		g.acct[account] = a
	}
	g.count(a, 4*g.lockAfter, now)
	return now.Before(p.until)
}

// succeeded makes src a known-good source of account and clears its
// (source, account) failures.
func (g *loginGuard) succeeded(src, account string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := [2]string{src, account}
	delete(g.pair, k)
	if len(g.known) >= guardMaxKeys {
		g.pruneLocked(now)
	}
	if len(g.known) < guardMaxKeys {
		g.known[k] = now
	}
}

// reset forgets every failure and lock of account (an admin set a new
// password).
func (g *loginGuard) reset(account string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.acct, account)
	for k := range g.pair {
		if k[1] == account {
			delete(g.pair, k)
		}
	}
}

// accountLocked reports whether account is locked for unknown sources.
func (g *loginGuard) accountLocked(account string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.acct[account]
	return f != nil && now.Before(f.until)
}

// pruneLocked drops expired entries when a table is over half full.
func (g *loginGuard) pruneLocked(now time.Time) {
	if len(g.pair) > guardMaxKeys/2 {
		for k, f := range g.pair {
			if now.After(f.until) && now.Sub(f.first) >= g.lockFor {
				delete(g.pair, k)
			}
		}
	}
	if len(g.acct) > guardMaxKeys/2 {
		for k, f := range g.acct {
			if now.After(f.until) && now.Sub(f.first) >= g.lockFor {
				delete(g.acct, k)
			}
		}
	}
	if len(g.known) > guardMaxKeys/2 {
		for k, t := range g.known {
			if now.Sub(t) >= g.goodFor {
				delete(g.known, k)
			}
		}
	}
}

// hash runs f holding one hash slot; ok is false, without running f, when
// every slot is taken.
func (g *loginGuard) hash(f func()) bool {
	select {
	case g.slots <- struct{}{}:
	default:
		return false
	}
	defer func() { <-g.slots }()
	g.hashes.Add(1)
	f()
	return true
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	s := int(d / time.Second)
	if d%time.Second != 0 || s == 0 {
		s++
	}
	w.Header().Set("Retry-After", strconv.Itoa(s))
}

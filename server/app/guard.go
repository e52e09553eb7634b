package app

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The HTTP listener's guards against one source taking the server: a
// per-address request rate (limits.rate.http_per_second, WebSocket
// upgrades included; beyond it 429) and a per-address cap on open
// connections (limits.connections_per_source; beyond it the connection is
// closed at accept). The address is the TCP peer's. Tables are bounded.

const guardMaxSources = 100000

// rateGuard is the per-source request rate.
type rateGuard struct {
	perSec float64
	burst  int
	now    func() time.Time

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newRateGuard(perSec int) *rateGuard {
	return &rateGuard{perSec: float64(perSec), burst: perSec, now: time.Now, m: make(map[string]*rate.Limiter)}
}

func (g *rateGuard) allow(src string) bool {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.m[src]
	if l == nil {
		if len(g.m) >= guardMaxSources {
			for k, v := range g.m {
				if v.TokensAt(now) >= float64(g.burst) {
					delete(g.m, k)
				}
			}
			if len(g.m) >= guardMaxSources {
				return false
			}
		}
		l = rate.NewLimiter(rate.Limit(g.perSec), g.burst)
		g.m[src] = l
	}
	return l.AllowN(now, 1)
}

func (g *rateGuard) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			src = r.RemoteAddr
		}
		if !g.allow(src) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "too many requests from this address", http.StatusTooManyRequests)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// capListener closes connections beyond max open ones per source address.
type capListener struct {
	net.Listener
	max int

	mu   sync.Mutex
	open map[string]int
}

func newCapListener(ln net.Listener, max int) *capListener {
	return &capListener{Listener: ln, max: max, open: make(map[string]int)}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src, _, err := net.SplitHostPort(c.RemoteAddr().String())
		if err != nil {
			src = c.RemoteAddr().String()
		}
		l.mu.Lock()
		if l.open[src] >= l.max || (l.open[src] == 0 && len(l.open) >= guardMaxSources) {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.open[src]++
		l.mu.Unlock()
		return &capConn{Conn: c, l: l, src: src}, nil
	}
}

func (l *capListener) release(src string) {
	l.mu.Lock()
	if l.open[src]--; l.open[src] <= 0 {
		delete(l.open, src)
	}
	l.mu.Unlock()
}

// capConn gives its slot back once, at the first Close (a hijacked
// WebSocket closes this same conn).
type capConn struct {
	net.Conn
	l    *capListener
	src  string
	once sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.src) })
	return err
}

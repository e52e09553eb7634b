package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// TCP and TLS connection limits (sip.tcp). sipgo accepts every connection
// and keeps it until the peer closes it, so the Service owns its
// listeners: accepted connections over the total cap or the per-source
// cap are closed at once (tcp_total, tcp_per_source drops), a connection
// that sends nothing for IdleTimeout is closed (tcp_idle), and the total
// cap leaves FDReserve descriptors of the process limit to HTTP, the
// console, the store and RTP sockets.

// TCPLimits bounds SIP over TCP/TLS. Zero values get the defaults noted.
type TCPLimits struct {
	IdleTimeout    time.Duration // default 2 min
	MaxConnections int           // default 10000 (and at most the descriptor limit minus FDReserve)
	MaxPerSource   int           // per source IP, default 200
	FDReserve      int           // default 1024
}

func (l *TCPLimits) defaults() {
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 2 * time.Minute
	}
	if l.MaxConnections <= 0 {
		l.MaxConnections = 10000
	}
	if l.MaxPerSource <= 0 {
		l.MaxPerSource = 200
	}
	if l.FDReserve <= 0 {
		l.FDReserve = 1024
	}
}

// capTotal lowers max to what the descriptor limit nofile leaves after the
// reserve (at least 1).
func capTotal(limit, nofile, reserve int) int {
	if nofile > 0 && nofile-reserve < limit {
		limit = nofile - reserve
	}
	return max(limit, 1)
}

// nofileLimit is the process's soft descriptor limit (0 if unknown).
func nofileLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}

// connLimiter counts open accepted connections in total and per source
// (shared by the TCP and TLS listeners).
type connLimiter struct {
	maxTotal, maxPerSource int
	idle                   time.Duration
	drops                  *dropCounters

	mu    sync.Mutex
	total int
	per   map[netip.Addr]int
}

func newConnLimiter(l TCPLimits, drops *dropCounters) *connLimiter {
	return &connLimiter{maxTotal: capTotal(l.MaxConnections, nofileLimit(), l.FDReserve),
		maxPerSource: l.MaxPerSource, idle: l.IdleTimeout, drops: drops, per: map[netip.Addr]int{}}
}

func (c *connLimiter) acquire(a netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= c.maxTotal {
		c.drops.add(DropTCPTotal)
		return false
	}
	if c.per[a] >= c.maxPerSource {
		c.drops.add(DropTCPPerSource)
		return false
	}
	c.total++
	c.per[a]++
	return true
}

func (c *connLimiter) release(a netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.per[a]--; c.per[a] <= 0 {
		delete(c.per, a)
	}
}

// limitListener applies the connLimiter at accept.
type limitListener struct {
	net.Listener
	lim *connLimiter
}

func (l *limitListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			// Out of descriptors (EMFILE/ENFILE) is temporary: sipgo
			// would stop serving TCP for good on any error, so wait and
			// retry as net/http does.
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return nil, err
		}
		backoff = 0
		a := sourceAddr(c.RemoteAddr().String())
		if !l.lim.acquire(a) {
			c.Close()
			continue
		}
		return &limitConn{Conn: c, lim: l.lim, src: a}, nil
	}
}

// limitConn releases its slot once on Close and closes itself when idle.
type limitConn struct {
	net.Conn
	lim  *connLimiter
	src  netip.Addr
	once sync.Once
}

func (c *limitConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.lim.idle)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.lim.drops.add(DropTCPIdle)
	}
	return n, err
}

func (c *limitConn) Close() error {
	c.once.Do(func() { c.lim.release(c.src) })
	return c.Conn.Close()
}

// serve opens the listeners itself (instead of diago's ServeBackground)
// and serves them on the sipgo server until ctx ends.
func (s *Service) serve(ctx context.Context, udp, tcp, tlsAddr string) error {
	s.dg.HandleFunc(s.serveCall)
	var closers []func() error
	fail := func(err error) error {
		for _, c := range closers {
			_ = c()
		}
		return err
	}
	if udp != "" {
		pc, err := net.ListenPacket("udp", udp)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, pc.Close)
		go func() { _ = s.srv.ServeUDP(pc) }()
		// sipgo registers the socket for outgoing requests inside
		// ServeUDP: wait for it, or a request sent right after Start
		// would try to bind the port a second time.
		tl, key := s.srv.TransportLayer(), pc.LocalAddr().String()
		if !waitUntil(5*time.Second, func() bool { c, err := tl.GetConnection("udp", key); return err == nil && c != nil }) {
			return fail(errors.New("sip: UDP listener not registered by sipgo"))
		}
	}
	for _, l := range []struct {
		addr string
		tls  bool
	}{{tcp, false}, {tlsAddr, true}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, ln.Close)
		var lim net.Listener = &limitListener{Listener: ln, lim: s.conns}
		network := "tcp"
		if l.tls {
			network = "tls"
			go func() { _ = s.srv.ServeTLS(tls.NewListener(lim, s.opts.TLSConfig)) }()
		} else {
			go func() { _ = s.srv.ServeTCP(lim) }()
		}
		tl := s.srv.TransportLayer()
		// ListenPorts takes sipgo's lock; GetListenPort reads without it
		// and races with ServeTCP's registration.
		if !waitUntil(5*time.Second, func() bool { return len(tl.ListenPorts(network)) > 0 }) {
			return fail(errors.New("sip: " + network + " listener not registered by sipgo"))
		}
	}
	go func() {
		<-ctx.Done()
		for _, c := range closers {
			_ = c()
		}
	}()
	return nil
}

// waitUntil polls cond every millisecond until it holds or d passes.
func waitUntil(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

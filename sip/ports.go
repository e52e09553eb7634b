package sip

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// errNoPorts means every RTP port pair is in use or in quarantine: the
// INVITE is answered 503 with Retry-After.
var errNoPorts = errors.New("sip: no free RTP port pair")

// portPool hands out RTP port pairs (an even RTP port, RTCP on the next
// one) from the configured range. It replaces diago's allocator, which scans
// from its last position to the end of the range and never wraps around.
//
// The free pairs form a FIFO ring over the whole range, so take and release
// are O(1) and the pair that has been free the longest is reused first. A
// released pair waits out the quarantine before it is handed out again, so
// a stream still aimed at an ended call cannot land in the next call on that
// port. Because the ring is in release order, a quarantined pair at the head
// means every free pair is quarantined.
//
// Safe for concurrent use.
type portPool struct {
	base       int // first RTP port (even)
	quarantine time.Duration
	now        func() time.Time

	mu      sync.Mutex
	ring    []int32 // free pair indices, FIFO; len = number of pairs
	head, n int
	freedAt []int64 // per pair: when it was released (UnixNano), 0 = never used
	busy    []bool
	// bindFailed counts pairs skipped because another process holds a port.
	bindFailed uint64
}

// newPortPool covers the pairs (p, p+1) with min <= p and p+1 <= max,
// p even.
func newPortPool(min, max int, quarantine time.Duration, now func() time.Time) (*portPool, error) {
	base := min + min%2
	pairs := (max - base + 1) / 2
	if min < 1 || max > 65535 || pairs < 1 {
		return nil, fmt.Errorf("sip: RTP port range %d-%d holds no even/odd port pair", min, max)
	}
	if now == nil {
		now = time.Now
	}
	p := &portPool{base: base, quarantine: quarantine, now: now,
		ring: make([]int32, pairs), n: pairs, freedAt: make([]int64, pairs), busy: make([]bool, pairs)}
	for i := range p.ring {
		p.ring[i] = int32(i)
	}
	return p, nil
}

// pairs is the size of the range in port pairs.
func (p *portPool) pairs() int { return len(p.ring) }

// port is pair i's RTP port.
func (p *portPool) port(i int) int { return p.base + 2*i }

// startAt rotates the free ring so pair k is handed out first. Two
// processes (or two services in one process) sharing a range then do not
// walk the same ports from its bottom. Call before the first take.
func (p *portPool) startAt(k int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k %= len(p.ring)
	if k < 0 {
		k += len(p.ring)
	}
	for i := range p.ring {
		p.ring[i] = int32((i + k) % len(p.ring))
	}
}

// take reserves the pair free the longest, unless it is still quarantined.
func (p *portPool) take() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return -1, errNoPorts
	}
	i := int(p.ring[p.head])
	if at := p.freedAt[i]; at != 0 && p.now().UnixNano()-at < int64(p.quarantine) {
		return -1, errNoPorts
	}
	p.head = (p.head + 1) % len(p.ring)
	p.n--
	p.busy[i] = true
	return i, nil
}

// ready reports whether take would succeed now.
func (p *portPool) ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return false
	}
	at := p.freedAt[p.ring[p.head]]
	return at == 0 || p.now().UnixNano()-at >= int64(p.quarantine)
}

// release returns pair i; it is reused after the quarantine. Releasing a
// pair that is not taken does nothing.
func (p *portPool) release(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i < 0 || i >= len(p.busy) || !p.busy[i] {
		return
	}
	p.busy[i] = false
	p.freedAt[i] = p.now().UnixNano()
	p.ring[(p.head+p.n)%len(p.ring)] = int32(i)
	p.n++
}

// counts returns the pairs in use, free (quarantined or not) and the bind
// failures so far.
func (p *portPool) counts() (busy, free int, bindFailed uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ring) - p.n, p.n, p.bindFailed
}

// maxBindTries bounds the pairs one listen tries when other processes hold
// ports in the range (each skipped pair costs two failed binds).
const maxBindTries = 64

// listen binds an RTP/RTCP socket pair on ip from the pool. A pair whose
// ports another process holds goes back to the ring (behind the
// quarantine) and the next one is tried.
func (p *portPool) listen(ip net.IP) (rtp, rtcp *net.UDPConn, idx int, err error) {
	for try := 0; try < maxBindTries; try++ {
		i, err := p.take()
		if err != nil {
			return nil, nil, -1, err
		}
		rtp, rtcp, err := bindPair(ip, p.port(i))
		if err == nil {
			return rtp, rtcp, i, nil
		}
		p.mu.Lock()
		p.bindFailed++
		p.mu.Unlock()
		p.release(i)
	}
	return nil, nil, -1, errNoPorts
}

// bindPair binds port (RTP) and port+1 (RTCP) on ip.
func bindPair(ip net.IP, port int) (*net.UDPConn, *net.UDPConn, error) {
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, nil, err
	}
	rtcp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port + 1})
	if err != nil {
		_ = rtp.Close()
		return nil, nil, err
	}
	return rtp, rtcp, nil
}

// listenEphemeral binds a pair without a configured range (tests, port 0):
// the kernel picks the RTP port, RTCP takes the next one.
func listenEphemeral(ip net.IP) (*net.UDPConn, *net.UDPConn, error) {
	var lastErr error
	for try := 0; try < 20; try++ {
		rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return nil, nil, err
		}
		port := rtp.LocalAddr().(*net.UDPAddr).Port
		if port%2 == 0 && port < 65535 {
			rtcp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port + 1})
			if err == nil {
				return rtp, rtcp, nil
			}
			lastErr = err
		}
		_ = rtp.Close()
	}
	if lastErr == nil {
		lastErr = errors.New("no even port")
	}
	return nil, nil, fmt.Errorf("%w: %v", errNoPorts, lastErr)
}

// String describes the range for logs.
func (p *portPool) String() string {
	return strconv.Itoa(p.base) + "-" + strconv.Itoa(p.port(len(p.ring)-1)+1)
}

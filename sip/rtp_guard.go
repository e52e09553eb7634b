package sip

import (
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/emiago/diago/media"
)

// The RTP source guard. Every call leg's RTP and RTCP sockets come from
// rtpMedia.listen (diago's MediaConfig.RTPListen hook, see
// third_party/diago/ONECALL.md) and are wrapped in a guardedConn that
// returns to diago only the packets from the address and port the peer's SDP
// names (RTCP: the next port, as diago sends it). diago tells the socket the
// negotiated address on every offer/answer (media.RemoteAddrSetter), so a
// re-INVITE that moves the media moves the filter with it. Everything else
// (a stranger's RTP, RFC 4733 DTMF or RTCP) is dropped and counted.
//
// Symmetric RTP (latch mode, for phones behind NAT whose SDP names a
// private address): the first RTP packet after an offer/answer latches the
// leg onto its source address and SSRC; later packets from another source
// or with another SSRC are dropped, and our RTP and RTCP go to the latched
// addresses. A new SDP address releases the latch; a renegotiation to the
// same address keeps the address and re-locks the SSRC (phones start a new
// stream after hold).

// dropReason says why a packet was dropped.
type dropReason uint8

const (
	dropSource     dropReason = iota // RTP from an address:port other than the peer's
	dropRTCPSource                   // RTCP from an address:port other than the peer's
	dropSSRC                         // latch mode: another SSRC from the latched source
	dropNoPeer                       // before the offer/answer named the peer
	dropNotRTP                       // latch mode: not an RTP v2 packet
	numRTPDrops
)

func (r dropReason) String() string {
	switch r {
	case dropSource:
		return "source"
	case dropRTCPSource:
		return "rtcp_source"
	case dropSSRC:
		return "ssrc"
	case dropNoPeer:
		return "no_peer"
	case dropNotRTP:
		return "not_rtp"
	default:
	}
	return "unknown"
}

// rtpMedia owns a Service's RTP sockets: the port pool, the guard's mode and
// the drop counters.
type rtpMedia struct {
	pool  *portPool // nil: kernel-chosen ports (no range configured)
	latch bool
	log   *slog.Logger
	drops [numRTPDrops]atomic.Uint64
	// exhausted counts listens refused for want of a port pair.
	exhausted atomic.Uint64
	open      atomic.Int64 // pairs bound now
}

// listen is diago's RTPListen hook: a guarded RTP/RTCP pair on laddr's IP.
func (m *rtpMedia) listen(laddr *net.UDPAddr) (net.PacketConn, net.PacketConn, error) {
	var (
		rtp, rtcp *net.UDPConn
		idx       = -1
		err       error
	)
	if m.pool != nil {
		rtp, rtcp, idx, err = m.pool.listen(laddr.IP)
	} else {
		rtp, rtcp, err = listenEphemeral(laddr.IP)
	}
	if err != nil {
		m.exhausted.Add(1)
		return nil, nil, err
	}
	m.open.Add(1)
	p := &rtpPair{m: m, idx: idx}
	p.rtp = &guardedConn{UDPConn: rtp, p: p}
	p.rtcp = &guardedConn{UDPConn: rtcp, p: p, rtcp: true}
	p.rtp.initSend()
	return p.rtp, p.rtcp, nil
}

// ready reports whether a port pair is available now (before answering).
func (m *rtpMedia) ready() bool { return m.pool == nil || m.pool.ready() }

func (m *rtpMedia) drop(r dropReason) { m.drops[r].Add(1) }

// peerAddrs is the negotiated remote media; the *net.UDPAddr values are
// handed back to diago with every accepted packet (no allocation per read).
type peerAddrs struct {
	rtp, rtcp         netip.AddrPort
	rtpAddr, rtcpAddr *net.UDPAddr
}

// latchState is latch mode's locked source.
type latchState struct {
	src     netip.AddrPort
	srcAddr *net.UDPAddr
	ssrc    uint32
	ssrcSet bool
}

// rtpPair is one leg's guarded sockets.
type rtpPair struct {
	m         *rtpMedia
	idx       int // pool index, -1 for an ephemeral pair
	rtp, rtcp *guardedConn

	peer      atomic.Pointer[peerAddrs]
	latched   atomic.Pointer[latchState]
	rtcpLatch atomic.Pointer[net.UDPAddr]
	warned    atomic.Bool // one log line per leg for foreign packets

	closeOnce sync.Once
}

func (p *rtpPair) close() error {
	var err error
	p.closeOnce.Do(func() {
		e1 := p.rtp.UDPConn.Close()
		e2 := p.rtcp.UDPConn.Close()
		if p.idx >= 0 && p.m.pool != nil {
			p.m.pool.release(p.idx)
		}
		p.m.open.Add(-1)
		if e1 != nil {
			err = e1
		} else {
			err = e2
		}
	})
	return err
}

// setRemote takes the addresses of a new offer/answer.
func (p *rtpPair) setRemote(rtp, rtcp net.UDPAddr) {
	pa := &peerAddrs{rtp: unmapAP(rtp.AddrPort()), rtcp: unmapAP(rtcp.AddrPort())}
	pa.rtpAddr = net.UDPAddrFromAddrPort(pa.rtp)
	pa.rtcpAddr = net.UDPAddrFromAddrPort(pa.rtcp)
	old := p.peer.Swap(pa)
	if !p.m.latch {
		return
	}
	if old == nil || old.rtp != pa.rtp {
		p.latched.Store(nil)
		p.rtcpLatch.Store(nil)
		return
	}
	if l := p.latched.Load(); l != nil {
		p.latched.Store(&latchState{src: l.src, srcAddr: l.srcAddr})
	}
}

// accept decides one received packet; it returns the address to report.
func (p *rtpPair) accept(rtcp bool, src netip.AddrPort, pkt []byte) (*net.UDPAddr, bool) {
	src = unmapAP(src)
	pa := p.peer.Load()
	if pa == nil {
		p.reject(dropNoPeer, src)
		return nil, false
	}
	if rtcp {
		if src == pa.rtcp {
			return pa.rtcpAddr, true
		}
		if p.m.latch {
			if l := p.latched.Load(); l != nil && src.Addr() == l.src.Addr() {
				if a := p.rtcpLatch.Load(); a != nil && unmapAP(a.AddrPort()) == src {
					return a, true
				}
				if p.rtcpLatch.Load() == nil {
					a := net.UDPAddrFromAddrPort(src)
					if p.rtcpLatch.CompareAndSwap(nil, a) {
						return a, true
					}
				}
			}
		}
		p.reject(dropRTCPSource, src)
		return nil, false
	}
	if !p.m.latch {
		if src == pa.rtp {
			return pa.rtpAddr, true
		}
		p.reject(dropSource, src)
		return nil, false
	}
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		p.reject(dropNotRTP, src)
		return nil, false
	}
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	for {
		l := p.latched.Load()
		if l == nil {
			nl := &latchState{src: src, srcAddr: net.UDPAddrFromAddrPort(src), ssrc: ssrc, ssrcSet: true}
			if p.latched.CompareAndSwap(nil, nl) {
				if src != pa.rtp {
					p.m.log.Info("RTP latched onto a source other than the SDP's", "sdp", pa.rtp.String(), "source", src.String())
				}
				return nl.srcAddr, true
			}
			continue
		}
		if src != l.src {
			p.reject(dropSource, src)
			return nil, false
		}
		if !l.ssrcSet {
			nl := &latchState{src: l.src, srcAddr: l.srcAddr, ssrc: ssrc, ssrcSet: true}
			if !p.latched.CompareAndSwap(l, nl) {
				continue
			}
			return nl.srcAddr, true
		}
		if ssrc != l.ssrc {
			p.reject(dropSSRC, src)
			return nil, false
		}
		return l.srcAddr, true
	}
}

func (p *rtpPair) reject(r dropReason, src netip.AddrPort) {
	p.m.drop(r)
	if !p.warned.Swap(true) {
		p.m.log.Warn("foreign media dropped", "reason", r.String(), "source", src.String(),
			"local", p.rtp.LocalAddr().String())
	}
}

// writeTarget is where our RTP (or RTCP) goes: the latched source in latch
// mode, else diago's choice (the SDP's address).
func (p *rtpPair) writeTarget(rtcp bool) (netip.AddrPort, bool) {
	if !p.m.latch {
		return netip.AddrPort{}, false
	}
	if rtcp {
		if a := p.rtcpLatch.Load(); a != nil {
			return unmapAP(a.AddrPort()), true
		}
		return netip.AddrPort{}, false
	}
	if l := p.latched.Load(); l != nil {
		return l.src, true
	}
	return netip.AddrPort{}, false
}

func unmapAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// guardedConn is the net.PacketConn diago reads RTP or RTCP from.
type guardedConn struct {
	*net.UDPConn
	p    *rtpPair
	rtcp bool
	// snd sends without the net package (sendNow, RTP socket only); nil:
	// through the net package.
	snd *sender
}

var _ media.RemoteAddrSetter = (*guardedConn)(nil)

// ReadFrom returns the next packet from the negotiated peer; other packets
// are dropped and counted. Deadlines and close behave as on the socket.
func (c *guardedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if rtpGuardOff {
		return c.UDPConn.ReadFrom(b)
	}
	for {
		n, src, err := c.UDPConn.ReadFromUDPAddrPort(b)
		if err != nil {
			return n, nil, err
		}
		if a, ok := c.p.accept(c.rtcp, src, b[:n]); ok {
			return n, a, nil
		}
	}
}

// WriteTo sends to the latched source in latch mode, else to addr.
func (c *guardedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ap, ok := c.p.writeTarget(c.rtcp)
	if !ok {
		ua, isUDP := addr.(*net.UDPAddr)
		if !isUDP || c.snd == nil {
			return c.UDPConn.WriteTo(b, addr)
		}
		ap = ua.AddrPort()
	}
	if c.snd != nil {
		if n, err, done := c.sendNow(b, ap); done {
			return n, err
		}
	}
	return c.UDPConn.WriteToUDPAddrPort(b, ap)
}

// SetRemoteAddr is called by diago on every offer/answer (RTP socket only).
func (c *guardedConn) SetRemoteAddr(rtp, rtcp net.UDPAddr) { c.p.setRemote(rtp, rtcp) }

// Close closes both sockets of the pair and returns the pair to the pool.
func (c *guardedConn) Close() error { return c.p.close() }

// newRTPMedia builds the port pool for Options.RTPPorts ([min, max]; zero:
// kernel-chosen ports).
func newRTPMedia(o Options) (*rtpMedia, error) {
	m := &rtpMedia{latch: o.RTPSymmetric, log: o.Logger.With("component", "rtp")}
	if rtpGuardOff {
		m.log.Warn("benchmark build (onecall_noguard): the RTP source check is off; not for service")
	}
	if o.RTPPorts == [2]int{} {
		return m, nil
	}
	p, err := newPortPool(o.RTPPorts[0], o.RTPPorts[1], o.RTPQuarantine, nil)
	if err != nil {
		return nil, err
	}
	// Start at a random pair: services sharing the range (a restart while
	// the old process drains, tests in parallel) do not collide pair by pair.
	p.startAt(rand.IntN(p.pairs()))
	m.pool = p
	return m, nil
}

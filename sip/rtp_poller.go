//go:build linux

package sip

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
)

// rtpPoller reads the RTP of many legs from one goroutine, as a media relay
// does (issue 14): the legs' sockets are in one epoll set (level-triggered),
// whose own descriptor waits in Go's network poller; when any of them has a
// packet the poller wakes, takes every ready socket (epoll_wait without
// blocking), reads one packet from each, handles it inline (the leg's pump
// work: counters, DTMF, recording, relaying to the peer) and goes round
// again until no socket is ready. Under load a wake-up serves a batch of
// packets, where a goroutine per leg paid a park, a wake-up and a failed
// read (EAGAIN) for every packet. A socket is read without blocking and
// through its net.UDPConn's descriptor reference (RawConn.Control), so a
// leg that closes during a batch is never read by number.
//
// Concurrency: add and remove are called by any goroutine; run is the only
// reader of the registered sockets; the slots' generations keep an event
// fetched before a remove from reaching the slot's next leg.
type rtpPoller struct {
	epfd int
	file *os.File
	rc   syscall.RawConn

	mu      sync.Mutex
	slots   []pollSlot
	free    []int32
	running bool // run has started and not ended: add registers
	legs    atomic.Int64
}

type pollSlot struct {
	l   *diagoLeg
	gen int32
}

// pollBatch epoll events are taken per epoll_wait.
const pollBatch = 128

func newRTPPoller() (*rtpPoller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	// A non-blocking descriptor: os.NewFile puts it in Go's poller.
	f := os.NewFile(uintptr(fd), "rtp-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &rtpPoller{epfd: fd, file: f, rc: rc}, nil
}

// add registers l's RTP socket; false when the poller does not run (the
// leg then reads from its own goroutine).
func (p *rtpPoller) add(l *diagoLeg) bool {
	p.mu.Lock()
	if !p.running {
		p.mu.Unlock()
		return false
	}
	var idx int32
	if n := len(p.free); n > 0 {
		idx = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		idx = int32(len(p.slots))
		p.slots = append(p.slots, pollSlot{})
	}
	s := &p.slots[idx]
	s.gen++
	s.l = l
	gen := s.gen
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: idx, Pad: gen}
	var cerr error
	err := l.rtpRC.Control(func(fd uintptr) {
		cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		p.release(idx, gen)
		return false
	}
	p.legs.Add(1)
	context.AfterFunc(l.ctx, func() { p.remove(l, idx, gen) })
	return true
}

// remove takes l's socket out of the set (a closed socket has left it
// already) and frees its slot.
func (p *rtpPoller) remove(l *diagoLeg, idx, gen int32) {
	_ = l.rtpRC.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
	if p.release(idx, gen) {
		p.legs.Add(-1)
		close(l.done)
	}
}

func (p *rtpPoller) release(idx, gen int32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.slots[idx]
	if s.gen != gen || s.l == nil {
		return false
	}
	s.l = nil
	p.free = append(p.free, idx)
	return true
}

// run serves the registered sockets until ctx ends.
func (p *rtpPoller) run(ctx context.Context) {
	p.mu.Lock()
	p.running = true
	p.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.running = false
		p.mu.Unlock()
		_ = p.file.Close() // ends the wait below
	})
	defer stop()
	events := make([]syscall.EpollEvent, pollBatch)
	batch := make([]*diagoLeg, 0, pollBatch)
	rd := newPollReader()
	for {
		err := p.rc.Read(func(fd uintptr) bool {
			for {
				n := epollWaitNow(int(fd), events)
				if n <= 0 {
					return false // nothing ready: wait in Go's poller
				}
				batch = batch[:0]
				p.mu.Lock()
				for _, ev := range events[:n] {
					if int(ev.Fd) < len(p.slots) {
						if s := p.slots[ev.Fd]; s.gen == ev.Pad && s.l != nil {
							batch = append(batch, s.l)
						}
					}
				}
				p.mu.Unlock()
				for _, l := range batch {
					l.pollRead(rd)
				}
				clear(batch)
			}
		})
		if err != nil {
			return
		}
	}
}

// epollWaitNow takes the ready events without blocking (EINTR: none).
func epollWaitNow(epfd int, events []syscall.EpollEvent) int {
	r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0
	}
	return int(r)
}

// recvNow reads one datagram without blocking: syscall.Recvfrom without
// its per-packet allocation of the source address.
func recvNow(fd int, b []byte) (int, netip.AddrPort, error) {
	var rsa syscall.RawSockaddrAny
	size := uint32(syscall.SizeofSockaddrAny)
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd),
		uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MSG_DONTWAIT,
		uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&size)))
	if e != 0 {
		return 0, netip.AddrPort{}, e
	}
	var ap netip.AddrPort
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		pp := (*[2]byte)(unsafe.Pointer(&sa.Port))
		ap = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(pp[0])<<8|uint16(pp[1]))
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		pp := (*[2]byte)(unsafe.Pointer(&sa.Port))
		ap = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(pp[0])<<8|uint16(pp[1]))
	}
	return int(r), ap, nil
}

// pollReader is a poller's scratch for one read; fn (recv) is bound once,
// so that a read allocates nothing.
type pollReader struct {
	buf []byte
	n   int
	src netip.AddrPort
	err error
	fn  func(fd uintptr)
}

func newPollReader() *pollReader {
	r := &pollReader{buf: make([]byte, media.RTPBufSize)}
	r.fn = r.recv
	return r
}

func (r *pollReader) recv(fd uintptr) { r.n, r.src, r.err = recvNow(int(fd), r.buf) }

// pollRead reads and handles one packet of l (the poller's goroutine): the
// source check, the RTP header, diago's read statistics, then the pump's
// work.
func (l *diagoLeg) pollRead(rd *pollReader) {
	if err := l.rtpRC.Control(rd.fn); err != nil || rd.err != nil {
		return // closed (remove follows with the leg's end) or nothing there
	}
	l.handle(rd)
}

// handle takes the packet rd read: the source check, the RTP header,
// diago's read statistics, then the pump's work.
func (l *diagoLeg) handle(rd *pollReader) {
	buf, n := rd.buf, rd.n
	var from net.Addr
	if !rtpGuardOff {
		a, ok := l.rtpPair.accept(false, rd.src, buf[:n])
		if !ok {
			return
		}
		from = a
	}
	pkt := &l.inPkt
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		return
	}
	size := len(pkt.Payload)
	if rs, ok := l.med.RTPPacketReader.Reader().(*media.RTPSession); ok {
		if size = rs.ObserveRTP(pkt, n, from); size < 0 {
			return
		}
	}
	l.onRTP(&pkt.Header, pkt.Payload[:size])
}

// pollable returns the leg's guarded RTP socket and its RawConn, or false
// (the leg then reads from its own goroutine through diago).
func pollable(med *diago.DialogMedia) (*rtpPair, syscall.RawConn, bool) {
	ms := med.MediaSession()
	if ms == nil {
		return nil, nil, false
	}
	gc, ok := ms.RTPConn().(*guardedConn)
	if !ok || gc == nil {
		return nil, nil, false
	}
	rc, err := gc.UDPConn.SyscallConn()
	if err != nil {
		return nil, nil, false
	}
	return gc.p, rc, true
}

// sender is a socket's scratch for one send; fn (send) is bound once, so
// that a send allocates nothing. mu orders the senders.
type sender struct {
	mu   sync.Mutex
	rc   syscall.RawConn
	fam  int
	sa4  syscall.RawSockaddrInet4
	sa6  syscall.RawSockaddrInet6
	b    []byte
	sa   unsafe.Pointer
	size uintptr
	r    uintptr
	e    syscall.Errno
	fn   func(fd uintptr)
}

func (s *sender) send(fd uintptr) {
	s.r, _, s.e = syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&s.b[0])), uintptr(len(s.b)),
		syscall.MSG_DONTWAIT, uintptr(s.sa), s.size)
}

// initSend readies sendNow for the RTP socket: its descriptor and family.
func (c *guardedConn) initSend() {
	rc, err := c.UDPConn.SyscallConn()
	if err != nil {
		return
	}
	var sa syscall.Sockaddr
	var serr error
	if err := rc.Control(func(fd uintptr) { sa, serr = syscall.Getsockname(int(fd)) }); err != nil || serr != nil {
		return
	}
	s := &sender{rc: rc}
	switch sa.(type) {
	case *syscall.SockaddrInet4:
		s.fam = syscall.AF_INET
	case *syscall.SockaddrInet6:
		s.fam = syscall.AF_INET6
	default:
		return
	}
	s.fn = s.send
	c.snd = s
}

// sendNow sends b to ap without blocking and without the net package's
// per-call work (a relayed frame per packet, issue 14); done is false when
// the socket's buffer is full or the address does not fit the socket's
// family: the caller then sends through the net package, which waits.
func (c *guardedConn) sendNow(b []byte, ap netip.AddrPort) (n int, err error, done bool) {
	s := c.snd
	if len(b) == 0 || ap.Addr().Zone() != "" {
		return 0, nil, false // (a zone: the net package maps it to a scope)
	}
	addr := ap.Addr().Unmap()
	port := ap.Port()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.fam == syscall.AF_INET && addr.Is4():
		s.sa4.Family = syscall.AF_INET
		pp := (*[2]byte)(unsafe.Pointer(&s.sa4.Port))
		pp[0], pp[1] = byte(port>>8), byte(port)
		s.sa4.Addr = addr.As4()
		s.sa, s.size = unsafe.Pointer(&s.sa4), syscall.SizeofSockaddrInet4
	case s.fam == syscall.AF_INET6:
		s.sa6.Family = syscall.AF_INET6
		pp := (*[2]byte)(unsafe.Pointer(&s.sa6.Port))
		pp[0], pp[1] = byte(port>>8), byte(port)
		s.sa6.Addr = addr.As16() // an IPv4 address maps (::ffff:a.b.c.d)
		s.sa, s.size = unsafe.Pointer(&s.sa6), syscall.SizeofSockaddrInet6
	default:
		return 0, nil, false
	}
	s.b = b
	cerr := s.rc.Control(s.fn)
	s.b = nil
	if cerr != nil {
		return 0, nil, false // closed: the net package says so
	}
	if s.e == 0 {
		return int(s.r), nil, true
	}
	if s.e == syscall.EAGAIN || s.e == syscall.EINTR {
		return 0, nil, false
	}
	return 0, &net.OpError{Op: "write", Net: "udp", Source: c.LocalAddr(), Addr: net.UDPAddrFromAddrPort(ap), Err: os.NewSyscallError("sendto", s.e)}, true
}

//go:build linux

package sip

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// sendNow and recvNow (the poller's socket calls, without the net package)
// on an IPv4 socket and on a dual-stack one (a wildcard bind, as `onecall
// serve` on 0.0.0.0): the datagram arrives whole, from the right port, and
// the source recvNow reports is the sender's.
func TestSendNowRecvNow(t *testing.T) {
	for _, bind := range []string{"127.0.0.1", "0.0.0.0"} {
		t.Run(bind, func(t *testing.T) {
			src, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(bind)})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			dst, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			c := &guardedConn{UDPConn: src, p: &rtpPair{m: &rtpMedia{}}}
			c.initSend()
			if c.snd == nil {
				t.Fatal("no sender for the socket")
			}
			to := dst.LocalAddr().(*net.UDPAddr)
			msg := []byte("\x80\x08\x00\x01rtp frame")
			if n, err := c.WriteTo(msg, to); err != nil || n != len(msg) {
				t.Fatalf("WriteTo: %d, %v", n, err)
			}
			rc, err := dst.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			rd := newPollReader()
			if err := dst.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
				t.Fatal(err)
			}
			// recvNow until it reads (Go's poller waits between the tries).
			if err := rc.Read(func(fd uintptr) bool { rd.recv(fd); return rd.err == nil }); err != nil {
				t.Fatal(err)
			}
			if rd.err != nil {
				t.Fatalf("recvNow: %v", rd.err)
			}
			if got := rd.buf[:rd.n]; !bytes.Equal(got, msg) {
				t.Fatalf("received %q, sent %q", got, msg)
			}
			want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(src.LocalAddr().(*net.UDPAddr).Port))
			if got := netip.AddrPortFrom(rd.src.Addr().Unmap(), rd.src.Port()); got != want {
				t.Fatalf("source %v, want %v", got, want)
			}
		})
	}
}

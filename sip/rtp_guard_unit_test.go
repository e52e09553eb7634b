package sip

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
)

func newTestPair(t testing.TB, latch bool) *rtpPair {
	m := &rtpMedia{latch: latch, log: slog.New(slog.DiscardHandler)}
	rtpC, rtcpC, err := m.listen(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rtpC.Close(); _ = rtcpC.Close() })
	return rtpC.(*guardedConn).p
}

func udpAddr(s string) net.UDPAddr { return *net.UDPAddrFromAddrPort(netip.MustParseAddrPort(s)) }

func pkt(ssrc uint32) []byte { return rtpPacket(8, 1, 160, ssrc, false, make([]byte, 160)) }

func TestGuardSDPMode(t *testing.T) {
	p := newTestPair(t, false)
	peer := netip.MustParseAddrPort("10.0.0.5:4000")
	if _, ok := p.accept(false, peer, pkt(1)); ok {
		t.Fatal("accepted before the offer/answer")
	}
	// diago hands IPv4 in 16-byte form; the socket reports it unmapped.
	p.setRemote(net.UDPAddr{IP: net.ParseIP("10.0.0.5"), Port: 4000}, net.UDPAddr{IP: net.ParseIP("10.0.0.5"), Port: 4001})
	for _, tc := range []struct {
		rtcp bool
		src  string
		ok   bool
	}{
		{false, "10.0.0.5:4000", true},
		{false, "[::ffff:10.0.0.5]:4000", true},
		{false, "10.0.0.5:4002", false}, // right host, wrong port
		{false, "10.0.0.6:4000", false},
		{true, "10.0.0.5:4001", true},
		{true, "10.0.0.5:4000", false},
		{true, "127.0.0.2:4001", false},
	} {
		a, ok := p.accept(tc.rtcp, netip.MustParseAddrPort(tc.src), pkt(7))
		if ok != tc.ok {
			t.Errorf("rtcp=%v from %s: accepted %v, want %v", tc.rtcp, tc.src, ok, tc.ok)
		}
		if ok && a == nil {
			t.Errorf("accepted without an address")
		}
	}
	if got := p.m.drops[dropSource].Load() + p.m.drops[dropRTCPSource].Load() + p.m.drops[dropNoPeer].Load(); got != 5 {
		t.Fatalf("drops %d, want 5", got)
	}
	// A re-INVITE moves the media: the filter follows.
	p.setRemote(udpAddr("10.0.0.9:5000"), udpAddr("10.0.0.9:5001"))
	if _, ok := p.accept(false, peer, pkt(1)); ok {
		t.Fatal("old address accepted after the media moved")
	}
	if _, ok := p.accept(false, netip.MustParseAddrPort("10.0.0.9:5000"), pkt(1)); !ok {
		t.Fatal("new address refused")
	}
	if _, redirect := p.writeTarget(false); redirect {
		t.Fatal("SDP mode redirects writes")
	}
}

func TestGuardLatchMode(t *testing.T) {
	p := newTestPair(t, true)
	p.setRemote(udpAddr("192.168.1.10:4000"), udpAddr("192.168.1.10:4001")) // private SDP address
	nat := netip.MustParseAddrPort("203.0.113.7:31000")
	if _, ok := p.accept(false, nat, []byte{1, 2, 3}); ok {
		t.Fatal("latched onto a non-RTP packet")
	}
	if _, ok := p.accept(false, nat, pkt(0xaaaa)); !ok {
		t.Fatal("first RTP packet not latched")
	}
	if dst, ok := p.writeTarget(false); !ok || dst != nat {
		t.Fatalf("writes go to %v %v, want the latched %v", dst, ok, nat)
	}
	for _, tc := range []struct {
		src  string
		ssrc uint32
		ok   bool
		why  dropReason
	}{
		{"203.0.113.7:31000", 0xaaaa, true, 0},
		{"203.0.113.7:31000", 0xbbbb, false, dropSSRC},   // injected stream, same source
		{"203.0.113.8:31000", 0xaaaa, false, dropSource}, // another source, same SSRC
		{"192.168.1.10:4000", 0xaaaa, false, dropSource}, // the SDP address lost the race
	} {
		before := p.m.drops[tc.why].Load()
		_, ok := p.accept(false, netip.MustParseAddrPort(tc.src), pkt(tc.ssrc))
		if ok != tc.ok || (!ok && p.m.drops[tc.why].Load() != before+1) {
			t.Errorf("%s ssrc %x: accepted %v, want %v (%s)", tc.src, tc.ssrc, ok, tc.ok, tc.why)
		}
	}
	// RTCP from the latched host latches its own port.
	if _, ok := p.accept(true, netip.MustParseAddrPort("203.0.113.7:31001"), []byte{0x81, 200}); !ok {
		t.Fatal("RTCP from the latched host refused")
	}
	if _, ok := p.accept(true, netip.MustParseAddrPort("203.0.113.9:31001"), []byte{0x81, 200}); ok {
		t.Fatal("RTCP from a stranger accepted")
	}
	// Renegotiation to the same SDP address (resume after hold): same
	// source, the SSRC re-locks on the next packet.
	p.setRemote(udpAddr("192.168.1.10:4000"), udpAddr("192.168.1.10:4001"))
	if _, ok := p.accept(false, nat, pkt(0xcccc)); !ok {
		t.Fatal("new stream after renegotiation refused")
	}
	if _, ok := p.accept(false, nat, pkt(0xaaaa)); ok {
		t.Fatal("old SSRC accepted after the re-lock")
	}
	// A new SDP address releases the latch.
	p.setRemote(udpAddr("192.168.1.11:4000"), udpAddr("192.168.1.11:4001"))
	other := netip.MustParseAddrPort("203.0.113.20:40000")
	if _, ok := p.accept(false, other, pkt(1)); !ok {
		t.Fatal("no new latch after the media moved")
	}
}

// BenchmarkGuardAccept is the source check's cost per packet.
func BenchmarkGuardAccept(b *testing.B) {
	for _, latch := range []bool{false, true} {
		name := "sdp"
		if latch {
			name = "latch"
		}
		b.Run(name, func(b *testing.B) {
			p := newTestPair(b, latch)
			p.setRemote(udpAddr("10.0.0.5:4000"), udpAddr("10.0.0.5:4001"))
			src := netip.MustParseAddrPort("10.0.0.5:4000")
			data := pkt(9)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := p.accept(false, src, data); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}

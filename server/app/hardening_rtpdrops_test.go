package app

import (
	"encoding/binary"
	"net"
	"strconv"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// TestRTPDropReasonsInMetrics (issue 17, "counters for every drop"): with
// sip.rtp_symmetric on (latch mode, where every reason can occur), each
// kind of packet the guard refuses before it reaches a call is sent on the
// wire and read back from /metrics under its reason:
//   - source: RTP from 127.0.0.2 once the caller's stream latched the leg;
//   - rtcp_source: RTCP from 127.0.0.2 at the next port;
//   - ssrc: RTP from the caller's own address and port with another SSRC
//     (a stream injected by a spoofer);
//   - not_rtp: short datagrams from the caller's address.
//
// The caller's own stream is still taken (its call stays up).
// (onecall_rtp_dropped_total{reason="source"} in SDP mode:
// TestForeignRTPCountedInMetrics. no_peer, a packet read before the
// offer/answer named the peer, is not reachable from the wire: a leg's
// reader starts after the answer, and packets queued before it are judged
// against the negotiated peer; TestGuardSDPMode covers it.)
func TestRTPDropReasonsInMetrics(t *testing.T) {
	a := fsStartAt(t, fsConfig(t, "", "rtp_symmetric: false", "rtp_symmetric: true"), t.TempDir())
	dropped := func(reason string) float64 {
		return a.metric(t, `onecall_rtp_dropped_total{reason="`+reason+`"}`)
	}
	waitDrops := func(reason string, before float64, n int) {
		t.Helper()
		testpeers.WaitFor(t, 5*time.Second, strconv.Itoa(n)+" "+reason+" drops in /metrics", func() bool {
			return dropped(reason)-before >= float64(n)
		})
	}
	rtpPkt := func(seq uint16, ssrc uint32) []byte {
		p := make([]byte, 12+160)
		p[0], p[1] = 0x80, 8
		binary.BigEndian.PutUint16(p[2:], seq)
		binary.BigEndian.PutUint32(p[8:], ssrc)
		return p
	}
	const n = 10
	// An RTCP sender report, empty.
	rtcpPkt := []byte{0x81, 200, 0, 6, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

	// A call whose caller speaks (and so latches the leg).
	c, err := newHuntCaller(t, a.sipUDP())
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if code := c.call(fsHotline, "01055512345"); code != 200 {
		t.Fatalf("call: %d", code)
	}
	to := c.serverRTP()
	if to == nil {
		t.Fatal("no RTP address in the answer")
	}
	// The caller's first packets are queued on the leg's socket before any
	// of the stranger's: the leg latches onto the caller.
	testpeers.WaitFor(t, 5*time.Second, "the caller's first RTP packets", func() bool { return c.sent.Load() >= 3 })
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	rtcpTo := &net.UDPAddr{IP: to.IP, Port: to.Port + 1}
	for _, step := range []struct {
		reason string
		send   func(i int) error
	}{
		{"source", func(i int) error { _, err := stranger.WriteToUDP(rtpPkt(uint16(i), 99), to); return err }},
		{"rtcp_source", func(int) error { _, err := stranger.WriteToUDP(rtcpPkt, rtcpTo); return err }},
		{"ssrc", func(i int) error { _, err := c.rtp.WriteToUDP(rtpPkt(uint16(i), 0xbad), to); return err }},
		{"not_rtp", func(int) error { _, err := c.rtp.WriteToUDP([]byte{0, 1, 2, 3}, to); return err }},
	} {
		before := dropped(step.reason)
		for i := range n {
			if err := step.send(i); err != nil {
				t.Fatal(err)
			}
		}
		waitDrops(step.reason, before, n)
	}
	select {
	case <-c.ended:
		t.Fatal("the caller's call ended")
	default:
	}
	if n := a.sip.Active(); n != 1 {
		t.Fatalf("%d calls open, want the caller's", n)
	}
}

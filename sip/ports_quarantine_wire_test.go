package sip

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// TestStaleStreamMissesTheNextCall (issue 17, defect 2: "a stream aimed at
// an ended call's port lands in the next call that reuses the port"). One
// RTP port pair, a 3 s quarantine. A trunk's media gateway (one RTP socket,
// named by the SDP of both its calls, as gateways reuse their ports) keeps
// sending RFC 4733 key 1 at its first call's port for 1 s after that call
// ended. The next INVITE, mid-stream, finds the only pair in quarantine:
// 503 with Retry-After. Once the quarantine is over the next call gets the
// same pair, and its leg takes only the gateway's new packets: no key 1, no
// callback, the call stays up. With the pair reused at once (diago's
// allocator, or no quarantine) the mid-stream INVITE is answered on that
// pair, the stale key 1 passes the source check (same address and port as
// the new call's SDP) and books a callback that hangs the new caller up.
func TestStaleStreamMissesTheNextCall(t *testing.T) {
	t.Parallel()
	const (
		quarantine = 3 * time.Second
		staleFor   = time.Second
		dtmfPT     = 101
	)
	base := testpeers.FreeRTPPorts(t)
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.RTPPorts = [2]int{base, base + 1} // one pair
		o.RTPQuarantine = quarantine
		o.RetryAfter = 4 * time.Second
		// A line with an outbound trunk offers callbacks: key 1 while
		// waiting books one and hangs up (no call is ever dialled here).
		o.Outbound = Outbound{Trunks: []OutboundTrunk{{Name: "carrier", Address: "127.0.0.1:9"}}}
	})
	gw, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	offer := sdpOffer("c=IN IP4 127.0.0.1\r\n",
		fmt.Sprintf("m=audio %d RTP/AVP 8 %d\r\n", gw.LocalAddr().(*net.UDPAddr).Port, dtmfPT),
		"a=rtpmap:8 PCMA/8000", fmt.Sprintf("a=rtpmap:%d telephone-event/8000", dtmfPT), fmt.Sprintf("a=fmtp:%d 0-15", dtmfPT))
	pairBusy := func() int { busy, _, _ := env.svc.rtp.pool.counts(); return busy }

	// Call 1: answered on the only pair, then BYE.
	code, msg := rawInvite(t, env.udp, "110", offer)
	if code != 200 {
		t.Fatalf("first call: %d\n%s", code, msg)
	}
	if p := answerPort(t, msg); p != base {
		t.Fatalf("first call answered on port %d, want %d (the only pair)", p, base)
	}
	env.store.wait(t, 10*time.Second)
	waitFor(t, 5*time.Second, "the first call's pair released", func() bool { return pairBusy() == 0 })

	// The gateway's stale stream: key 1 at the old port for staleFor.
	dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(base))
	streamDone := make(chan int)
	go func() {
		sent := 0
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		for e := 0; time.Since(start) < staleFor; e++ {
			for i := range 4 { // start, update, end, end
				flags := byte(10)
				if i >= 2 {
					flags |= 0x80
				}
				pkt := rtpPacket(dtmfPT, uint16(100+4*e+i), uint32(8000*(e+1)), 0x57a1e, i == 0,
					[]byte{1, flags, 0, byte(160 * min(i+1, 3))})
				if _, err := gw.WriteToUDPAddrPort(pkt, dst); err == nil {
					sent++
				}
			}
			<-tick.C
		}
		streamDone <- sent
	}()

	// Mid-stream, the next call: the pair is in quarantine.
	code, msg, hangup := rawCall(t, env.udp, "110", offer)
	defer hangup()
	if code != 503 || !strings.Contains(msg, "Retry-After: 4") {
		t.Fatalf("INVITE while the only pair is in quarantine: %d, want 503 with Retry-After: 4\n%s", code, msg)
	}
	stale := <-streamDone

	// After the quarantine: answered on the same pair.
	var leg *diagoLeg
	waitFor(t, quarantine+5*time.Second, "the next call answered", func() bool {
		var c int
		c, msg, hangup = rawCall(t, env.udp, "110", offer)
		return c == 200
	})
	defer hangup()
	if p := answerPort(t, msg); p != base {
		t.Fatalf("next call answered on port %d, want %d (the reused pair)", p, base)
	}
	waitFor(t, 5*time.Second, "the next call's leg", func() bool {
		for _, l := range env.liveLegs() {
			if l.med.MediaSession().Laddr.Port == base {
				leg = l
				return true
			}
		}
		return false
	})
	// The gateway's own packets of the new call: the only ones its leg may
	// take. Stale packets still queued at the port would be read first.
	const own = 5
	for i := range own {
		if _, err := gw.WriteToUDPAddrPort(rtpPacket(8, uint16(i), uint32(160*i), 0x2, i == 0, make([]byte, 160)), dst); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "the new call's own packets taken", func() bool {
		rx, _ := leg.Counters()
		return rx >= own
	})
	if rx, _ := leg.Counters(); rx != own {
		t.Fatalf("the new call's leg took %d packets, want its own %d (%d stale key-1 packets were sent at the port)", rx, own, stale)
	}
	if env.hub.has(isEv[router.CallbackRequested](nil)) {
		t.Fatal("the stale stream's key 1 booked a callback in the new call")
	}
	if n := env.svc.Active(); n != 1 {
		t.Fatalf("%d calls up, want the new one", n)
	}
	t.Logf("%d stale key-1 packets sent at port %d during its quarantine; the next call took none", stale, base)
}

var mAudio = regexp.MustCompile(`(?m)^m=audio (\d+) `)

// answerPort is the RTP port of the SDP in a SIP message.
func answerPort(t *testing.T, msg string) int {
	t.Helper()
	m := mAudio.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("no m=audio in:\n%s", msg)
	}
	p, _ := strconv.Atoi(m[1])
	return p
}

package app

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// TestForeignRTPCountedInMetrics (issue 17, "counters for every drop"):
// 40 RTP packets from 127.0.0.2 aimed at a waiting citizen's RTP port are
// dropped, show in /metrics as onecall_rtp_dropped_total{reason="source"},
// and the call goes on (the citizen's own RTP keeps it up, nothing ends
// it).
func TestForeignRTPCountedInMetrics(t *testing.T) {
	a := fsStart(t, t.TempDir())
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
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	before := a.metric(t, `onecall_rtp_dropped_total{reason="source"}`)
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 8
	const sent = 40
	for i := range sent {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		if _, err := stranger.WriteToUDP(pkt, to); err != nil {
			t.Fatal(err)
		}
	}
	testpeers.WaitFor(t, 5*time.Second, "the stranger's packets counted in /metrics", func() bool {
		return a.metric(t, `onecall_rtp_dropped_total{reason="source"}`)-before >= sent
	})
	select {
	case <-c.ended:
		t.Fatal("the call ended")
	default:
	}
	if n := a.sip.Active(); n != 1 {
		t.Fatalf("%d calls open, want the citizen's", n)
	}
}

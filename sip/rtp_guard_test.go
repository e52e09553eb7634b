package sip

import (
	"bytes"
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zaf/g711"

	"onecall/internal/testpeers"
	"onecall/router"
)

// legs returns the Service's live legs.
func (env *testEnv) liveLegs() []*diagoLeg {
	env.svc.mu.Lock()
	defer env.svc.mu.Unlock()
	var out []*diagoLeg
	for _, l := range env.svc.legs {
		if dl, ok := l.(*diagoLeg); ok {
			out = append(out, dl)
		}
	}
	return out
}

// citizenLeg waits for the citizen's leg (SIPp's Call-ID has an '@', our
// agent legs' do not) and returns it with its local RTP address.
func (env *testEnv) citizenLeg(t *testing.T) (*diagoLeg, netip.AddrPort) {
	t.Helper()
	var leg *diagoLeg
	waitFor(t, 10*time.Second, "citizen leg", func() bool {
		for _, l := range env.liveLegs() {
			if strings.Contains(l.CallID(), "@") {
				leg = l
				return true
			}
		}
		return false
	})
	la := leg.med.MediaSession().Laddr
	return leg, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(la.Port))
}

func (env *testEnv) drops(r dropReason) uint64 { return env.svc.rtp.drops[r].Load() }

// stranger is a UDP socket on 127.0.0.2: another host as far as the source
// check is concerned.
func stranger(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatalf("bind 127.0.0.2: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rtpPacket(pt uint8, seq uint16, ts, ssrc uint32, marker bool, payload []byte) []byte {
	p := make([]byte, 12+len(payload))
	p[0] = 0x80
	p[1] = pt
	if marker {
		p[1] |= 0x80
	}
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], ts)
	binary.BigEndian.PutUint32(p[8:], ssrc)
	copy(p[12:], payload)
	return p
}

// sprayDTMF sends RFC 4733 events for key (as a phone would: start, updates,
// three ends) from c to dst; it returns the packets sent.
func sprayDTMF(t *testing.T, c *net.UDPConn, dst netip.AddrPort, pt uint8, key byte, events int) int {
	t.Helper()
	code := byte(strings.IndexByte(dtmfEvents, key))
	n := 0
	seq := uint16(1000)
	for e := 0; e < events; e++ {
		ts := uint32(80000 + e*8000)
		for i := 0; i < 7; i++ {
			flags := byte(10) // volume
			if i >= 4 {
				flags |= 0x80 // end
			}
			dur := uint16(min(i, 4) * 160)
			pkt := rtpPacket(pt, seq, ts, 0x5eed, i == 0, []byte{code, flags, byte(dur >> 8), byte(dur)})
			if _, err := c.WriteToUDPAddrPort(pkt, dst); err != nil {
				t.Fatal(err)
			}
			seq++
			n++
		}
	}
	return n
}

// TestForeignDTMFIgnoredWhileWaiting (issue 17, defect 1): RFC 4733 key 1
// from 127.0.0.2 aimed at a waiting caller's RTP port (and RTCP at the next
// port) books no callback and does not hang up: every packet is dropped and
// counted. Before the source check, the stranger's key 1 booked a callback
// and ended the call.
func TestForeignDTMFIgnoredWhileWaiting(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		// A line with an outbound trunk offers callbacks: key 1 while
		// waiting books one and hangs up (no call is dialled here).
		o.Outbound = Outbound{Trunks: []OutboundTrunk{{Name: "carrier", Address: "127.0.0.1:9"}}}
	})
	c := startSipp(t, "citizen.xml", citizenParams{From: "01077778888", HoldFor: 6000}, env.udp, "110")
	env.hub.waitEvent(t, 10*time.Second, "ContactArrived", isEv[router.ContactArrived](nil))
	leg, dst := env.citizenLeg(t)
	if leg.dtmfPT < 0 {
		t.Fatal("telephone-event not negotiated")
	}
	atk := stranger(t)
	sent := sprayDTMF(t, atk, dst, uint8(leg.dtmfPT), '1', 6)
	rtcpDst := netip.AddrPortFrom(dst.Addr(), dst.Port()+1)
	bye := []byte{0x81, 203, 0, 1, 0, 0, 0x5e, 0xed} // RTCP BYE
	for range 5 {
		if _, err := atk.WriteToUDPAddrPort(bye, rtcpDst); err != nil {
			t.Fatal(err)
		}
	}
	// The attack's effect first: the citizen hangs up on its own (SIPp's
	// BYE after 6 s), no callback. Then the counters.
	if err := c.wait(t, 20*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	rec := env.store.wait(t, 5*time.Second)
	if env.hub.has(isEv[router.CallbackRequested](nil)) {
		t.Fatal("a stranger's DTMF booked a callback")
	}
	if rec.Cause != causeCitizenBye {
		t.Fatalf("record = %+v, want the citizen's own hangup", rec)
	}
	// The call's record is committed before its end goes to routing: the
	// abandon may reach the hub a moment after the record.
	env.hub.waitEvent(t, 5*time.Second, "the citizen's abandon", isEv[router.ContactAbandoned](nil))
	waitFor(t, 5*time.Second, "stranger's packets dropped", func() bool {
		return env.drops(dropSource) >= uint64(sent) && env.drops(dropRTCPSource) >= 5
	})
	t.Logf("dropped: source %d rtcp_source %d", env.drops(dropSource), env.drops(dropRTCPSource))
}

// toneFrames counts the 20 ms frames of a 16-bit mono 8 kHz WAV dump that
// are a pure tone at hz (Goertzel power over 60 % of the frame's energy).
func toneFrames(t *testing.T, path string, hz float64) (tone, frames int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("data"))
	if i < 0 || len(b) < i+8 {
		t.Fatalf("%s: no data chunk", path)
	}
	pcm := b[i+8:]
	const n = 160
	coef := 2 * math.Cos(2*math.Pi*hz/8000)
	for off := 0; off+2*n <= len(pcm); off += 2 * n {
		var s1, s2, energy float64
		for k := 0; k < n; k++ {
			x := float64(int16(binary.LittleEndian.Uint16(pcm[off+2*k:])))
			energy += x * x
			s := x + coef*s1 - s2
			s2, s1 = s1, s
		}
		frames++
		power := s1*s1 + s2*s2 - coef*s1*s2
		if energy > n*1e4 && power/(energy*n/2) > 0.6 {
			tone++
		}
	}
	return tone, frames
}

// TestForeignRTPNotRelayedToAgent (issue 17, defect 2): during a bridged
// call, 150 PCMA packets of a 1.7 kHz tone from 127.0.0.2 aimed at the
// citizen's RTP port never reach the agent: the baresip phone's decoded
// audio holds no frame of the tone, and the guard counted every packet.
// Before the source check, the phone played the attacker's tone.
func TestForeignRTPNotRelayedToAgent(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, nil)
	speech, err := filepath.Abs("testdata/speech.wav") // 16-bit PCM, as baresip's aufile wants
	if err != nil {
		t.Fatal(err)
	}
	phone := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Speech: speech, Quit: 60 * time.Second})
	env.loc.set("agent01", phone.URI("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011113333", Audio: true, WaitBye: 40000}, env.udp, "110")
	env.hub.waitEvent(t, 10*time.Second, "accept agent01", isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent01" }))
	_, dst := env.citizenLeg(t)
	// Both legs' RTP is read by the clock's pollers (rtp_poller.go), not by
	// a goroutine each; the check below is theirs.
	if runtime.GOOS == "linux" {
		waitFor(t, 5*time.Second, "both legs polled", func() bool { return env.svc.clock.polled() == 2 })
	}

	// 150 frames of the tone, paced like a phone (20 ms).
	const toneHz = 1700
	atk := stranger(t)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	const sent = 150
	for f := 0; f < sent; f++ {
		pcm := make([]byte, 320)
		for k := 0; k < 160; k++ {
			v := int16(12000 * math.Sin(2*math.Pi*toneHz*float64(f*160+k)/8000))
			binary.LittleEndian.PutUint16(pcm[2*k:], uint16(v))
		}
		pkt := rtpPacket(8, uint16(f), uint32(f*160), 0xbad, f == 0, g711.EncodeAlaw(pcm))
		if _, err := atk.WriteToUDPAddrPort(pkt, dst); err != nil {
			t.Fatal(err)
		}
		<-tick.C
	}
	waitFor(t, 5*time.Second, "stranger's packets dropped", func() bool { return env.drops(dropSource) >= sent })
	if err := c.wait(t, 50*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", isEv[router.ContactEnded](nil))
	rec := env.store.wait(t, 5*time.Second)
	if rec.RxPackets < minAudio || rec.AgentTx < minAudio {
		t.Fatalf("citizen audio did not reach the agent: %+v", rec)
	}
	waitFor(t, 5*time.Second, "the ended legs leave the pollers", func() bool { return env.svc.clock.polled() == 0 })
	var dec string
	for _, p := range phone.Dumps() {
		if strings.HasSuffix(p, "-dec.wav") {
			dec = p
		}
	}
	if dec == "" {
		t.Fatalf("no decoded dump in %v", phone.Dumps())
	}
	tone, frames := toneFrames(t, dec, toneHz)
	t.Logf("agent heard %d frames, %d of them the stranger's tone; dropped %d", frames, tone, env.drops(dropSource))
	if frames < minAudio {
		t.Fatalf("agent decoded only %d frames", frames)
	}
	if tone > 2 {
		t.Fatalf("the agent heard the stranger's tone in %d frames", tone)
	}
}

//go:build linux

package sip

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
)

// BenchmarkRTPPacketPath is the cost of one received RTP packet on the
// poller's path (rtp_poller.go pollRead): the non-blocking recvfrom on the
// leg's guarded socket, the source check (rtp_guard.go accept), the RTP
// header, diago's read statistics (ObserveRTP), then the pump's work
// (counters, DTMF check, relay to the peer's queue). The packets come from
// a "phone" socket on loopback in batches of 64 sent with the timer
// stopped, so the figure is onecall's side only. With the check compiled
// out (the benchmark-only tag onecall_noguard) the same benchmark gives the
// path without it. check-ns/pkt and check-% time the source check alone on
// each batch's packets right after the batch (so under the same load of
// the machine as the path it is compared with):
//
//	go test -run '^$' -bench RTPPacketPath -count 5 ./sip/
//	go test -tags onecall_noguard -run '^$' -bench RTPPacketPath -count 5 ./sip/
//
// (docs/benchmarks.md, "Cost of the RTP source check").
func BenchmarkRTPPacketPath(b *testing.B) {
	for _, latch := range []bool{false, true} {
		name := "sdp"
		if latch {
			name = "latch"
		}
		b.Run(name, func(b *testing.B) { benchPacketPath(b, latch) })
	}
}

// relaySink stands in for the peer leg: it copies the frame, as the
// peer's relay queue does.
type relaySink struct {
	buf []byte
	n   int
}

func (s *relaySink) relay(p []byte, _ uint32, _ bool) error {
	s.buf = append(s.buf[:0], p...)
	s.n++
	return nil
}
func (s *relaySink) flushRelay() {}

func benchPacketPath(b *testing.B, latch bool) {
	m := &rtpMedia{latch: latch, log: slog.New(slog.DiscardHandler)}
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	rtpC, rtcpC, err := m.listen(lo)
	if err != nil {
		b.Fatal(err)
	}
	defer rtpC.Close()
	phone, err := net.ListenUDP("udp", lo)
	if err != nil {
		b.Fatal(err)
	}
	defer phone.Close()
	gc := rtpC.(*guardedConn)
	if err := gc.UDPConn.SetReadBuffer(1 << 20); err != nil {
		b.Fatal(err)
	}
	ms := &media.MediaSession{Codecs: []media.Codec{media.CodecAudioAlaw, media.CodecTelephoneEvent8000}}
	phoneAddr := phone.LocalAddr().(*net.UDPAddr)
	ms.InitWithListeners(rtpC, rtcpC, phoneAddr) // tells the guard the peer
	dm := &diago.DialogMedia{RTPPacketReader: media.NewRTPPacketReaderSession(media.NewRTPSession(ms))}
	rc, err := gc.UDPConn.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := &diagoLeg{callID: "bench", ctx: ctx, med: dm, codec: media.CodecAudioAlaw, dtmfPT: 101,
		dtmf: make(chan rune, 16), done: make(chan struct{}), rtpPair: gc.p, rtpRC: rc}
	sink := &relaySink{}
	l.Connect(sink)
	to := gc.UDPConn.LocalAddr().(*net.UDPAddr).AddrPort()
	pkt := rtpPacket(8, 1, 160, 0x1234, false, make([]byte, 160))
	rd := newPollReader()
	const batch = 64
	var seq uint16
	var pathNs, checkNs time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		b.StopTimer()
		for range n {
			seq++
			pkt[2], pkt[3] = byte(seq>>8), byte(seq)
			if _, err := phone.WriteToUDPAddrPort(pkt, to); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		t0 := time.Now()
		for got := 0; got < n; {
			l.pollRead(rd)
			if rd.err == nil {
				got++
			}
		}
		pathNs += time.Since(t0)
		b.StopTimer()
		// The source check alone, as often, on the same packet at the same
		// moment: its share of the path, with the machine's noise of the
		// moment on both sides. (Timed after StopTimer, which reads the
		// memory statistics.)
		t1 := time.Now()
		for range n {
			if _, ok := gc.p.accept(false, rd.src, rd.buf[:rd.n]); !ok {
				b.Fatal("the phone's packet refused")
			}
		}
		checkNs += time.Since(t1)
		done += n
	}
	b.ReportMetric(float64(checkNs)/float64(b.N), "check-ns/pkt")
	b.ReportMetric(100*float64(checkNs)/float64(pathNs), "check-%")
	if rx, _ := l.Counters(); rx != uint64(b.N) || sink.n != b.N {
		b.Fatalf("%d packets sent, %d taken, %d relayed", b.N, rx, sink.n)
	}
	if dropped := m.drops[dropSource].Load(); dropped != 0 {
		b.Fatalf("%d of the phone's packets dropped", dropped)
	}
}

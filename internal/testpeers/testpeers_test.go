package testpeers

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 400) {
		t.Fatalf("len %d, want 400", len(got))
	}
}

func TestFreePortsAreBindable(t *testing.T) {
	udp := func(p int) {
		t.Helper()
		c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("udp %d: %v", p, err)
		}
		c.Close()
	}
	if p := FreeUDPPort(t, true); p%2 != 0 {
		t.Fatalf("FreeUDPPort(even) = %d", p)
	}
	p := FreeRTPPorts(t)
	if p%2 != 0 {
		t.Fatalf("FreeRTPPorts = %d, want even", p)
	}
	for i := range 4 {
		udp(p + i)
	}
	s := FreeSIPPort(t)
	udp(s)
	for _, port := range []int{s, s + 1} {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("tcp %d: %v", port, err)
		}
		l.Close()
	}
}

func TestWaitForReturnsOnceCondHolds(t *testing.T) {
	n := 0
	WaitFor(t, 5*time.Second, "third poll", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("polled %d times", n)
	}
}

// TestToneShare: a party's tone is found in its own WAV and not at another
// party's frequency.
func TestToneShare(t *testing.T) {
	p := ToneWAV(t, t.TempDir(), 700, time.Second)
	s, rate, err := ReadWAV(p)
	if err != nil || rate != 8000 || len(s) != 8000 {
		t.Fatalf("ReadWAV: %d samples at %d: %v", len(s), rate, err)
	}
	if got := ToneShare(s, rate, 700); got < 0.9 {
		t.Fatalf("700 Hz share of a 700 Hz tone = %.3f", got)
	}
	if got := ToneShare(s, rate, 1500); got > 0.05 {
		t.Fatalf("1500 Hz share of a 700 Hz tone = %.3f", got)
	}
	if got := ToneShare(make([]int16, 800), rate, 700); got != 0 {
		t.Fatalf("share of silence = %.3f", got)
	}
}

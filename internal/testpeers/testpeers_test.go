package testpeers

import (
	"net"
	"os"
	"path/filepath"
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

// The SIP port picked for SIPp is taken before SIPp binds it (by a socket
// of another test): SIPp exits, and StartSIPp starts it again on another
// port, where it answers.
func TestStartSIPpPortTaken(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tp := taken.LocalAddr().(*net.UDPAddr).Port
	scen := filepath.Join(t.TempDir(), "uas.xml")
	if err := os.WriteFile(scen, []byte(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options">
  <recv request="OPTIONS"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
`), 0o644); err != nil {
		t.Fatal(err)
	}
	tries := 0
	s := StartSIPp(t, SIPpOptions{Scenario: scen, Timeout: 10 * time.Second, port: func(try int) int {
		tries = try
		if try == 1 {
			return tp
		}
		return FreeUDPPort(t, false)
	}})
	if s.Port == tp || tries != 2 {
		t.Fatalf("SIPp on port %d after %d tries; want another port than the taken %d, on the second try", s.Port, tries, tp)
	}
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(s.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	req := "OPTIONS sip:sipp@127.0.0.1:" + strconv.Itoa(s.Port) + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-take1\r\nFrom: <sip:test@" + local + ">;tag=1\r\n" +
		"To: <sip:sipp@127.0.0.1>\r\nCall-ID: take1@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("OPTIONS to SIPp: %q, %v", buf[:n], err)
	}
	if err := s.Wait(t, 10*time.Second); err != nil {
		t.Fatalf("sipp: %v", err)
	}
}

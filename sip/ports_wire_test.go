package sip

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// rawInvite sends one INVITE with body as its SDP from a fresh UDP socket
// and returns the final response (status code and the whole message). A
// non-2xx final response is ACKed; a 2xx is ACKed and BYEd.
func rawInvite(t *testing.T, svc, user, body string) (int, string) {
	t.Helper()
	code, msg, bye := rawCall(t, svc, user, body)
	bye()
	return code, msg
}

// rawCall is rawInvite that leaves a 2xx call up: bye sends its BYE (and
// closes the socket; for a call not answered it only closes it).
func rawCall(t *testing.T, svc, user, body string) (code int, msg string, bye func()) {
	t.Helper()
	return rawCallOrder(t, svc, user, body, false)
}

// rawCallOrder is rawCall; with byeFirst a 2xx is answered by a BYE sent
// before its ACK (a caller hanging up as the call is answered, both sent at
// once and read out of order: the BYE's 200 is awaited before the ACK is
// sent), and bye only closes the socket.
func rawCallOrder(t *testing.T, svc, user, body string, byeFirst bool) (code int, msg string, bye func()) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	bye = func() { c.Close() }
	defer func() {
		if code < 200 || code >= 300 {
			c.Close()
		}
	}()
	dst, err := net.ResolveUDPAddr("udp", svc)
	if err != nil {
		t.Fatal(err)
	}
	lport := c.LocalAddr().(*net.UDPAddr).Port
	branch := fmt.Sprintf("z9hG4bK-%x", rand.Uint64())
	callID := fmt.Sprintf("%x@127.0.0.1", rand.Uint64())
	head := func(method string, cseq int, br string, toTag string) string {
		return fmt.Sprintf("%s sip:%s@%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"+
			"From: <sip:01012340000@127.0.0.1>;tag=raw%d\r\n"+
			"To: <sip:%s@%s>%s\r\n"+
			"Call-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n"+
			"Contact: <sip:01012340000@127.0.0.1:%d>\r\n", method, user, svc, lport, br, lport, user, svc, toTag, callID, cseq, method, lport)
	}
	inv := head("INVITE", 1, branch, "")
	if body != "" {
		inv += "Content-Type: application/sdp\r\n"
	}
	inv += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := c.WriteToUDP([]byte(inv), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no final response: %v", err)
		}
		msg = string(buf[:n])
		var toTag string
		code, toTag = parseStatus(msg)
		if code < 200 {
			continue
		}
		if code >= 300 {
			ack := head("ACK", 1, branch, toTag) + "Content-Length: 0\r\n\r\n"
			_, _ = c.WriteToUDP([]byte(ack), dst)
			return code, msg, bye
		}
		ack := head("ACK", 1, branch+"a", toTag) + "Content-Length: 0\r\n\r\n"
		byeReq := head("BYE", 2, branch+"b", toTag) + "Content-Length: 0\r\n\r\n"
		if byeFirst {
			// The BYE's 200 before the ACK is sent: the order in which a
			// busy server can read the two when sent together.
			_, _ = c.WriteToUDP([]byte(byeReq), dst)
			for {
				n, _, err := c.ReadFromUDP(buf)
				if err != nil {
					t.Fatalf("no response to the BYE: %v", err)
				}
				if r := string(buf[:n]); strings.Contains(r, " BYE\r\n") {
					if c, _ := parseStatus(r); c != 200 {
						t.Fatalf("BYE before ACK: %d\n%s", c, r)
					}
					break
				}
			}
			_, _ = c.WriteToUDP([]byte(ack), dst)
			return code, msg, func() { c.Close() }
		}
		_, _ = c.WriteToUDP([]byte(ack), dst)
		return code, msg, func() {
			_, _ = c.WriteToUDP([]byte(byeReq), dst)
			c.Close()
		}
	}
}

// parseStatus reads a response's status code and its To tag (";tag=...").
func parseStatus(msg string) (int, string) {
	sc := bufio.NewScanner(strings.NewReader(msg))
	code, tag := 0, ""
	for first := true; sc.Scan(); first = false {
		line := sc.Text()
		if first {
			f := strings.Fields(line)
			if len(f) >= 2 {
				code, _ = strconv.Atoi(f[1])
			}
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(k, "To") || k == "t") {
			if i := strings.Index(v, ";tag="); i >= 0 {
				tag = ";tag=" + strings.TrimSpace(v[i+5:])
			}
		}
	}
	return code, tag
}

func sdpOffer(conn, mline string, attrs ...string) string {
	s := "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\n" + conn + "t=0 0\r\n" + mline
	for _, a := range attrs {
		s += a + "\r\n"
	}
	return s
}

var badOffers = map[string]string{
	"garbage":          "this is not sdp\r\n",
	"no audio":         sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=video 4000 RTP/AVP 96\r\n"),
	"port 0":           sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=audio 0 RTP/AVP 8\r\n"),
	"no connection":    sdpOffer("", "m=audio 4000 RTP/AVP 8\r\n"),
	"hostname":         sdpOffer("c=IN IP4 pbx.example\r\n", "m=audio 4000 RTP/AVP 8\r\n"),
	"multicast":        sdpOffer("c=IN IP4 224.0.0.1\r\n", "m=audio 4000 RTP/AVP 8\r\n"),
	"only g729":        sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=audio 4000 RTP/AVP 18\r\n", "a=rtpmap:18 G729/8000"),
	"only events":      sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=audio 4000 RTP/AVP 101\r\n", "a=rtpmap:101 telephone-event/8000"),
	"srtp without key": sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=audio 4000 RTP/SAVP 8\r\n"),
}

func TestCheckOffer(t *testing.T) {
	for name, body := range badOffers {
		if err := checkOffer([]byte(body)); !errors.Is(err, errUnusableSDP) {
			t.Errorf("%s: checkOffer = %v, want errUnusableSDP", name, err)
		}
	}
	for name, body := range map[string]string{
		"pcma+events": sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=audio 4000 RTP/AVP 8 101\r\n",
			"a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000"),
		"pcmu static":    sdpOffer("c=IN IP4 10.1.2.3\r\n", "m=audio 4000 RTP/AVP 0\r\n"),
		"g729 then pcmu": sdpOffer("c=IN IP4 10.1.2.3\r\n", "m=audio 4000 RTP/AVP 18 0\r\n"),
		"hold address":   sdpOffer("c=IN IP4 0.0.0.0\r\n", "m=audio 4000 RTP/AVP 8\r\n"),
	} {
		if err := checkOffer([]byte(body)); err != nil {
			t.Errorf("%s: checkOffer = %v, want ok", name, err)
		}
	}
}

func FuzzCheckOffer(f *testing.F) {
	for _, b := range badOffers {
		f.Add([]byte(b))
	}
	f.Add([]byte(sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=audio 4000 RTP/AVP 8 101\r\n", "a=rtpmap:101 telephone-event/8000")))
	f.Fuzz(func(t *testing.T, b []byte) { _ = checkOffer(b) })
}

// TestUnusableSDPGets488 (issue 17, defect 4): INVITEs with SDP we cannot
// answer get 488 and never hold a port pair (diago bound the pair first and
// held it until the dialog ended).
func TestUnusableSDPGets488(t *testing.T) {
	t.Parallel()
	base := testpeers.FreeRTPPorts(t)
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) { o.RTPPorts = [2]int{base, base + 3} })
	for name, body := range badOffers {
		code, msg := rawInvite(t, env.udp, "110", body)
		if code != 488 {
			t.Fatalf("%s: got %d, want 488:\n%s", name, code, msg)
		}
		if busy, _, _ := env.svc.rtp.pool.counts(); busy != 0 || env.svc.rtp.open.Load() != 0 {
			t.Fatalf("%s: %d port pairs held after the 488", name, busy)
		}
	}
	if got := env.svc.refusedSDP.Load(); got != uint64(len(badOffers)) {
		t.Fatalf("refused_sdp = %d, want %d", got, len(badOffers))
	}
	if n := len(env.hub.events()); n != 0 {
		t.Fatalf("routing saw %d events", n)
	}
}

// TestNoPortsGets503 (issue 17, defect 4): with every port pair in use, an
// INVITE is answered 503 with Retry-After (diago's failure gave 480), and
// the established call is untouched.
func TestNoPortsGets503(t *testing.T) {
	t.Parallel()
	base := testpeers.FreeRTPPorts(t)
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.RTPPorts = [2]int{base, base + 1} // one pair
		o.RetryAfter = 7 * time.Second
	})
	first := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", HoldFor: 4000}, env.udp, "110")
	env.hub.waitEvent(t, 10*time.Second, "first ContactArrived", isEv[router.ContactArrived](nil))
	// The first call takes its pair when it answers, just after routing
	// hears of it: wait for that, or the second INVITE could win the pair.
	waitFor(t, 10*time.Second, "the first call holds the only pair", func() bool {
		busy, _, _ := env.svc.rtp.pool.counts()
		return busy == 1
	})
	code, msg := rawInvite(t, env.udp, "110", sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=audio 4000 RTP/AVP 8\r\n"))
	if code != 503 || !strings.Contains(msg, "Retry-After: 7") {
		t.Fatalf("got %d, want 503 with Retry-After: 7:\n%s", code, msg)
	}
	if err := first.wait(t, 20*time.Second); err != nil {
		t.Fatalf("established call suffered: %v", err)
	}
	if env.svc.rtp.exhausted.Load() == 0 {
		t.Fatal("exhaustion not counted")
	}
}

// TestTopPairBusyStillAdmits (issue 17, defect 3): two port pairs, no
// quarantine. A long call holds the top pair; short calls keep coming and
// each is answered on the bottom pair. diago's allocator scanned from its
// last position to the top and refused the second short call (480).
func TestTopPairBusyStillAdmits(t *testing.T) {
	t.Parallel()
	base := testpeers.FreeRTPPorts(t)
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.RTPPorts = [2]int{base, base + 3}
		o.RTPQuarantine = -1
	})
	short := func(from string) {
		t.Helper()
		c := startSipp(t, "citizen.xml", citizenParams{From: from, HoldFor: 300}, env.udp, "110")
		if err := c.wait(t, 20*time.Second); err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		env.store.wait(t, 5*time.Second)
	}
	first := startSipp(t, "citizen.xml", citizenParams{From: "01000000001", HoldFor: 1000}, env.udp, "110")
	env.hub.waitEvent(t, 10*time.Second, "first ContactArrived", isEv[router.ContactArrived](nil))
	long := startSipp(t, "citizen.xml", citizenParams{From: "01000000002", HoldFor: 15000}, env.udp, "110")
	waitFor(t, 10*time.Second, "long call on the top pair", func() bool {
		for _, l := range env.liveLegs() {
			if l.med.MediaSession().Laddr.Port == base+2 {
				return true
			}
		}
		return false
	})
	if err := first.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	env.store.wait(t, 5*time.Second)
	for i := range 3 {
		short("0100000001" + strconv.Itoa(i))
	}
	if err := long.wait(t, 30*time.Second); err != nil {
		t.Fatalf("long call: %v", err)
	}
	if n := env.svc.rtp.exhausted.Load(); n != 0 {
		t.Fatalf("%d calls refused for ports", n)
	}
}

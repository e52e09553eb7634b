package app

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// TestCallLimitDropsInMetrics (issue 17, "counters for every drop ... over
// a limit"): with limits.max_calls 1 and max_calls_per_second 0.01 (one
// token, the next in 100 s: longer than any loaded run), each INVITE refused over a limit is a 503 and a
// counted drop in /metrics under its own reason, and an INVITE with SDP
// onecall cannot answer is a 488 counted as refused{sdp}:
//   - max_calls: 5 INVITEs while the one allowed call is up;
//   - call_rate: 5 INVITEs once it ended (no call up, no token left);
//   - sdp: 1 INVITE offering only G.729.
//
// The refused INVITEs are never ACKed (rawUA): the 503s over the rate must
// not hold max_calls slots meanwhile. Before, the 503s over max_calls and
// max_calls_per_second were counted nowhere, and each 503 over a rate
// (trunk or global) kept its max_calls slot until its ACK or Timer H
// (32 s): only the first of the five was refused for the rate, the other
// four for max_calls with no call up (a trunk over its rate could so fill
// max_calls and refuse every other trunk's calls).
func TestCallLimitDropsInMetrics(t *testing.T) {
	a := fsStartAt(t, fsConfig(t, "", "max_calls: 11000", "max_calls: 1",
		"max_calls_per_second: 500", "max_calls_per_second: 0.01"), t.TempDir())
	sipDrops := func(reason string) float64 {
		return a.metric(t, `onecall_sip_dropped_total{reason="`+reason+`"}`)
	}
	refuse := func(u *rawUA, n int, what string) {
		t.Helper()
		for i := range n {
			if code, _ := u.tryInvite(fsHotline, "0105551000"+strconv.Itoa(i)); code != 503 {
				t.Fatalf("INVITE %d %s: %d, want 503", i, what, code)
			}
		}
	}
	u := newRawUA(t, "127.0.0.1", a.sipUDP())

	// The one call max_calls allows takes the one token.
	code, d := u.tryInvite(fsHotline, "01055512345")
	if code != 200 {
		t.Fatalf("first call: %d", code)
	}
	refuse(u, 5, "while the one allowed call is up")
	if n := sipDrops("max_calls"); n != 5 {
		t.Fatalf("max_calls drops %v, want 5", n)
	}
	if n := sipDrops("call_rate"); n != 0 {
		t.Fatalf("call_rate drops %v while only max_calls refused", n)
	}

	if code := u.bye(d); code != 200 {
		t.Fatalf("BYE: %d", code)
	}
	testpeers.WaitFor(t, 5*time.Second, "the call ended", func() bool { return a.sip.Active() == 0 })
	refuse(u, 5, "over max_calls_per_second")
	if n := sipDrops("call_rate"); n != 5 {
		t.Fatalf("call_rate drops %v, want 5", n)
	}
	if n := sipDrops("max_calls"); n != 5 {
		t.Fatalf("max_calls drops %v after the call ended, want still 5", n)
	}

	// Unusable SDP: 488 before any limit or port is touched.
	g729 := newRawUA(t, "127.0.0.1", a.sipUDP())
	g729.send(`
INVITE sip:` + fsHotline + `@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP ` + g729.addr() + `;branch=` + branch() + `g729
From: <sip:01055599999@127.0.0.1>;tag=g729
To: <sip:` + fsHotline + `@127.0.0.1>
Call-ID: g729-` + branch() + `
CSeq: 1 INVITE
Contact: <sip:01055599999@` + g729.addr() + `>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: ` + strconv.Itoa(len(g729SDP)) + `

` + strings.ReplaceAll(g729SDP, "\r\n", "\n"))
	if res := g729.response(10*time.Second, "INVITE"); res == nil || res.StatusCode != 488 {
		t.Fatalf("INVITE offering only G.729: %v, want 488", res)
	}
	if n := a.metric(t, `onecall_sip_invites_refused_total{reason="sdp"}`); n != 1 {
		t.Fatalf("refused{sdp} %v, want 1", n)
	}
}

const g729SDP = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"

package app

import (
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// TestTrunkUnknownNumbersLimited (issue 17, defect 9 for trunks): pike never
// limits a trunk, so a trunk flooding INVITEs to a number no hotline serves
// got every 404. Each trunk now has its own budget for them, the size of a
// stranger's pike budget (sip.pike rate 5, burst 10 here): SIPp at the
// trunk's address (127.0.0.1) sends 80 INVITEs to 0999999 in about 0.3 s and
// gets the burst's worth of 404s; the rest are dropped without a reply and
// counted as trunk_not_found in /metrics. The same trunk's call to a hotline
// is still answered, and another trunk (127.0.0.2) still gets its 404.
func TestTrunkUnknownNumbersLimited(t *testing.T) {
	cfg := fsConfig(t, "", "rate: 50 ", "rate: 5 ", "burst: 100", "burst: 10",
		"trunks:\n  - name: local\n    allow: [\"127.0.0.1\", \"::1\"]",
		"trunks:\n  - name: local\n    allow: [\"127.0.0.1\", \"::1\"]\n  - name: b\n    allow: [\"127.0.0.2\"]")
	a := fsStartAt(t, cfg, t.TempDir())
	const flood = 80
	start := time.Now()
	p := testpeers.StartSIPp(t, testpeers.SIPpOptions{
		Scenario: "testdata/unknown_number.xml", Remote: a.sipUDP(), Service: "0999999",
		Timeout: 30 * time.Second,
		// -nr: no retransmission, so each INVITE is offered once.
		Args: []string{"-m", itoa(flood), "-r", "250", "-rp", "1000", "-l", itoa(flood)},
	})
	// SIPp exits 1: its calls whose INVITE got no answer count as failed
	// (they ended at the scenario's timeout label). The 404s are counted
	// in its message trace below.
	_ = p.Wait(t, 40*time.Second)
	took := time.Since(start)
	answered := notFoundCallIDs(p.MessageLog())
	t.Logf("%d INVITEs to an unknown number from the trunk in %v: %d answered 404", flood, took.Round(time.Millisecond), answered)
	// The burst (10) plus 5/s over the run (SIPp's start-up included).
	if most := 10 + 1 + int(5*took.Seconds()); answered < 10 || answered > most {
		t.Fatalf("%d of %d INVITEs to an unknown number answered, want 10..%d (the trunk's budget)", answered, flood, most)
	}
	if n := a.metric(t, `onecall_sip_invites_refused_total{reason="number"}`); int(n) != answered {
		t.Fatalf("404 counter %v, SIPp saw %d 404s", n, answered)
	}
	// Every INVITE not answered was dropped by the trunk's budget (none is
	// lost on loopback at 80 datagrams).
	testpeers.WaitFor(t, 5*time.Second, "trunk_not_found drops in /metrics", func() bool {
		return a.metric(t, `onecall_sip_dropped_total{reason="trunk_not_found"}`) == float64(flood-answered)
	})
	if n := a.metric(t, `onecall_sip_dropped_total{reason="pike"}`); n != 0 {
		t.Fatalf("pike dropped %v requests of trunks", n)
	}
	// The trunk's calls to a hotline do not share that budget.
	trunk := newRawUA(t, "127.0.0.1", a.sipUDP())
	code, d := trunk.tryInvite(fsHotline, "01055512345")
	if code != 200 {
		t.Fatalf("the flooding trunk's call to %s: %d, want 200", fsHotline, code)
	}
	trunk.bye(d)
	// Another trunk's budget is its own.
	other := newRawUA(t, "127.0.0.2", a.sipUDP())
	if code, _ := other.tryInvite("0999999", "01055567890"); code != 404 {
		t.Fatalf("trunk b's INVITE to an unknown number: %d, want 404", code)
	}
}

// notFoundCallIDs counts the distinct calls answered 404 in a SIPp message
// trace.
func notFoundCallIDs(log string) int {
	ids := map[string]bool{}
	for _, msg := range strings.Split(log, "message received") {
		if !strings.Contains(msg, "SIP/2.0 404") {
			continue
		}
		for _, l := range strings.Split(msg, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Call-ID:"); ok {
				ids[strings.TrimSpace(v)] = true
				break
			}
		}
	}
	return len(ids)
}

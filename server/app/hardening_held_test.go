package app

import (
	"fmt"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// TestHeldAgentPhoneLostFreesEverything (issue 17, defect 5, found again
// by the stuck-state hunt): two agent phones each hold their call
// (re-INVITE sendonly, inactive); one is then killed (its sockets closed),
// the other vanishes (it answers nothing, sockets open). The held probes
// end both calls (held-agent-lost) within seconds, both agents are free,
// and every RTP port pair is released: the BYE to a dead phone is never
// answered, and diago freed a dialled dialog's media only when a BYE was,
// so each lost phone left a pair busy for good.
func TestHeldAgentPhoneLostFreesEverything(t *testing.T) {
	a := fsStartOpts(t, huntConfig(t), t.TempDir(), huntOptions)
	agents := []router.AgentID{"agent27", "agent28"}
	phones := []*huntPhone{startHuntPhone(t, a, "agent27"), startHuntPhone(t, a, "agent28")}
	testpeers.WaitFor(t, 10*time.Second, "agent27 and agent28 ready", func() bool {
		for _, u := range agents {
			if v, _ := a.agent(t, u); v.State != router.Ready {
				return false
			}
		}
		return true
	})
	for i := range phones {
		c, err := newHuntCaller(t, a.sipUDP())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.close)
		if code := c.call(fsHotline, fmt.Sprintf("0105556%04d", i)); code != 200 {
			t.Fatalf("citizen %d: %d", i, code)
		}
	}
	testpeers.WaitFor(t, 10*time.Second, "both phones in a call", func() bool {
		return phones[0].busy() != nil && phones[1].busy() != nil
	})
	// A re-INVITE that crosses the server's setup of the agent leg is
	// refused (481); the phone tries again.
	testpeers.WaitFor(t, 5*time.Second, "agent27's phone holds (sendonly)", func() bool { return phones[0].hold(false) })
	testpeers.WaitFor(t, 5*time.Second, "agent28's phone holds (inactive)", func() bool { return phones[1].hold(true) })
	phones[0].kill()
	phones[1].vanish()
	lost := time.Now()
	testpeers.WaitFor(t, 15*time.Second, "both calls ended", func() bool { return a.sip.Active() == 0 })
	t.Logf("calls ended %s after the phones were lost", time.Since(lost).Round(100*time.Millisecond))
	if recs := a.logRecords("held agent phone stopped answering in-dialog OPTIONS"); len(recs) != 2 {
		t.Fatalf("%d held-agent-lost endings, want 2", len(recs))
	}
	for _, u := range agents {
		v, _ := a.agent(t, u)
		if len(v.Active) > 0 || v.State == router.Busy {
			t.Errorf("%s still %s with %v", u, v.State, v.Active)
		}
	}
	// The vanished phone's BYE times out after 5 s; then its pair is free.
	testpeers.WaitFor(t, 10*time.Second, "every RTP port pair free", func() bool {
		return a.metric(t, `onecall_rtp_port_pairs{state="busy"}`) == 0
	})
	t.Logf("port pairs free %s after the phones were lost", time.Since(lost).Round(100*time.Millisecond))
}

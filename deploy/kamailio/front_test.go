package kamailio_test

import (
	"strings"
	"testing"
	"time"

	"onecall/deploy/kamailio"
	"onecall/internal/servetest"
)

// Three onecall nodes behind Kamailio: citizens' calls are answered by the
// live nodes; a node answering 503 is skipped for the next; a node killed
// with SIGKILL is taken out of the rotation within the probing bound and no
// call is lost meanwhile.
func TestKamailioFrontFailover(t *testing.T) {
	a := servetest.StartNode(t, 1, servetest.NodeOptions{})
	b := servetest.StartNode(t, 2, servetest.NodeOptions{})
	// c admits one call per 1000 s: every later INVITE is answered 503.
	c := servetest.StartNode(t, 3, servetest.NodeOptions{MaxCPS: "0.001"})
	probe := time.Second
	k := servetest.StartKamailio(t, kamailio.Config{Trunks: []string{"127.0.0.1"}, Nodes: []string{a.Addr(), b.Addr(), c.Addr()}, ProbeInterval: probe,
		ProbeTimeout: time.Second, FirstReply: time.Second})

	// Warm-up: c takes its one call (if round robin sends it one).
	servetest.CallsAnswered(t, k, 3, a, b, c)

	t.Run("503 goes to the next node", func(t *testing.T) {
		before := k.P.Log.Count("answered 503")
		servetest.CallsAnswered(t, k, 6, a, b)
		if k.P.Log.Count("answered 503") == before {
			t.Fatalf("no call was refused 503 by the overloaded node and retried:\n%s", k.P.Log.Tail(30))
		}
	})

	t.Run("INVITE from outside the trunks", func(t *testing.T) {
		k2 := servetest.StartKamailio(t, kamailio.Config{Trunks: []string{"192.0.2.0/24"}, Nodes: []string{a.Addr(), b.Addr()}})
		r := servetest.CitizenCall(t, k2, "110", 300)
		if r.Err == nil || !strings.Contains(r.Trace, "SIP/2.0 403") {
			t.Fatalf("call from a non-trunk source: err %v\n%s", r.Err, r.Trace)
		}
	})

	t.Run("kill -9 of a node", func(t *testing.T) {
		killed := time.Now()
		a.Kill()
		// Three calls at once right after the kill: round robin sends one
		// of them to the dead node unless a probe was quicker.
		res := servetest.CallsAnswered(t, k, 3, b)
		slowest := time.Duration(0)
		for _, r := range res {
			slowest = max(slowest, r.Took)
		}
		var down time.Duration
		for time.Since(killed) < 10*time.Second {
			if l, ok := k.P.Log.First(a.Addr(), killed); ok && (strings.Contains(l.Text, "node down") ||
				strings.Contains(l.Text, "out of rotation")) {
				down = l.At.Sub(killed)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if down == 0 {
			t.Fatalf("kamailio never took the dead node out:\n%s", k.P.Log.Tail(30))
		}
		// Probe bound: one probe period, plus the probe's own timeout
		// (or the first INVITE's FirstReply), plus scheduling slack.
		if bound := probe + time.Second + 500*time.Millisecond; down > bound {
			t.Errorf("dead node taken out after %s, bound %s", down, bound)
		}
		t.Logf("failover: dead node out of rotation %s after kill -9; slowest call meanwhile %s (SIPp run, 300 ms hold)",
			down.Round(time.Millisecond), slowest.Round(time.Millisecond))
		// Afterwards no call is sent to the dead node any more.
		after := time.Now()
		servetest.CallsAnswered(t, k, 4, b)
		if l, ok := k.P.Log.First("node sip:"+a.Addr()+" did not answer", after); ok {
			t.Errorf("a call was still sent to the dead node after it was taken out: %s", l.Text)
		}
	})
}

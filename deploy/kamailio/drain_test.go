package kamailio_test

import (
	"syscall"
	"testing"
	"time"

	"onecall/deploy/kamailio"
	"onecall/internal/servetest"
	"onecall/internal/testpeers"
)

// A node told to stop (SIGTERM) drains: its call in progress goes on to
// the end, while new calls and Kamailio's probes get 503 + Retry-After, so
// Kamailio sends the new calls to the other node.
func TestKamailioDrainingNode(t *testing.T) {
	a := servetest.StartNode(t, 1, servetest.NodeOptions{Drain: 20 * time.Second})
	b := servetest.StartNode(t, 2, servetest.NodeOptions{Drain: 20 * time.Second})
	k := servetest.StartKamailio(t, kamailio.Config{Trunks: []string{"127.0.0.1"}, Nodes: []string{a.Addr(), b.Addr()}, ProbeInterval: time.Second})

	// Two long calls at once: round robin puts one on each node.
	long := make(chan servetest.CallResult, 2)
	for range 2 {
		go func() { long <- servetest.CitizenCall(t, k, "110", 5000) }()
	}
	testpeers.WaitFor(t, 10*time.Second, "a call in progress on each node", func() bool {
		return a.ActiveCalls() == 1 && b.ActiveCalls() == 1
	})
	if err := a.P.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	drainStart := time.Now()
	testpeers.WaitFor(t, 5*time.Second, "node a draining", func() bool { return a.P.Log.Count("draining") > 0 })
	// New calls while a drains: all answered by b.
	servetest.CallsAnswered(t, k, 4, b)
	for range 2 {
		if r := <-long; r.Err != nil {
			t.Fatalf("a call in progress did not finish normally while its node drained: %v\n%s", r.Err, r.Trace)
		}
	}
	if _, ok := k.P.Log.First(a.Addr(), drainStart); !ok {
		t.Errorf("kamailio logged nothing about the draining node (503 failover or node down):\n%s", k.P.Log.Tail(20))
	}
	if l, ok := k.P.Log.First("did not answer", time.Time{}); ok {
		t.Errorf("a node let a call time out instead of answering or refusing it: %s", l.Text)
	}
}

package kamailio

import (
	"syscall"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// A node told to stop (SIGTERM) drains: its call in progress goes on to
// the end, while new calls and Kamailio's probes get 503 + Retry-After, so
// Kamailio sends the new calls to the other node.
func TestKamailioDrainingNode(t *testing.T) {
	a := startNode(t, 1, nodeOptions{Drain: 20 * time.Second})
	b := startNode(t, 2, nodeOptions{Drain: 20 * time.Second})
	k := startKamailio(t, Config{Trunks: []string{"127.0.0.1"}, Nodes: []string{a.addr(), b.addr()}, ProbeInterval: time.Second})

	// Two long calls at once: round robin puts one on each node.
	long := make(chan callResult, 2)
	for range 2 {
		go func() { long <- citizenCall(t, k, "110", 5000) }()
	}
	testpeers.WaitFor(t, 10*time.Second, "a call in progress on each node", func() bool {
		return a.activeCalls() == 1 && b.activeCalls() == 1
	})
	if err := a.p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	drainStart := time.Now()
	testpeers.WaitFor(t, 5*time.Second, "node a draining", func() bool { return a.p.log.count("draining") > 0 })
	// New calls while a drains: all answered by b.
	callsAnswered(t, k, 4, b)
	for range 2 {
		if r := <-long; r.err != nil {
			t.Fatalf("a call in progress did not finish normally while its node drained: %v\n%s", r.err, r.trace)
		}
	}
	if _, ok := k.p.log.first(a.addr(), drainStart); !ok {
		t.Errorf("kamailio logged nothing about the draining node (503 failover or node down):\n%s", k.p.log.tail(20))
	}
	if l, ok := k.p.log.first("did not answer", time.Time{}); ok {
		t.Errorf("a node let a call time out instead of answering or refusing it: %s", l.text)
	}
}

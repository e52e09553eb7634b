package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A node that stops cleanly (Node.Close) hands the Raft leadership of the
// streams it leads to another node on its way out (nats-server's shutdown
// steps its Raft leaders down to a caught-up peer), so the survivors
// append at once instead of after an election (1.5-3 s of silence).
func TestCleanStopHandsOverLeaderships(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n2 := tc.node(1)
	req := fmt.Appendf(nil, `{"placement":{"preferred":"n1"}}`)
	waitFor(t, 20*time.Second, "the log's leader on n1", func() bool {
		if streamLeader(ctx, n2.JetStream()) == "n1" {
			return true
		}
		_, _ = n2.Conn().Request("$JS.API.STREAM.LEADER.STEPDOWN."+EventStream, req, time.Second)
		return false
	})
	if _, err := n2.Log().Append(ctx, []byte("before")); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	tc.stop(0)
	closed := time.Since(stopped)
	var appended time.Duration
	waitFor(t, 15*time.Second, "an append after the stop", func() bool {
		actx, acancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer acancel()
		_, err := n2.Log().Append(actx, []byte("after"))
		appended = time.Since(stopped)
		return err == nil
	})
	t.Logf("n1 (the log's Raft leader) stopped in %v; the survivors appended %v after the stop began (new leader %s)",
		closed.Round(time.Millisecond), appended.Round(time.Millisecond), streamLeader(ctx, n2.JetStream()))
	if after := appended - closed; after > time.Second {
		t.Errorf("the survivors appended %v after n1 had stopped, want within 1 s (no election)", after)
	}
}

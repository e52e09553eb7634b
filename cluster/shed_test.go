package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A node running KeepRaftLeadersOff (as the onecall leader does) hands
// the Raft leadership of the event log and of the leader key's bucket to
// another node, also when they come back to it.
func TestKeepRaftLeadersOff(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n1 := tc.node(0)
	streams := []string{EventStream, "KV_" + LeaderBucket}
	sys, err := n1.systemConn()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	onN1 := func() bool {
		if !n1.srv.JetStreamIsLeader() {
			return false
		}
		for _, s := range streams {
			if streamLeaderOf(ctx, n1.JetStream(), s) != "n1" {
				return false
			}
		}
		return true
	}
	notOnN1 := func() bool {
		if n1.srv.JetStreamIsLeader() {
			return false
		}
		for _, s := range streams {
			if l := streamLeaderOf(ctx, n1.JetStream(), s); l == "" || l == "n1" {
				return false
			}
		}
		return true
	}
	moveToN1 := func() {
		t.Helper()
		req := fmt.Appendf(nil, `{"placement":{"preferred":"n1"}}`)
		waitFor(t, 20*time.Second, "the meta and the streams' leaders on n1", func() bool {
			if onN1() {
				return true
			}
			if !n1.srv.JetStreamIsLeader() {
				_ = metaStepDown(sys, "n1") // only the meta leader answers
			}
			for _, s := range streams {
				if streamLeaderOf(ctx, n1.JetStream(), s) != "n1" {
					_, _ = n1.Conn().Request("$JS.API.STREAM.LEADER.STEPDOWN."+s, req, time.Second)
				}
			}
			return false
		})
	}
	moveToN1()
	kctx, kcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n1.KeepRaftLeadersOff(kctx); close(done) }()
	defer func() { kcancel(); <-done }()
	start := time.Now()
	waitFor(t, 10*time.Second, "the meta and the streams' leaders off n1", notOnN1)
	t.Logf("leaders off n1 after %v", time.Since(start).Round(time.Millisecond))
	// They come back (as after a rejoin): handed over again.
	moveToN1()
	waitFor(t, 2*shedEvery+5*time.Second, "the meta and the streams' leaders off n1 again", notOnN1)
	// The log still takes appends.
	actx, acancel := context.WithTimeout(ctx, 5*time.Second)
	defer acancel()
	if _, err := n1.Log().Append(actx, []byte("after")); err != nil {
		t.Fatal(err)
	}
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// leaders samples every node's IsLeader and returns the indexes that lead.
func leaders(els []*Elector) []int {
	var out []int
	for i, e := range els {
		if e != nil && e.IsLeader() {
			out = append(out, i)
		}
	}
	return out
}

// sampler checks every 2 ms, until stopped, that at most one node believes
// it leads; it records the first violation.
type sampler struct {
	els     []*Elector
	mu      sync.Mutex
	bad     string
	samples int
	stop    chan struct{}
	done    chan struct{}
}

func startSampler(els []*Elector) *sampler {
	s := &sampler{els: els, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			l := leaders(s.els)
			s.mu.Lock()
			s.samples++
			if len(l) > 1 && s.bad == "" {
				s.bad = fmt.Sprintf("nodes %v lead at once", l)
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *sampler) finish(t *testing.T) {
	t.Helper()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bad != "" {
		t.Fatalf("two leaders: %s (after %d samples)", s.bad, s.samples)
	}
	t.Logf("%d samples, never two leaders", s.samples)
}

func campaignAll(tc *testCluster) ([]*Elector, []*atomic.Int32) {
	els := make([]*Elector, len(tc.nodes))
	terms := make([]*atomic.Int32, len(tc.nodes))
	for i := range tc.nodes {
		terms[i] = &atomic.Int32{}
		c := terms[i]
		els[i] = tc.node(i).Campaign(func(ctx context.Context) { c.Add(1) })
	}
	return els, terms
}

func TestElectionFailoverWithinFiveSeconds(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	els, _ := campaignAll(tc)
	s := startSampler(els)
	waitFor(t, 10*time.Second, "a leader", func() bool { return len(leaders(els)) == 1 })
	old := leaders(els)[0]
	oldTerm, ok := els[old].Leading()
	if !ok {
		t.Fatal("leader has no term context")
	}
	name, err := els[(old+1)%3].Leader(context.Background())
	if err != nil || name != tc.node(old).ID() {
		t.Fatalf("peer sees leader %q (%v), want %s", name, err, tc.node(old).ID())
	}

	// Kill the leader's NATS server under its node: the node stays up and
	// keeps campaigning, so its fencing (not its death) must stop it.
	killed := time.Now()
	tc.node(old).Server().Shutdown()
	var next int
	waitFor(t, 10*time.Second, "a new leader", func() bool {
		for _, i := range leaders(els) {
			if i != old {
				next = i
				return true
			}
		}
		return false
	})
	failover := time.Since(killed)
	t.Logf("failover: n%d -> n%d in %v", old+1, next+1, failover)
	fmt.Printf("cluster: leader failover after killing the leader's NATS server: %v\n", failover)
	if failover > 5*time.Second {
		t.Errorf("failover took %v, want < 5s", failover)
	}
	select {
	case <-oldTerm.Done():
	default:
		t.Error("the deposed leader's term context is still live")
	}
	if els[old].IsLeader() {
		t.Error("the deposed leader still believes it leads")
	}
	if !hasLine(tc.logs[old], "stepped down as leader") {
		t.Errorf("no step-down line in the deposed leader's log:\n%s", tc.logs[old])
	}
	// The new leader keeps its lease for a while (renewals work).
	hold := time.Now().Add(3 * time.Second)
	waitFor(t, 4*time.Second, "three seconds of stable leadership", func() bool {
		if !els[next].IsLeader() {
			t.Fatalf("n%d lost leadership", next+1)
		}
		return time.Now().After(hold)
	})
	s.finish(t)
}

func TestElectionResignHandsOverAtOnce(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	els, terms := campaignAll(tc)
	waitFor(t, 10*time.Second, "a leader", func() bool { return len(leaders(els)) == 1 })
	old := leaders(els)[0]
	if terms[old].Load() != 1 {
		t.Fatalf("onLead ran %d times on the leader", terms[old].Load())
	}
	s := startSampler(els)
	start := time.Now()
	els[old].Stop()
	waitFor(t, 5*time.Second, "a new leader", func() bool { return len(leaders(els)) == 1 })
	// Resigning deletes the key: no wait for the TTL.
	if d := time.Since(start); d > tc.config(0).LeaderTTL {
		t.Errorf("handover after resign took %v, want < TTL", d)
	}
	s.finish(t)
}

func TestElectionMinorityCannotLeadOrAppend(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	els, _ := campaignAll(tc)
	waitFor(t, 10*time.Second, "a leader", func() bool { return len(leaders(els)) == 1 })
	// Keep the leader as the survivor: the harder case, it must step down.
	keep := leaders(els)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := tc.node(keep).Log().Append(ctx, []byte("before")); err != nil {
		t.Fatal(err)
	}
	s := startSampler(els)
	for i := range 3 {
		if i != keep {
			tc.stop(i)
		}
	}
	ttl := tc.config(0).LeaderTTL
	waitFor(t, ttl, "the minority leader to step down", func() bool { return !els[keep].IsLeader() })
	// For three TTLs it neither leads again nor appends.
	until := time.Now().Add(3 * ttl)
	waitFor(t, 4*ttl, "three TTLs", func() bool {
		if els[keep].IsLeader() {
			t.Fatal("a node alone (minority) became leader")
		}
		return time.Now().After(until)
	})
	actx, acancel := context.WithTimeout(ctx, 2*time.Second)
	defer acancel()
	if seq, err := tc.node(keep).Log().Append(actx, []byte("minority")); err == nil {
		t.Fatalf("a minority appended at seq %d", seq)
	} else if errors.Is(err, ErrBehind) {
		t.Fatalf("minority append failed for the wrong reason: %v", err)
	}
	s.finish(t)
}

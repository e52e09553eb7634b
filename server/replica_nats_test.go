package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sort"
	"testing"
	"time"

	"onecall/cluster"
	"onecall/cluster/clustertest"
	"onecall/router"
)

// cluster.Log is the Log the replicas run on in a cluster.
var _ Log = (*cluster.Log)(nil)

func startNATS(t testing.TB, n int) []*cluster.Node {
	t.Helper()
	return clustertest.Start(t, n, func(c *cluster.Config) {
		c.Secret, c.SchemaVersion, c.NodeBeat = "replica-test", router.CodecVersion, 200*time.Millisecond
		c.LeaderTTL = 0 // the default
	})
}

// playReal is driver.play for real time: every event waits for its answer.
func (d *driver) playReal(ctx context.Context, r *Replica, n int) {
	d.t.Helper()
	for range n {
		ev := d.next(r)
		if _, err := r.Do(ctx, ev); err != nil && !errors.Is(err, router.ErrInvalidState) &&
			!errors.Is(err, router.ErrUnknownContact) && !errors.Is(err, router.ErrDuplicate) {
			d.t.Fatalf("Do %T: %v", ev, err)
		}
	}
}

func waitApplied(t *testing.T, seq uint64, rs ...*traced) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, r := range rs {
		for r.Applied() < seq {
			if time.Now().After(deadline) {
				t.Fatalf("replica %d applied %d, want %d", r.node, r.Applied(), seq)
			}
			<-time.After(5 * time.Millisecond) // poll
		}
	}
}

// Three replicas on a three-node JetStream log (R3) emit the same commands
// entry by entry; the leader stops, another takes over, re-issues what
// the receivers had not carried out, and every command is carried out
// once.
func TestReplicasOverNATS(t *testing.T) {
	nodes := startNATS(t, 3)
	rs := make([]*traced, 3)
	for i, nd := range nodes {
		rs[i] = startReplica(t, nd.Log(), uint16(i+1), WithReplicaTickEvery(50*time.Millisecond))
	}
	recv := &receiver{}
	dd := &Dedupe{Next: recv}
	d := newDriver(t, 4)
	rs[0].AddSink(d)
	rs[0].AddSink(dd)
	rs[1].AddSink(d)
	rs[1].AddSink(dd)
	ctx := t.Context()
	rs[0].Lead(0)
	d.playReal(ctx, rs[0].Replica, 150)
	last := rs[0].Applied()
	waitApplied(t, last, rs[1], rs[2])

	// The leader stops; replica 2 takes over without knowing how far its
	// predecessor got.
	rs[0].Follow()
	rs[0].cancel()
	<-rs[0].done
	rs[0].done <- nil
	rs[1].Lead(0)
	d.playReal(ctx, rs[1].Replica, 100)
	last = rs[1].Applied()
	waitApplied(t, last, rs[2])

	t1, t2 := encoded(t, rs[1].trace()), encoded(t, rs[2].trace())
	if !slices.Equal(t1, t2) {
		t.Fatalf("replicas 2 and 3 differ: %d and %d commands", len(t1), len(t2))
	}
	t0 := encoded(t, rs[0].trace())
	if len(t0) < 100 || !slices.Equal(t0, t1[:len(t0)]) {
		t.Fatalf("the first leader's %d commands are not the start of the others'", len(t0))
	}
	recv.mu.Lock()
	got := encoded(t, recv.done)
	recv.mu.Unlock()
	if want := encoded(t, nonEmpty(rs[1].trace())); !slices.Equal(got, want) {
		t.Fatalf("carried out %d commands, want %d once each", len(got), len(want))
	}
	if _, dropped := dd.Last(); dropped == 0 {
		t.Fatal("the takeover re-issued nothing")
	}
}

// BenchmarkReplicatedNATS measures the replicated path on a three-node
// JetStream log (R3) on this machine, leader on node 1:
//
//   - closed-loop: one contact at a time (arrive, accept, end, wrap-up;
//     the last waited for with Do): events/s bounded by latency, and the
//     latency of one event to its commands on the leader (append, R3
//     commit, read back, apply) at p50 and p99;
//   - pipelined: the transports' Submit without waiting (arrivals and
//     abandons with nobody ready), the leader batching what queues up
//     while an append is on its way: events/s.
func BenchmarkReplicatedNATS(b *testing.B) {
	nodes := startNATS(b, 3)
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	var rs []*Replica
	for i, nd := range nodes {
		r := NewReplica(clusterEngine(b), nd.Log(), uint16(i+1), WithReplicaLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		rs = append(rs, r)
		go func() { _ = r.Run(ctx) }()
	}
	lead := rs[0]
	lead.Lead(0)
	for lead.Applied() == 0 {
		<-time.After(time.Millisecond) // poll: the barrier is applied
	}
	submit := func(ev router.Event) {
		for err := lead.Submit(ev); err != nil; err = lead.Submit(ev) {
			if !errors.Is(err, ErrBusy) {
				b.Fatal(err)
			}
		}
	}
	b.Run("closed-loop", func(b *testing.B) {
		if _, err := lead.Do(ctx, router.AgentLoggedIn{Agent: "a1", Ready: true}); err != nil {
			b.Fatal(err)
		}
		var lat []time.Duration
		start := time.Now()
		n := 0
		for b.Loop() {
			id := lead.NewContactID()
			submit(router.ContactArrived{Contact: id, Channel: router.Voice, Number: "1350"})
			submit(router.OfferAccepted{Contact: id, Agent: "a1"})
			submit(router.ContactEnded{Contact: id, Reason: router.EndCompleted})
			t0 := time.Now()
			if _, err := lead.Do(ctx, router.WrapUpDone{Agent: "a1"}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
			n += 4
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		if _, err := lead.Do(ctx, router.AgentLoggedOut{Agent: "a1"}); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("pipelined", func(b *testing.B) {
		start := time.Now()
		n := 0
		for b.Loop() {
			id := lead.NewContactID()
			submit(router.ContactArrived{Contact: id, Channel: router.Voice, Number: "126"})
			submit(router.ContactAbandoned{Contact: id})
			n += 2
		}
		if _, err := lead.Do(ctx, router.Tick{}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	})
}

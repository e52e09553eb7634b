package cluster

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Readers of the log on the survivors of a kill -9 deliver the entries
// appended after it within the failover budget (5 s) when the killed
// server was JetStream's meta leader and the log's stream leader, and held
// some of the readers' consumers. A reader that lost its consumer creates
// another itself, each attempt bounded: nats.go's ordered consumer, used
// before, waited 10 s for a creation sent while the cluster had no meta
// leader, so a new onecall leader applied its takeover barrier 10-11 s
// after the kill (TestClusterLeaderKill, one run in four).
func TestLogReadersCatchUpAfterKill9(t *testing.T) {
	_, children, victim, survivors := killableCluster(t)
	victimID := fmt.Sprintf("n%d", victim+1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The log's stream leader on the meta leader too.
	req := fmt.Appendf(nil, `{"placement":{"preferred":%q}}`, victimID)
	if m, err := survivors[0].Conn().Request("$JS.API.STREAM.LEADER.STEPDOWN."+EventStream, req, 3*time.Second); err != nil {
		t.Logf("stream leader stepdown: %v", err)
	} else {
		t.Logf("stream leader stepdown: %s", m.Data)
	}
	waitFor(t, 15*time.Second, "the stream leader on "+victimID, func() bool {
		return streamLeader(ctx, survivors[0]) == victimID
	})

	w := &Log{js: survivors[0]}
	waitFor(t, 15*time.Second, "the first entries", func() bool {
		actx, acancel := context.WithTimeout(ctx, time.Second)
		defer acancel()
		_, err := w.Append(actx, []byte("before"))
		return err == nil && w.Tail() >= 5
	})
	// Eight readers on the survivors: each consumer lands on one of the
	// three servers at random, so some are on the victim's.
	const readers = 8
	var seen [readers]atomic.Uint64
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	for i := range readers {
		l := &Log{js: survivors[i%2]}
		go func() {
			_ = l.Read(rctx, 1, func(seq uint64, _ []byte) error {
				seen[i].Store(seq)
				return nil
			})
		}()
	}
	caughtUp := func(seq uint64) func() bool {
		return func() bool {
			for i := range seen {
				if seen[i].Load() < seq {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, 20*time.Second, "the readers to read the first entries", caughtUp(w.Tail()))

	killed := time.Now()
	if err := children[victim].Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	// The survivors append as soon as the log's Raft group has a leader.
	var seq uint64
	waitFor(t, 15*time.Second, "an append after the kill", func() bool {
		actx, acancel := context.WithTimeout(ctx, time.Second)
		defer acancel()
		var err error
		seq, err = w.Append(actx, []byte("after the kill"))
		return err == nil
	})
	appended := time.Since(killed)
	times := make([]time.Duration, readers)
	deadline := killed.Add(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !caughtUp(seq)() && time.Now().Before(deadline) {
		for i := range seen {
			if times[i] == 0 && seen[i].Load() >= seq {
				times[i] = time.Since(killed)
			}
		}
		<-tick.C
	}
	for i := range seen {
		if times[i] == 0 {
			times[i] = time.Since(killed)
		}
	}
	slowest := slices.Max(times)
	t.Logf("after kill -9 of %s (meta and stream leader): appended after %v, every reader had it after %v (readers: %v)",
		victimID, appended.Round(time.Millisecond), slowest.Round(time.Millisecond), times)
	if slowest > 5*time.Second {
		t.Errorf("a reader on a survivor read the entry appended after the kill %v after it, want within 5 s", slowest)
	}
}

// killableCluster starts three nodes in child processes, so that the meta
// leader, wherever the election put it, can be killed; it returns the
// index of the meta leader (the victim) and JetStream clients on the two
// others.
func killableCluster(t *testing.T) (tc *testCluster, children []*exec.Cmd, victim int, survivors []jetstream.JetStream) {
	t.Helper()
	tc = newTestCluster(t, 3)
	children = make([]*exec.Cmd, 3)
	for i := range children {
		children[i] = startChild(t, tc, i)
	}
	waitFor(t, 60*time.Second, "the three nodes to join", func() bool {
		for i := range children {
			if !hasLine(tc.logs[i], "cluster: node joined") {
				return false
			}
		}
		return true
	})
	waitFor(t, 15*time.Second, "one meta leader", func() bool {
		leaders := 0
		for i := range children {
			if leadsMeta(tc.logs[i]) {
				victim, leaders = i, leaders+1
			}
		}
		return leaders == 1
	})
	for i := range children {
		if i == victim {
			continue
		}
		nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", tc.ports[len(children)+i]),
			nats.UserInfo(clientUser, derive(tc.secret, "client")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		survivors = append(survivors, js)
	}
	return tc, children, victim, survivors
}

// leadsMeta reports whether a child's last word on the meta group is that
// it leads it.
func leadsMeta(log *syncBuf) bool {
	s := log.String()
	i := strings.LastIndex(s, metaLeaderLine)
	return i >= 0 && strings.HasPrefix(s[i+len(metaLeaderLine):], " true")
}

// streamLeader is the Raft leader of the event log's stream.
func streamLeader(ctx context.Context, js jetstream.JetStream) string {
	return streamLeaderOf(ctx, js, EventStream)
}

// streamLeaderOf is the Raft leader of stream name.
func streamLeaderOf(ctx context.Context, js jetstream.JetStream, name string) string {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	s, err := js.Stream(cctx, name)
	if err != nil {
		return ""
	}
	info, err := s.Info(cctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

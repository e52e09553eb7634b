package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"
)

// helperEnv carries a Config (as JSON) to a child test process that runs
// one node and campaigns until it is killed.
const helperEnv = "ONECALL_CLUSTER_NODE"

func TestMain(m *testing.M) {
	if js := os.Getenv(helperEnv); js != "" {
		runHelperNode(js)
		return
	}
	os.Exit(m.Run())
}

func runHelperNode(js string) {
	var cfg Config
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	nd, err := Start(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nd.Campaign(nil)
	// Say whether this server leads JetStream's meta group (the parent
	// kills the meta leader in TestLogReadersCatchUpAfterKill9).
	was := false
	for range time.Tick(50 * time.Millisecond) { // until killed
		if is := nd.Server().JetStreamIsLeader(); is != was {
			was = is
			fmt.Fprintf(os.Stderr, "%s %v\n", metaLeaderLine, is)
		}
	}
}

// metaLeaderLine starts a child's line saying whether it leads the meta
// group ("true"/"false").
const metaLeaderLine = "child: jetstream meta leader:"

// startChild starts tc's node i in a child process (the test binary,
// helperEnv), killed at the end of the test; its output goes to tc.logs[i].
func startChild(t *testing.T, tc *testCluster, i int) *exec.Cmd {
	t.Helper()
	cfg := tc.config(i)
	cfg.Logger = nil
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run", "^$")
	child.Env = append(os.Environ(), helperEnv+"="+string(js))
	child.Stderr, child.Stdout = tc.logs[i], tc.logs[i]
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() {
		_ = child.Process.Kill()
		<-exited
	})
	return child
}

// startWithChild starts tc's node 0 in a child process (startChild) and
// the others in this process, and returns the child.
func startWithChild(t *testing.T, tc *testCluster) *exec.Cmd {
	t.Helper()
	child := startChild(t, tc, 0)
	errs := make(chan error, len(tc.nodes)-1)
	for i := 1; i < len(tc.nodes); i++ {
		go func() { errs <- tc.start(i, tc.config(i)) }()
	}
	for i := 1; i < len(tc.nodes); i++ {
		if err := <-errs; err != nil {
			t.Fatalf("start: %v\nchild log:\n%s", err, tc.logs[0])
		}
	}
	return child
}

func TestElectionFailoverAfterKill9(t *testing.T) {
	tc := newTestCluster(t, 3)
	// n1 runs in a child process, started first so that it leads.
	child := startWithChild(t, tc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Watch (without campaigning yet) until the child leads.
	probe := &Elector{kv: tc.node(1).leaders}
	waitFor(t, 20*time.Second, "the child n1 to lead", func() bool {
		id, err := probe.Leader(ctx)
		return err == nil && id == "n1"
	})
	// Put the Raft leaders of the leader bucket and the log on the child
	// too, so the kill also costs them their Raft leader.
	for _, stream := range []string{"KV_" + LeaderBucket, EventStream} {
		req := fmt.Appendf(nil, `{"placement":{"preferred":%q}}`, "n1")
		m, err := tc.node(1).Conn().Request("$JS.API.STREAM.LEADER.STEPDOWN."+stream, req, 3*time.Second)
		if err != nil {
			t.Logf("stepdown %s: %v", stream, err)
		} else {
			t.Logf("stepdown %s: %s", stream, m.Data)
		}
	}
	var raftLeaders []string
	for _, stream := range []string{"KV_" + LeaderBucket, EventStream} {
		var last error
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s: last error %v\nchild log:\n%s", stream, last, tc.logs[0])
			}
		})
		waitFor(t, 10*time.Second, stream+" to have a leader", func() bool {
			cctx, ccancel := context.WithTimeout(ctx, time.Second)
			defer ccancel()
			s, err := tc.node(1).JetStream().Stream(cctx, stream)
			if err != nil {
				last = err
				return false
			}
			info, err := s.Info(cctx)
			if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
				last = fmt.Errorf("%v %+v", err, info)
				return false
			}
			raftLeaders = append(raftLeaders, stream+"@"+info.Cluster.Leader)
			return true
		})
	}
	t.Logf("raft leaders before the kill: %v", raftLeaders)
	els := []*Elector{tc.node(1).Campaign(nil), tc.node(2).Campaign(nil)}
	s := startSampler(els)

	killed := time.Now()
	if err := child.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "a new leader", func() bool { return len(leaders(els)) == 1 })
	failover := time.Since(killed)
	t.Logf("failover after kill -9 of the leader: %v", failover)
	fmt.Printf("cluster: leader failover after kill -9 of the leader's process: %v (raft leaders on it: %v)\n", failover, raftLeaders)
	if failover > 5*time.Second {
		t.Errorf("failover took %v, want < 5s", failover)
	}
	// The survivors (a quorum) append.
	lead := tc.node(1 + leaders(els)[0]).Log()
	if _, err := lead.ReadTo(ctx, 1, func(uint64, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// The log's Raft group may still be electing: retry, each attempt bounded.
	var appendErr error
	waitFor(t, 10*time.Second, "an append after the kill", func() bool {
		actx, acancel := context.WithTimeout(ctx, time.Second)
		defer acancel()
		_, appendErr = lead.Append(actx, []byte("after the kill"))
		return appendErr == nil
	})
	s.finish(t)
}

package cluster

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuf collects a node's log lines for assertions.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testCluster is n nodes on loopback, each with its own data dir and a
// route port chosen up front so every node can list all its peers.
type testCluster struct {
	t      testing.TB
	secret string
	dirs   []string
	ports  []int // route ports, then client ports
	logs   []*syncBuf
	mu     sync.Mutex
	nodes  []*Node
}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func newTestCluster(t testing.TB, n int) *testCluster {
	t.Helper()
	tc := &testCluster{t: t, secret: "s3cret-" + t.Name(), ports: freePorts(t, 2*n)}
	for range n {
		tc.dirs = append(tc.dirs, t.TempDir())
		tc.logs = append(tc.logs, &syncBuf{})
	}
	tc.nodes = make([]*Node, n)
	t.Cleanup(func() {
		for i := range tc.nodes {
			if nd := tc.node(i); nd != nil {
				nd.Close()
			}
		}
	})
	return tc
}

func (tc *testCluster) config(i int) Config {
	var routes []string
	n := len(tc.dirs)
	if n > 1 {
		for j, p := range tc.ports[:n] {
			if j != i {
				routes = append(routes, fmt.Sprintf("127.0.0.1:%d", p))
			}
		}
	}
	return Config{
		NodeID:        fmt.Sprintf("n%d", i+1),
		DataDir:       tc.dirs[i],
		Secret:        tc.secret,
		RoutePort:     tc.ports[i],
		ClientPort:    tc.ports[n+i],
		Routes:        routes,
		SchemaVersion: 1,
		LeaderTTL:     2 * time.Second,
		ReadyTimeout:  60 * time.Second,
		Logger:        slog.New(slog.NewTextHandler(tc.logs[i], &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func (tc *testCluster) node(i int) *Node {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.nodes[i]
}

// startAll starts the nodes concurrently (each waits for the others'
// quorum) and fails the test if one does not start.
func (tc *testCluster) startAll() {
	tc.t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(tc.nodes))
	for i := range tc.nodes {
		wg.Go(func() { errs[i] = tc.start(i, tc.config(i)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			tc.t.Fatalf("start n%d: %v\nlog:\n%s", i+1, err, tc.logs[i])
		}
	}
}

func (tc *testCluster) start(i int, cfg Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ReadyTimeout+5*time.Second)
	defer cancel()
	nd, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	tc.mu.Lock()
	tc.nodes[i] = nd
	tc.mu.Unlock()
	return nil
}

func (tc *testCluster) stop(i int) {
	tc.mu.Lock()
	nd := tc.nodes[i]
	tc.nodes[i] = nil
	tc.mu.Unlock()
	if nd != nil {
		nd.Close()
	}
}

// waitFor polls cond every 5 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-tick.C
	}
}

func hasLine(b *syncBuf, s string) bool { return strings.Contains(b.String(), s) }

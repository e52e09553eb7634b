// Package clustertest starts real cluster nodes (embedded NATS, JetStream
// on temporary directories, free loopback ports) for the tests of the
// packages that use the cluster.
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"onecall/cluster"
)

// Start starts n clustered nodes n1..nn on loopback (opts change each
// node's config) and closes them when
// the test ends. Each node waits for the others' quorum, so they start
// together; the test fails if one does not start within a minute.
func Start(t testing.TB, n int, opts ...func(*cluster.Config)) []*cluster.Node {
	t.Helper()
	ports := FreePorts(t, 2*n)
	nodes := make([]*cluster.Node, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		var routes []string
		for j := range n {
			if j != i && n > 1 {
				routes = append(routes, fmt.Sprintf("127.0.0.1:%d", ports[j]))
			}
		}
		cfg := cluster.Config{
			NodeID:        fmt.Sprintf("n%d", i+1),
			DataDir:       t.TempDir(),
			Secret:        "clustertest-secret",
			RoutePort:     ports[i],
			ClientPort:    ports[n+i],
			Routes:        routes,
			SchemaVersion: 1,
			LeaderTTL:     2 * time.Second,
			ReadyTimeout:  60 * time.Second,
			Logger:        slog.New(slog.DiscardHandler),
		}
		for _, o := range opts {
			o(&cfg)
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 65*time.Second)
			defer cancel()
			nodes[i], errs[i] = cluster.Start(ctx, cfg)
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, nd := range nodes {
			if nd != nil {
				nd.Close()
			}
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start n%d: %v", i+1, err)
		}
	}
	return nodes
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1 (all are held
// open together while they are picked).
func FreePorts(t testing.TB, n int) []int {
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

package servetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// Cluster is three (or more) `onecall serve` nodes in cluster mode on
// loopback, sharing one PostgreSQL database.
type Cluster struct {
	Nodes  []*Node
	Secret string
	DSN    string
	routes []int       // route port of each node
	opts   NodeOptions // what StartCluster was given
	// mu orders Rejoin's restart (a node's new process, a node replaced in
	// Nodes) before Live on other goroutines (a load's citizens).
	mu sync.Mutex
}

// ClusterSecret is the secret StartCluster gives its nodes.
const ClusterSecret = "acceptance-test-cluster-secret"

// StartCluster starts n nodes (node numbers 1..n) in cluster mode, routed
// to each other, on the PostgreSQL database dsn, and waits until all are
// ready. They start together: each waits for the others' quorum. o applies
// to every node (its Cluster and StoreDSN are set here).
func StartCluster(t testing.TB, n int, dsn string, o NodeOptions) *Cluster {
	t.Helper()
	c := &Cluster{Secret: ClusterSecret, DSN: dsn, opts: o}
	// A route port taken before its node bound it is in the other nodes'
	// routes: start the whole cluster again on other route ports.
	for attempt := 0; ; attempt++ {
		errs := c.start(t, n, o)
		var failed []string
		routeTaken := false
		for i, err := range errs {
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", c.Nodes[i].Name, err))
				routeTaken = routeTaken || strings.Contains(err.Error(), "Error listening on router port")
			}
		}
		if len(failed) == 0 {
			return c
		}
		if !routeTaken || attempt == 2 {
			t.Fatal(strings.Join(failed, "\n"))
		}
		t.Logf("a route port was taken; starting the cluster again on other route ports")
		for _, nd := range c.Nodes {
			nd.Kill()
		}
	}
}

// start launches n nodes on fresh route ports and waits until each is
// ready, launching a node again on other SIP, HTTP and RTP ports when one
// of those was taken; it returns each node's error.
func (c *Cluster) start(t testing.TB, n int, o NodeOptions) []error {
	c.routes = nil
	for range n {
		c.routes = append(c.routes, testpeers.FreeTCPPort(t))
	}
	c.Nodes = make([]*Node, n)
	for i := range n {
		c.Nodes[i] = LaunchNode(t, i+1, c.options(i+1, c.Secret, o))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A port picked free can be taken by a parallel test before the
			// node binds it: launch that node again on other SIP, HTTP and
			// RTP ports (its route port is in the others' routes and stays).
			for attempt := 0; ; attempt++ {
				errs[i] = c.Nodes[i].WaitReady(90 * time.Second)
				if errs[i] == nil || attempt == 2 || !strings.Contains(errs[i].Error(), "address already in use") ||
					strings.Contains(errs[i].Error(), "Error listening on router port") {
					return
				}
				t.Logf("%s: a port was taken; launching it again on other ports", c.Nodes[i].Name)
				c.Nodes[i] = LaunchNode(t, i+1, c.options(i+1, c.Secret, o))
			}
		}()
	}
	wg.Wait()
	return errs
}

// Rejoin restarts n (after Kill) on its ports and data and waits until it
// is ready. If one of its ports was taken by another process meanwhile, it
// launches node n again on other SIP, HTTP and RTP ports with an empty data
// directory (it catches up from the others), puts it in Nodes in n's place
// and returns it; otherwise it returns n.
func (c *Cluster) Rejoin(t testing.TB, n *Node, d time.Duration) (*Node, error) {
	t.Helper()
	c.mu.Lock()
	n.Restart(t)
	c.mu.Unlock()
	err := n.WaitReady(d)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		return n, err
	}
	t.Logf("%s: a port was taken while it was down; launching it again on other ports", n.Name)
	nn := LaunchNode(t, n.Index, c.options(n.Index, c.Secret, c.opts))
	c.mu.Lock()
	for i := range c.Nodes {
		if c.Nodes[i] == n {
			c.Nodes[i] = nn
		}
	}
	c.mu.Unlock()
	return nn, nn.WaitReady(d)
}

// RouteAddrs are the nodes' NATS route addresses.
func (c *Cluster) RouteAddrs() []string {
	var out []string
	for _, p := range c.routes {
		out = append(out, fmt.Sprintf("127.0.0.1:%d", p))
	}
	return out
}

// options are node number's options: its route port, the others' routes.
func (c *Cluster) options(number int, secret string, o NodeOptions) NodeOptions {
	var routes []string
	for i, a := range c.RouteAddrs() {
		if i+1 != number {
			routes = append(routes, a)
		}
	}
	port := 0
	if number <= len(c.routes) {
		port = c.routes[number-1]
	}
	o.StoreDSN = c.DSN
	o.Cluster = &ClusterOptions{Node: number, Secret: secret, RoutePort: port, Routes: routes, LeaderTTL: o.leaderTTL()}
	return o
}

func (o NodeOptions) leaderTTL() time.Duration {
	if o.Cluster != nil {
		return o.Cluster.LeaderTTL
	}
	return 0
}

// Launch starts one more node, number, routed to the cluster's nodes,
// with the given secret, without waiting (e.g. one the others must
// refuse).
func (c *Cluster) Launch(t testing.TB, number int, secret string, o NodeOptions) *Node {
	t.Helper()
	o = c.options(number, secret, o)
	o.Cluster.RoutePort = testpeers.FreeTCPPort(t)
	o.Cluster.Routes = c.RouteAddrs()
	return LaunchNode(t, number, o)
}

// Addrs are the nodes' SIP addresses (Kamailio's dispatcher list).
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr())
	}
	return out
}

// Live are the nodes whose process runs.
func (c *Cluster) Live() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Node
	for _, n := range c.Nodes {
		if !n.P.Exited() {
			out = append(out, n)
		}
	}
	return out
}

// Leader returns the live node that most recently logged its election as
// leader after since (nil if none did), and when it logged it.
func (c *Cluster) Leader(since time.Time) (*Node, time.Time) {
	var best *Node
	var at time.Time
	for _, n := range c.Live() {
		if l, ok := n.P.Log.Last(LeaderLine, since); ok && l.At.After(at) {
			if s, down := n.P.Log.Last(StepDownLine, since); down && s.At.After(l.At) {
				continue
			}
			best, at = n, l.At
		}
	}
	return best, at
}

// WaitLeader waits up to d for a live node to log its election after
// since.
func (c *Cluster) WaitLeader(t testing.TB, d time.Duration, since time.Time) (*Node, time.Time) {
	t.Helper()
	var n *Node
	var at time.Time
	testpeers.WaitFor(t, d, "a leader elected", func() bool { n, at = c.Leader(since); return n != nil })
	return n, at
}

// Log lines of the cluster package the harness watches.
const (
	JoinedLine   = "cluster: node joined"
	LeaderLine   = "cluster: elected leader"
	StepDownLine = "cluster: stepped down as leader"
)

// Tails returns the last n lines of every node's log, for failures,
// without NATS's retries of routes to a dead peer (one a second per
// route, they would fill the tail).
func (c *Cluster) Tails(n int) string {
	var b strings.Builder
	for _, nd := range c.Nodes {
		fmt.Fprintf(&b, "--- %s:\n%s", nd.Name, nd.P.Log.TailWithout(n, "Error trying to connect to route"))
	}
	return b.String()
}

// SaveLogs writes every node's whole log to dir/<node>.log, and those of
// its earlier processes (before a kill) to dir/<node>.run<N>.log.
func (c *Cluster) SaveLogs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		for i, p := range n.prev {
			if err := p.Log.Save(filepath.Join(dir, fmt.Sprintf("%s.run%d.log", n.Name, i+1))); err != nil {
				return err
			}
		}
		if err := n.P.Log.Save(filepath.Join(dir, n.Name+".log")); err != nil {
			return err
		}
	}
	return nil
}

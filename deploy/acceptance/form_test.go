package acceptance

import (
	"strings"
	"testing"
	"time"

	"onecall/deploy/kamailio"
	"onecall/internal/pgtest"
	"onecall/internal/servetest"
	"onecall/internal/testpeers"
)

// Three nodes in cluster mode on one PostgreSQL form one NATS cluster
// (each logs that it joined with three replicas), and Kamailio in front
// routes citizens' calls to them. A fourth node with another secret is
// refused: it exits with a log line naming the wrong cluster secret, and
// the peers log that they refused it.
func TestClusterFormsBehindKamailio(t *testing.T) {
	dsn := pgtest.Shared(t).Database(t)
	c := servetest.StartCluster(t, 3, dsn, servetest.NodeOptions{})
	for _, n := range c.Nodes {
		l, ok := n.P.Log.First(servetest.JoinedLine, time.Time{})
		if !ok || !strings.Contains(l.Text, "replicas=3") {
			t.Fatalf("%s did not log joining a three-replica cluster:\n%s", n.Name, n.P.Log.Tail(30))
		}
	}
	k := servetest.StartKamailio(t, kamailio.Config{Trunks: []string{"127.0.0.1"}, Nodes: c.Addrs(),
		ProbeInterval: time.Second, ProbeTimeout: time.Second, FirstReply: time.Second})
	res := servetest.CallsAnswered(t, k, 3, c.Nodes...)
	by := map[int]bool{}
	for _, r := range res {
		by[r.Node] = true
	}
	t.Logf("three calls through Kamailio answered by %d of the three nodes", len(by))

	t.Run("wrong secret", func(t *testing.T) {
		bad := c.Launch(t, 4, "another-cluster-secret-entirely", servetest.NodeOptions{})
		select {
		case <-bad.P.Done():
		case <-time.After(60 * time.Second):
			t.Fatalf("a node with a wrong secret still runs after 60 s:\n%s", bad.P.Log.Tail(30))
		}
		if _, ok := bad.P.Log.First("wrong cluster secret", time.Time{}); !ok {
			t.Fatalf("the refused node's log does not name the wrong secret:\n%s", bad.P.Log.Tail(30))
		}
		testpeers.WaitFor(t, 10*time.Second, "a peer logging the refusal", func() bool {
			for _, n := range c.Nodes {
				if _, ok := n.P.Log.First("wrong credentials (wrong cluster secret)", time.Time{}); ok {
					return true
				}
			}
			return false
		})
		for _, n := range c.Nodes {
			if n.P.Exited() || !n.Ready() {
				t.Fatalf("%s is not ready after refusing the node:\n%s", n.Name, n.P.Log.Tail(30))
			}
		}
	})
}

package acceptance

import (
	"testing"
	"time"

	"onecall/internal/pgtest"
	"onecall/internal/servetest"
)

// The leader of three nodes is killed (-9): another node is elected and
// chats started after the kill are offered again, to agents whose consoles
// are on other nodes, within 5 s. The killed node restarts and rejoins
// without a restart of the others; then the new leader is killed too and
// offers flow again within 5 s.
func TestClusterLeaderKill(t *testing.T) {
	dsn := pgtest.Shared(t).Database(t)
	c := servetest.StartCluster(t, 3, dsn, servetest.NodeOptions{})
	leader, _ := c.WaitLeader(t, 20*time.Second, time.Time{})
	probe := servetest.OfferProbe{Number: "110", Lang: "ko"}

	// agent01 and agent02 (the two who take 110 in Korean) on the two
	// other nodes.
	var cons []*servetest.Console
	users := []string{"agent01", "agent02"}
	for _, n := range c.Nodes {
		if n != leader {
			k := servetest.OpenConsole(t, n, users[len(cons)], "demo")
			k.Watch(nil)
			if _, err := k.Call("state", map[string]any{"state": "ready"}, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			cons = append(cons, k)
		}
	}
	if d := probe.FirstOffer(t, c, cons, time.Now(), 20*time.Second); d > 5*time.Second {
		t.Fatalf("before any kill a chat took %s to be offered", d)
	}

	kill := func(n *servetest.Node) (elected, offers time.Duration) {
		t.Helper()
		killed := time.Now()
		n.Kill()
		_, at := c.WaitLeader(t, 15*time.Second, killed)
		offers = probe.FirstOffer(t, c, cons, killed, 30*time.Second)
		return at.Sub(killed), offers
	}
	elected, offers := kill(leader)
	t.Logf("kill -9 of the leader %s: new leader elected after %s, new offers after %s",
		leader.Name, elected.Round(time.Millisecond), offers.Round(time.Millisecond))
	if offers > 5*time.Second {
		t.Errorf("offers flowed again %s after the leader's kill; want within 5 s\n%s", offers, c.Tails(80))
	}

	// The killed node rejoins; the others keep running.
	restarted := time.Now()
	first, err := c.Rejoin(t, leader, 90*time.Second)
	if err != nil {
		t.Fatalf("%s after restart: %v", first.Name, err)
	}
	if _, ok := first.P.Log.First(servetest.JoinedLine, restarted); !ok {
		t.Fatalf("%s did not rejoin:\n%s", first.Name, first.P.Log.Tail(30))
	}
	for _, n := range c.Nodes {
		if n.P.Exited() {
			t.Fatalf("%s stopped while %s rejoined:\n%s", n.Name, first.Name, n.P.Log.Tail(30))
		}
	}
	t.Logf("%s rejoined and was ready %s after its restart", first.Name, time.Since(restarted).Round(time.Millisecond))

	// Kill the new leader; its agent's console moves to the rejoined node
	// first, so the agents left are reachable.
	second, _ := c.Leader(time.Time{})
	if second == nil || second == first {
		t.Fatalf("no leader other than the rejoined node:\n%s", c.Tails(20))
	}
	for i, k := range cons {
		if k.Node == second {
			k.WS.Close()
			nk := servetest.OpenConsole(t, first, k.User, "demo")
			nk.Watch(nil)
			if _, err := nk.Call("state", map[string]any{"state": "ready"}, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			cons[i] = nk
		}
	}
	elected, offers = kill(second)
	t.Logf("kill -9 of the next leader %s: new leader elected after %s, new offers after %s",
		second.Name, elected.Round(time.Millisecond), offers.Round(time.Millisecond))
	if offers > 5*time.Second {
		t.Errorf("offers flowed again %s after the second kill; want within 5 s\n%s", offers, c.Tails(80))
	}
}

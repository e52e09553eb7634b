package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/cluster/clustertest"
	"onecall/configs"
	"onecall/console"
	"onecall/internal/pgtest"
	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// clusterNode is one App of a three-node cluster in this process, with the
// commands its transports received (testSink).
type clusterNode struct {
	*fsApp
	n int
	// waits gets each contact whose ContactStateChanged Waiting the
	// node's transports received, with the time.
	waits chan waitSeen

	mu     sync.Mutex
	states []router.AgentStateChanged // every agent state change received
}

type waitSeen struct {
	id router.ContactID
	at time.Time
}

func (c *clusterNode) Deliver(cmds []router.Command) {
	now := time.Now()
	for _, cmd := range cmds {
		if ac, ok := cmd.(router.AgentStateChanged); ok {
			c.mu.Lock()
			c.states = append(c.states, ac)
			c.mu.Unlock()
		}
		if sc, ok := cmd.(router.ContactStateChanged); ok && sc.State == router.Waiting {
			select {
			case c.waits <- waitSeen{sc.Contact, now}:
			default:
			}
		}
	}
}

// agentStates returns the state changes of agent received since from.
func (c *clusterNode) agentStates(agent router.AgentID, from time.Time) []router.AgentStateChanged {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []router.AgentStateChanged
	for _, s := range c.states {
		if s.Agent == agent && !s.At.Before(from) {
			out = append(out, s)
		}
	}
	return out
}

// waitingSeen returns when the node's transports got id's Waiting.
func (c *clusterNode) waitingSeen(t *testing.T, id router.ContactID) time.Time {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case w := <-c.waits:
			if w.id == id {
				return w.at
			}
		case <-timeout:
			t.Fatalf("n%d: no Waiting command for contact %d", c.n, id)
		}
	}
}

// The cluster tests share one PostgreSQL server (a fresh database each).
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// startCluster starts three Apps as nodes 1-3 of one cluster on one
// PostgreSQL database (a real server, internal/pgtest), the shipped
// configuration with the demo roster seeded once.
func startCluster(t *testing.T) []*clusterNode {
	t.Helper()
	return startClusterWith(t, "", nil)
}

// startClusterWith is startCluster with clusterYAML appended to each
// node's cluster: block (indented keys, e.g. "  node_lost_after: 3s\n") and
// edit applied to each node's Options.
// replace are pairs of old and new text of the nodes' onecall.yaml
// (fsConfig).
func startClusterWith(t *testing.T, clusterYAML string, edit func(*Options), replace ...string) []*clusterNode {
	t.Helper()
	dsn := pgtest.Shared(t).Database(t)
	base := fsConfig(t, "")
	bundle, err := configs.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenDriver(t.Context(), configs.StorePostgres, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := console.SeedUsers(t.Context(), st, seedUsers(bundle.Roster), bundle.Server.SIP.Realm); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	const n = 3
	ports := clustertest.FreePorts(t, n)
	nodes := make([]*clusterNode, n)
	apps := make([]*App, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, fmt.Sprintf("%q", fmt.Sprintf("127.0.0.1:%d", ports[j])))
			}
		}
		dir := fsConfig(t, "", replace...)
		extra := fmt.Sprintf("\nstore:\n  driver: postgres\n  dsn: %q\ncluster:\n  enabled: true\n  node: %d\n"+
			"  route_port: %d\n  client_port: 0\n  routes: [%s]\n  secret: cluster-test-secret-0123\n  leader_ttl: 1s\n",
			dsn, i+1, ports[i], strings.Join(routes, ", ")) + clusterYAML
		f, err := os.OpenFile(filepath.Join(dir, "onecall.yaml"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(extra); err != nil {
			t.Fatal(err)
		}
		f.Close()
		cn := &clusterNode{n: i + 1, waits: make(chan waitSeen, 4096)}
		nodes[i] = cn
		logs := &testpeers.Buffer{}
		cn.fsApp = &fsApp{name: fmt.Sprintf("n%d", i+1), logs: logs}
		opts := Options{
			ConfigPath: dir, DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0",
			Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
			DrainTimeout: time.Second, testSink: cn,
		}
		if edit != nil {
			edit(&opts)
		}
		// Each node waits in New for the others (the R3 stream needs
		// three servers).
		wg.Go(func() { apps[i], errs[i] = New(t.Context(), opts) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, a := range apps {
				if a != nil {
					_ = a.Shutdown(context.Background())
				}
			}
			t.Fatalf("node %d: New: %v", i+1, err)
		}
	}
	for i, a := range apps {
		nodes[i].App = a
		if err := a.Start(t.Context()); err != nil {
			t.Fatalf("node %d: Start: %v", i+1, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := a.Shutdown(ctx); err != nil {
				t.Errorf("node %d: Shutdown: %v", i+1, err)
			}
			if t.Failed() {
				nodes[i].dumpLog(t)
			}
		})
	}
	return nodes
}

// leaderOf waits until exactly one of nodes leads and returns it.
func leaderOf(t *testing.T, nodes []*clusterNode, d time.Duration) *clusterNode {
	t.Helper()
	var lead *clusterNode
	testpeers.WaitFor(t, d, "one routing leader", func() bool {
		lead = nil
		count := 0
		for _, c := range nodes {
			if c.ClusterFront().Leading() {
				lead, count = c, count+1
			}
		}
		return count == 1
	})
	return lead
}

// TestClusterServe: three `onecall serve` nodes (Apps) form a cluster on
// an embedded NATS and a real PostgreSQL. A chat started on one node is
// offered to an agent whose console is on another, and accepted there over
// the real WebSockets; a chat waiting when the leader's App stops is still
// in line after a follower takes over, and is offered and accepted. Then
// the event->command latency through the cluster front is measured.
func TestClusterServe(t *testing.T) {
	nodes := startCluster(t)
	lead := leaderOf(t, nodes, 20*time.Second)
	var others []*clusterNode
	for _, c := range nodes {
		if c != lead {
			others = append(others, c)
		}
	}
	chatNode, agentNode := others[0], others[1]
	t.Logf("leader n%d, chats on n%d, agent01's console on n%d", lead.n, chatNode.n, agentNode.n)

	// /readyz says the role and the applied sequence.
	for _, c := range nodes {
		_, body := get(t, "http://"+c.HTTPAddr()+"/readyz")
		role := "follower"
		if c == lead {
			role = "leader"
		}
		if !strings.Contains(body, fmt.Sprintf("cluster node n%d: %s, applied seq ", c.n, role)) {
			t.Errorf("n%d /readyz: %q, want its role %s", c.n, body, role)
		}
	}
	if v := lead.metric(t, "onecall_cluster_leader"); v != 1 {
		t.Errorf("leader's onecall_cluster_leader %v, want 1", v)
	}
	if v := chatNode.metric(t, "onecall_cluster_leader"); v != 0 {
		t.Errorf("follower's onecall_cluster_leader %v, want 0", v)
	}

	con := agentNode.fsSignIn(t, "agent01")
	con.mustCall("state", map[string]any{"state": "ready"})

	// A chat on chatNode, offered to agent01 on agentNode, accepted there.
	cit := startChat(t, &websocket.Dialer{HandshakeTimeout: 5 * time.Second}, "http://"+chatNode.HTTPAddr())
	if f := cit.begin(""); f["type"] != "started" {
		t.Fatalf("chat not started: %v", f)
	}
	var offer struct {
		ID uint64 `json:"id"`
	}
	json.Unmarshal(con.event("offer", nil), &offer)
	if got := server.ContactIDNode(router.ContactID(offer.ID)); int(got) != chatNode.n {
		t.Fatalf("offered contact %d carries node %d, want the chat's node %d", offer.ID, got, chatNode.n)
	}
	con.mustCall("accept", map[string]any{"contact": offer.ID})
	con.event("connected", func(d json.RawMessage) bool {
		var v struct {
			ID uint64 `json:"id"`
		}
		return json.Unmarshal(d, &v) == nil && v.ID == offer.ID
	})
	cit.next("agent_joined")
	t.Logf("chat %d from n%d accepted by agent01 on n%d", offer.ID, chatNode.n, agentNode.n)

	// agent01 takes a break; a second chat waits.
	con.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	cit2 := startChat(t, &websocket.Dialer{HandshakeTimeout: 5 * time.Second}, "http://"+chatNode.HTTPAddr())
	if f := cit2.begin(""); f["type"] != "started" {
		t.Fatalf("second chat not started: %v", f)
	}
	waiting := func(c *clusterNode) []router.ContactID {
		var ids []router.ContactID
		_ = c.Front().Query(t.Context(), func(e *router.Engine) {
			for _, v := range e.LiveContacts(router.Chat) {
				if v.State == router.Waiting {
					ids = append(ids, v.ID)
				}
			}
		})
		return ids
	}
	var second router.ContactID
	testpeers.WaitFor(t, 10*time.Second, "the second chat waiting on every replica", func() bool {
		w := waiting(chatNode)
		if len(w) != 1 {
			return false
		}
		second = w[0]
		return slices.Equal(waiting(lead), w) && slices.Equal(waiting(agentNode), w)
	})

	// The leader's App stops; a follower takes over with the chat still
	// in line.
	stopped := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	if err := lead.Shutdown(ctx); err != nil {
		t.Fatalf("leader shutdown: %v", err)
	}
	cancel()
	next := leaderOf(t, others, 15*time.Second)
	t.Logf("n%d leads %s after n%d stopped", next.n, time.Since(stopped).Round(time.Millisecond), lead.n)
	if w := waiting(next); !slices.Equal(w, []router.ContactID{second}) {
		t.Fatalf("after the takeover the waiting chats are %v, want [%d]", w, second)
	}
	// The stopped node's Raft groups (stream, buckets) elect new leaders
	// within seconds; until then the engine answers busy or times out,
	// as the console's agent sees, and the agent tries again.
	testpeers.WaitFor(t, 30*time.Second, "agent01 ready through the new leader", func() bool {
		m := con.call("state", map[string]any{"state": "ready"})
		if m.T != "reply" {
			t.Logf("agent01 ready after the takeover: %s (%s), trying again", m.Error, m.Code)
		}
		return m.T == "reply"
	})
	t.Logf("routing answers %s after n%d stopped", time.Since(stopped).Round(time.Millisecond), lead.n)
	json.Unmarshal(con.event("offer", func(d json.RawMessage) bool {
		var v struct {
			ID uint64 `json:"id"`
		}
		return json.Unmarshal(d, &v) == nil && v.ID == uint64(second)
	}), &offer)
	con.mustCall("accept", map[string]any{"contact": offer.ID})
	cit2.next("agent_joined")

	// Event -> command latency: a follower submits an arrival; the clock
	// stops when its own transports receive the command (follower ->
	// leader -> R3 log -> apply -> fan-out -> follower).
	var follower *clusterNode
	for _, c := range others {
		if c != next {
			follower = c
		}
	}
	const samples = 200
	for len(follower.waits) > 0 {
		<-follower.waits
	}
	lat := make([]time.Duration, 0, samples)
	for range samples {
		id := follower.Front().NewContactID()
		start := time.Now()
		if err := follower.Front().Submit(router.ContactArrived{Contact: id, Channel: router.Chat, Number: fsHotline,
			Arrived: start}); err != nil {
			t.Fatalf("submit: %v", err)
		}
		lat = append(lat, follower.waitingSeen(t, id).Sub(start))
		if err := follower.Front().Submit(router.ContactEnded{Contact: id, Reason: router.EndAbandoned}); err != nil {
			t.Fatalf("submit: %v", err)
		}
	}
	slices.Sort(lat)
	t.Logf("event->command latency through the cluster front (follower submit -> command on the follower), %d samples: p50 %v p99 %v max %v",
		samples, lat[samples/2], lat[samples*99/100], lat[samples-1])
}

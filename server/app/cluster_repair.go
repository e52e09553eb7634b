package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"onecall/cluster"
	"onecall/console"
	"onecall/console/chatbridge"
	"onecall/router"
	"onecall/server"
)

// What a lost node held besides the media of its calls (issue 14,
// docs/cluster.md "When a node dies"): its agents' consoles and its
// citizens' chats live outside the routing engine, so the engine's
// NodeLost cannot see them. The leader's server.NodeWatch calls these
// repairs for every silent node that holds some:
//
//   - consoles (consoleRepair): each node records in the KV bucket
//     onecall_console_node which node an agent's console connected to
//     last (consoleNodes). An agent still logged in whose console was on
//     the lost node goes not-ready "connection_lost" at once (no offer to
//     an empty seat) and is logged out once the node has been silent for
//     the console's logout grace, unless the console came back on another
//     node meanwhile (its entry then names that node);
//   - chats (chatRepair): a chat whose owner (onecall_chat_owner) is the
//     lost node and whose citizen has not resumed elsewhere within the
//     chat's detach grace ends with the reason node-lost; its transcript
//     stays in the store.
//
// Each repair reads the engine before it acts and acts again only when a
// second later the engine still shows it undone, so calling it at every
// check is cheap and a new leader simply carries on.

// ConsoleBucket maps an agent id (base64url) to the id of the node its
// console connected to last.
const ConsoleBucket = "onecall_console_node"

// consoleTTL bounds how long an entry outlives its console's last
// connection (a shift is much shorter).
const consoleTTL = 24 * time.Hour

// repairAgain is how long a repair waits for its event to be applied
// before it submits it again.
const repairAgain = time.Second

// consoleNodes is this node's view of where every agent's console is:
// written when a console connects here (console.Options.Presence) and
// watched from the bucket.
type consoleNodes struct {
	kv   jetstream.KeyValue
	self string
	log  *slog.Logger

	mu      sync.Mutex
	at      map[router.AgentID]string // from the watch (and this node's writes)
	pending map[router.AgentID]bool   // writes queued: here or not
	wake    chan struct{}
}

func consoleKey(a router.AgentID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(a))
}

func newConsoleNodes(ctx context.Context, nd *cluster.Node, log *slog.Logger) (*consoleNodes, error) {
	kv, err := cluster.EnsureKeyValue(ctx, nd.JetStream(), jetstream.KeyValueConfig{
		Bucket: ConsoleBucket, History: 1, TTL: consoleTTL, Storage: jetstream.FileStorage, Replicas: nd.Replicas(),
	})
	if err != nil {
		return nil, fmt.Errorf("console nodes: %w", err)
	}
	return &consoleNodes{kv: kv, self: nd.ID(), log: log, at: map[router.AgentID]string{},
		pending: map[router.AgentID]bool{}, wake: make(chan struct{}, 1)}, nil
}

// Presence is console.Options.Presence: it queues the write and returns.
func (c *consoleNodes) Presence(agent router.AgentID, here bool) {
	c.mu.Lock()
	c.pending[agent] = here
	if here {
		c.at[agent] = c.self
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run writes the queued presences and watches the bucket until ctx ends.
func (c *consoleNodes) run(ctx context.Context) {
	go c.watch(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		c.mu.Lock()
		batch := c.pending
		c.pending = map[router.AgentID]bool{}
		c.mu.Unlock()
		for agent, here := range batch {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			var err error
			if here {
				_, err = c.kv.Put(wctx, consoleKey(agent), []byte(c.self))
			} else {
				err = c.forget(wctx, agent, c.self)
			}
			cancel()
			if err != nil && ctx.Err() == nil {
				c.log.Warn("cluster: console location not recorded", "agent_id", agent, "here", here, "err", err)
			}
		}
	}
}

// watch follows the bucket, starting again when its watcher stops.
func (c *consoleNodes) watch(ctx context.Context) {
	for ctx.Err() == nil {
		w, err := c.kv.WatchAll(ctx)
		if err == nil {
			c.follow(ctx, w)
			_ = w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *consoleNodes) follow(ctx context.Context, w jetstream.KeyWatcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				continue
			}
			b, err := base64.RawURLEncoding.DecodeString(e.Key())
			if err != nil {
				continue
			}
			agent := router.AgentID(b)
			c.mu.Lock()
			if e.Operation() == jetstream.KeyValuePut {
				c.at[agent] = string(e.Value())
			} else {
				delete(c.at, agent)
			}
			c.mu.Unlock()
		}
	}
}

// forget deletes agent's entry if it still names node.
func (c *consoleNodes) forget(ctx context.Context, agent router.AgentID, node string) error {
	e, err := c.kv.Get(ctx, consoleKey(agent))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		c.drop(agent, node)
		return nil
	}
	if err != nil {
		return err
	}
	if string(e.Value()) != node {
		return nil
	}
	if err := c.kv.Delete(ctx, consoleKey(agent), jetstream.LastRevision(e.Revision())); err != nil {
		return err
	}
	c.drop(agent, node)
	return nil
}

func (c *consoleNodes) drop(agent router.AgentID, node string) {
	c.mu.Lock()
	if c.at[agent] == node {
		delete(c.at, agent)
	}
	c.mu.Unlock()
}

// Where is the node agent's console connected to last ("" unknown).
func (c *consoleNodes) Where(agent router.AgentID) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at[agent]
}

// Elsewhere is console.Options.Elsewhere: the agent's console connected
// to another node after it left this one.
func (c *consoleNodes) Elsewhere(agent router.AgentID) bool {
	n := c.Where(agent)
	return n != "" && n != c.self
}

// holding returns the nodes with consoles recorded on them.
func (c *consoleNodes) holding() map[uint16]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[uint16]bool{}
	for _, n := range c.at {
		if num, ok := cluster.NodeNumber(n); ok {
			out[num] = true
		}
	}
	return out
}

// on returns the agents whose console is recorded on node.
func (c *consoleNodes) on(node string) []router.AgentID {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []router.AgentID
	for a, n := range c.at {
		if n == node {
			out = append(out, a)
		}
	}
	return out
}

// again remembers when a repair last submitted something for a key, so it
// is submitted again only once repairAgain passed (it runs on the watch's
// goroutine only).
type again map[string]time.Time

func (g again) due(key string, now time.Time) bool {
	if t, ok := g[key]; ok && now.Sub(t) < repairAgain {
		return false
	}
	g[key] = now
	return true
}

// consoleRepair logs out (after the grace) the agents whose console was on
// a lost node.
type consoleRepair struct {
	rep     *server.Replica
	nodes   *consoleNodes
	grace   func() time.Duration
	log     *slog.Logger
	repairs *prometheus.CounterVec
	sent    again
}

func (r *consoleRepair) Holding() map[uint16]bool { return r.nodes.holding() }

func (r *consoleRepair) Repair(ctx context.Context, node uint16, silent time.Duration) {
	id := server.NodeName(node)
	agents := r.nodes.on(id)
	if len(agents) == 0 {
		return
	}
	views := make(map[router.AgentID]router.AgentView, len(agents))
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	err := r.rep.Query(qctx, func(e *router.Engine) {
		for _, a := range agents {
			if v, ok := e.Agent(a); ok {
				views[a] = v
			}
		}
	})
	cancel()
	if err != nil {
		return
	}
	now := time.Now()
	out := silent >= r.grace()
	for _, a := range agents {
		v := views[a]
		if !v.LoggedIn {
			fctx, cancel := context.WithTimeout(ctx, time.Second)
			if err := r.nodes.forget(fctx, a, id); err != nil {
				r.log.Warn("cluster: console entry of a lost node not removed", "agent_id", a, "node", node, "err", err)
			}
			cancel()
			continue
		}
		switch {
		case out && r.sent.due("out/"+string(a), now):
			if err := r.rep.Submit(router.AgentLoggedOut{Agent: a}); err != nil {
				r.log.Warn("cluster: logout of an agent whose console was on a lost node not submitted", "agent_id", a, "err", err)
				continue
			}
			r.repairs.WithLabelValues("console_logout").Inc()
			r.log.Warn("cluster: node lost: agent logged out, its console did not come back", "agent_id", a,
				"node", node, "silent_ms", silent.Milliseconds())
		case !out && !(v.State == router.NotReady && v.Reason == console.ReasonConnectionLost) &&
			r.sent.due("away/"+string(a), now):
			if err := r.rep.Submit(router.AgentStateRequested{Agent: a, State: router.NotReady,
				Reason: console.ReasonConnectionLost}); err != nil {
				r.log.Warn("cluster: not-ready of an agent whose console was on a lost node not submitted", "agent_id", a, "err", err)
				continue
			}
			r.repairs.WithLabelValues("console_away").Inc()
			r.log.Warn("cluster: node lost: agent not ready until the console comes back", "agent_id", a,
				"node", node, "silent_ms", silent.Milliseconds())
		}
	}
}

// chatRepair ends, after the chat's detach grace, the chats whose owner is
// a lost node.
type chatRepair struct {
	rep     *server.Replica
	owners  *chatbridge.Cluster
	grace   time.Duration
	log     *slog.Logger
	repairs *prometheus.CounterVec
	sent    again
}

func (r *chatRepair) Holding() map[uint16]bool {
	out := map[uint16]bool{}
	for n := range r.owners.Holding() {
		if num, ok := cluster.NodeNumber(n); ok {
			out[num] = true
		}
	}
	return out
}

func (r *chatRepair) Repair(ctx context.Context, node uint16, silent time.Duration) {
	if silent < r.grace {
		return
	}
	id := server.NodeName(node)
	chats := r.owners.OwnedBy(id)
	if len(chats) == 0 {
		return
	}
	live := make(map[router.ContactID]bool, len(chats))
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	err := r.rep.Query(qctx, func(e *router.Engine) {
		for _, c := range chats {
			if v, ok := e.Contact(c); ok && v.State != router.Ended {
				live[c] = true
			}
		}
	})
	cancel()
	if err != nil {
		return
	}
	now := time.Now()
	for _, c := range chats {
		if !live[c] {
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			if err := r.owners.Disown(dctx, c, id); err != nil {
				r.log.Warn("cluster: owner entry of a lost node's chat not removed", "contact_id", uint64(c), "err", err)
			}
			cancel()
			continue
		}
		if !r.sent.due(strconv.FormatUint(uint64(c), 10), now) {
			continue
		}
		if err := r.rep.Submit(router.ContactEnded{Contact: c, Reason: router.EndNodeLost}); err != nil {
			r.log.Warn("cluster: end of a lost node's chat not submitted", "contact_id", uint64(c), "err", err)
			continue
		}
		r.repairs.WithLabelValues("chat_ended").Inc()
		r.log.Warn("cluster: node lost: chat ended, its citizen did not resume elsewhere", "contact_id", uint64(c),
			"node", node, "silent_ms", silent.Milliseconds())
	}
}

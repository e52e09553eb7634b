package app

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strconv"
	"time"

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
type consoleNodes struct{ m *nodeMap }

func consoleKey(a router.AgentID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(a))
}

func consoleKeyAgent(key string) (router.AgentID, bool) {
	b, err := base64.RawURLEncoding.DecodeString(key)
	return router.AgentID(b), err == nil
}

func newConsoleNodes(ctx context.Context, nd *cluster.Node, log *slog.Logger) (*consoleNodes, error) {
	m, err := openNodeMap(ctx, nd, ConsoleBucket, "console", consoleTTL, log)
	if err != nil {
		return nil, err
	}
	return &consoleNodes{m: m}, nil
}

// Presence is console.Options.Presence: it queues the write and returns.
func (c *consoleNodes) Presence(agent router.AgentID, here bool) {
	c.m.Presence(consoleKey(agent), here)
}

func (c *consoleNodes) run(ctx context.Context) { c.m.run(ctx) }

// forget deletes agent's entry if it still names node.
func (c *consoleNodes) forget(ctx context.Context, agent router.AgentID, node string) error {
	return c.m.forget(ctx, consoleKey(agent), node)
}

// Where is the node agent's console connected to last ("" unknown).
func (c *consoleNodes) Where(agent router.AgentID) string { return c.m.Where(consoleKey(agent)) }

// Elsewhere is console.Options.Elsewhere: the agent's console connected
// to another node after it left this one.
func (c *consoleNodes) Elsewhere(agent router.AgentID) bool {
	n := c.Where(agent)
	return n != "" && n != c.m.self
}

// on returns the agents whose console was recorded on node before
// before (zero: all).
func (c *consoleNodes) on(node string, before time.Time) []router.AgentID {
	var out []router.AgentID
	for _, k := range c.m.on(node, before) {
		if a, ok := consoleKeyAgent(k); ok {
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

func (r *consoleRepair) Holding() map[uint16]bool {
	out := map[uint16]bool{}
	for n := range r.nodes.m.holding() {
		out[n] = true
	}
	return out
}

func (r *consoleRepair) Repair(ctx context.Context, node uint16, silent time.Duration) {
	r.act(ctx, node, time.Time{}, silent)
}

func (r *consoleRepair) Oldest() map[uint16]time.Time { return r.nodes.m.holding() }

// Restarted: node restarted before it was declared lost; the consoles
// recorded on its previous life that did not come back are repaired as a
// lost node's, counting from the restart.
func (r *consoleRepair) Restarted(ctx context.Context, node uint16, started time.Time, since time.Duration) {
	r.act(ctx, node, started, since)
}

// act repairs the agents whose console was recorded on node before
// before (zero: all), gone for silent.
func (r *consoleRepair) act(ctx context.Context, node uint16, before time.Time, silent time.Duration) {
	id := server.NodeName(node)
	agents := r.nodes.on(id, before)
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
	now := time.Now()
	if err != nil {
		if r.sent.due("query/"+id, now) {
			r.log.Warn("cluster: agents whose console was on a lost node not read from routing", "node", node, "err", err)
		}
		return
	}
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
		// Not ready for the lost console already, or once its contacts end
		// (a not-ready asked while busy or in wrap-up waits for them):
		// asked once, not again every sweep.
		away := v.State == router.NotReady && v.Reason == console.ReasonConnectionLost ||
			v.HasNext && v.Next == router.NotReady
		if (out || !away) && !r.confirmed(ctx, a, id, before) {
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
				"node", node, "silent_ms", silent.Milliseconds(), "restarted", !before.IsZero())
		case !out && !away && r.sent.due("away/"+string(a), now):
			if err := r.rep.Submit(router.AgentStateRequested{Agent: a, State: router.NotReady,
				Reason: console.ReasonConnectionLost}); err != nil {
				r.log.Warn("cluster: not-ready of an agent whose console was on a lost node not submitted", "agent_id", a, "err", err)
				continue
			}
			r.repairs.WithLabelValues("console_away").Inc()
			r.log.Warn("cluster: node lost: agent not ready until the console comes back", "agent_id", a,
				"node", node, "silent_ms", silent.Milliseconds(), "restarted", !before.IsZero())
		}
	}
}

// confirmed reads agent's entry from the bucket: it still names node (and
// was written before before).
func (r *consoleRepair) confirmed(ctx context.Context, a router.AgentID, node string, before time.Time) bool {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	ok, err := r.nodes.m.confirm(cctx, consoleKey(a), node, before)
	if err != nil {
		r.log.Warn("cluster: console entry of a lost node not read", "agent_id", a, "node", node, "err", err)
	}
	return ok
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
		// The bucket itself, not the watch (it may have fallen behind),
		// says the chat is still the lost node's.
		octx, cancel := context.WithTimeout(ctx, time.Second)
		owner, err := r.owners.OwnerNow(octx, c)
		cancel()
		if err != nil || owner != id {
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

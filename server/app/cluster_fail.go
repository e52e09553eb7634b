package app

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"onecall/cluster"
	"onecall/router"
	"onecall/server"
)

// Node loss on a cluster (issue 14, docs/cluster.md "When a node dies").
// Every node watches the others' heartbeats (cluster.Node.WatchBeats); the
// leader's server.NodeWatch declares a node lost once its heartbeat has
// been silent for cluster.node_lost_after and submits router.NodeLost: the
// voice calls whose media was on it end "node-lost" and their agents are
// freed. Each node's reconciler repairs only what that node owns
// (ownership), so no node ends another node's calls as "stuck".

// clusterSides are the live sides a cluster node's reconciler compares:
// its own SIP calls only, for now. Chats move between nodes (a citizen
// resumes on another node) and consoles too (an agent signs in again
// elsewhere); until the reconciler can look up where each one lives
// (ownership.chatOwner, ownership.consoleNode), a node cannot tell "gone"
// from "moved", so it leaves them to the chat service's and the console's
// own timers.
func (a *App) clusterSides(s liveSides) liveSides {
	return liveSides{calls: s.calls}
}

// clusterOwnership is what this node's reconciler may repair.
func (a *App) clusterOwnership() ownership {
	return ownership{node: uint16(a.cfg.Server.Cluster.Node)}
}

// startNodeWatch runs the node-loss detector on this node's replica until
// ctx ends: the heartbeats feed it on every node, and it acts while rep
// leads. The cluster mode of serve calls it once its replica runs.
func (a *App) startNodeWatch(ctx context.Context, rep *server.Replica) error {
	lost := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onecall_cluster_nodes_lost_total",
		Help: "Nodes this node, as the leader, declared lost (their calls ended node-lost), by node."}, []string{"node"})
	if err := a.reg.Register(lost); err != nil {
		return err
	}
	repairs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onecall_cluster_node_repairs_total",
		Help: "What this node, as the leader, repaired of what lost nodes held besides calls, by kind."}, []string{"kind"})
	for _, k := range []string{"console_away", "console_logout", "chat_ended", "callback_adopted"} {
		repairs.WithLabelValues(k)
	}
	if err := a.reg.Register(repairs); err != nil {
		return err
	}
	c := a.cfg.Server.Cluster
	log := a.log.With("component", "nodewatch")
	opts := []server.NodeWatchOption{server.WithNodeWatchLogger(log),
		server.WithOnNodeLost(func(node uint16, _ int) { lost.WithLabelValues(strconv.Itoa(int(node))).Inc() })}
	if a.consoles != nil {
		go a.consoles.run(ctx)
		opts = append(opts, server.WithNodeRepair(&consoleRepair{rep: rep, nodes: a.consoles, grace: a.console.LogoutGrace,
			log: log, repairs: repairs, sent: again{}}))
	}
	if a.chatCluster != nil {
		opts = append(opts, server.WithNodeRepair(&chatRepair{rep: rep, owners: a.chatCluster, grace: a.chat.DetachGrace(),
			log: log, repairs: repairs, sent: again{}}))
	}
	if a.callbackNodes != nil {
		go a.callbackNodes.run(ctx)
		opts = append(opts, server.WithNodeRepair(&callbackRepair{rep: rep, nodes: a.callbackNodes, st: a.st, sip: a.sip,
			log: log, repairs: repairs, sent: again{}}))
	}
	w := server.NewNodeWatch(rep, uint16(c.Node), c.NodeLostAfter.D(), opts...)
	go func() {
		_ = a.node.WatchBeats(ctx, func(id string, at, started time.Time) {
			if n, ok := cluster.NodeNumber(id); ok {
				w.Beat(n, at, started)
			}
		})
	}()
	go w.Run(ctx)
	return nil
}

// endPreviousCalls ends "node-lost" the voice contacts whose media this
// node's previous process held: a node killed and started again (it
// rejoins with the same node number) lost their SIP dialogs and RTP with
// that process, and its heartbeats may resume before the leader's
// NodeWatch declared it lost. It runs before SIP listens, so no call of
// this process carries the node's number yet; it waits for a leader (up
// to previousCallsWait) and gives up silently on a cluster starting
// afresh, whose log holds none.
func (a *App) endPreviousCalls(ctx context.Context) {
	self := uint16(a.cfg.Server.Cluster.Node)
	deadline := time.Now().Add(previousCallsWait)
	for {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		cmds, err := a.cfront.Do(dctx, router.NodeLost{Node: self})
		cancel()
		if err == nil {
			ended := 0
			for _, c := range cmds {
				if _, ok := c.(router.ContactClosed); ok {
					ended++
				}
			}
			if ended > 0 {
				a.log.Warn("cluster: this node started again: the calls its previous process held end node-lost",
					"node", self, "calls", ended)
			}
			return
		}
		if !errors.Is(err, server.ErrBusy) || time.Now().After(deadline) || ctx.Err() != nil {
			a.log.Warn("cluster: the calls of this node's previous process were not ended", "node", self, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// previousCallsWait bounds endPreviousCalls' wait for a leader.
const previousCallsWait = 15 * time.Second

package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"onecall/cluster"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// startNode starts this server's cluster node (cluster.enabled): the
// embedded NATS server, or the connection to an external NATS cluster,
// with the event log, the leader key and the snapshots. dataDir is the
// server's data directory (the default of cluster.data_dir).
func (a *App) startNode(ctx context.Context, dataDir string) error {
	c := a.cfg.Server.Cluster
	n, err := cluster.Start(ctx, cluster.Config{
		NodeID:      server.NodeName(uint16(c.Node)),
		DataDir:     a.cfg.ClusterDataDir(dataDir),
		Secret:      c.Secret,
		Host:        c.Host,
		RoutePort:   c.RoutePort,
		ClientPort:  c.ClientPort,
		Routes:      c.Routes,
		ExternalURL: c.ExternalURL,
		Replicas:    c.Replicas,
		LeaderTTL:   c.LeaderTTL.D(),
		// Nodes that store or encode events differently refuse each other.
		SchemaVersion: store.SchemaVersion()*1000 + router.CodecVersion,
		Logger:        a.log.With("component", "cluster"),
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	a.node = n
	return nil
}

// buildReplica makes the routing engine a replica of the cluster's log:
// restored from the latest snapshot when there is one (else new from the
// configuration, as on every node), with contact ids in this node's range,
// behind a ClusterFront. The store sink runs on the leader only.
func (a *App) buildReplica(ctx context.Context, rc router.Config) error {
	node := uint16(a.cfg.Server.Cluster.Node)
	engine, from, err := a.restoreEngine(ctx, rc)
	if err != nil {
		return err
	}
	a.engine = engine
	rep := server.NewReplica(engine, a.node.Log(), node,
		server.WithFrom(from),
		server.WithOutbox(a.cfg.Server.Limits.InboxSize),
		server.WithReplicaLogger(a.log.With("component", "replica")))
	lo := uint64(node) << server.ContactIDNodeShift
	last, err := a.st.MaxContactIDIn(ctx, lo, lo+1<<server.ContactIDNodeShift-1)
	if err != nil {
		return err
	}
	rep.SetFirstContactID(last)
	// Records are enqueued by the leader before the commands go out; a new
	// leader writes again those its predecessor's store may not have
	// committed (cluster_store.go).
	a.cstore = &clusterStoreSink{sink: newStoreSink(a.st, a.log), st: a.st, log: a.log.With("component", "store-sink")}
	rep.AddSink(a.cstore)
	a.cfront = server.NewClusterFront(rep, a.node.Conn(), a.node.ID(), a.log.With("component", "cluster-front"))
	tail, err := a.node.Log().LastSeq(ctx)
	if err != nil {
		return fmt.Errorf("cluster: routing log: %w", err)
	}
	a.cfront.SetReissueFloor(tail + 1)
	return nil
}

// restoreEngine loads the cluster's latest snapshot, or builds the engine
// from the configuration when there is none. from is the first log entry
// the engine has not applied.
func (a *App) restoreEngine(ctx context.Context, rc router.Config) (*router.Engine, uint64, error) {
	seq, blob, err := a.node.Snapshots().Load(ctx)
	if errors.Is(err, cluster.ErrNoSnapshot) {
		e, err := router.New(rc)
		if err != nil {
			return nil, 0, fmt.Errorf("routing: %w", err)
		}
		return e, 1, nil
	}
	if err != nil {
		return nil, 0, err
	}
	e, err := router.RestoreState(blob)
	if err != nil {
		return nil, 0, fmt.Errorf("cluster: routing snapshot at %d: %w", seq, err)
	}
	a.log.Info("cluster: routing engine restored from a snapshot", "seq", seq)
	return e, seq + 1, nil
}

// snapshotEvery is how often the leader snapshots the engine; the log
// keeps snapshotKeep entries behind the snapshot, so a follower a little
// behind reads on without loading it.
const (
	snapshotEvery = time.Minute
	snapshotKeep  = 10000
)

// startCluster runs the replica, takes the commands the leader publishes,
// campaigns for leadership and snapshots while leading.
func (a *App) startCluster(runCtx context.Context) error {
	if err := a.cfront.Start(); err != nil {
		return err
	}
	if err := a.cstore.run(runCtx, a.node.Conn(), a.cfront.Leading); err != nil {
		return fmt.Errorf("cluster: stored entries: %w", err)
	}
	rep := a.cfront.Replica()
	go func() { a.hubDone <- rep.Run(runCtx) }()
	go a.seedWhenCaughtUp(runCtx, rep)
	if err := a.startNodeWatch(runCtx, rep); err != nil {
		return err
	}
	a.elector = a.node.Campaign(func(ctx context.Context) {
		go a.node.KeepRaftLeadersOff(ctx)
		a.cfront.Lead(ctx)
	})
	go a.snapshots(runCtx)
	go a.staleSweep(runCtx)
	return nil
}

// seedWhenCaughtUp folds the engine's agents and queues into the
// consoles' view once the replica has applied the log as it stood when
// this node subscribed to the leader's commands (startCluster): a node
// that joins a running cluster (a restart after kill -9) receives only
// the commands of later entries, so without it an agent whose state did
// not change since shows offline to its console on this node.
func (a *App) seedWhenCaughtUp(ctx context.Context, rep *server.Replica) {
	tail, err := a.node.Log().LastSeq(ctx)
	if err != nil {
		a.log.Warn("cluster: consoles not seeded from the engine", "err", err)
		return
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for rep.Applied() < tail {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	if err := a.console.Seed(ctx); err != nil {
		if ctx.Err() == nil {
			a.log.Warn("cluster: consoles not seeded from the engine", "err", err)
		}
		return
	}
	a.log.Info("cluster: consoles seeded from the engine", "applied", rep.Applied(), "log_tail", tail)
}

func (a *App) snapshots(ctx context.Context) {
	t := time.NewTicker(snapshotEvery)
	defer t.Stop()
	var last uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !a.cfront.Leading() {
			continue
		}
		seq, err := a.snapshotOnce(ctx, last)
		if err != nil {
			a.log.Warn("cluster: routing snapshot", "err", err)
			continue
		}
		last = seq
	}
}

// snapshotOnce saves the engine's state when it moved since last and
// purges the log behind it (less snapshotKeep entries).
func (a *App) snapshotOnce(ctx context.Context, last uint64) (uint64, error) {
	seq, state, err := a.cfront.Replica().Snapshot(ctx)
	if err != nil || seq == last {
		return last, err
	}
	if err := a.node.Snapshots().Save(ctx, seq, state); err != nil {
		return last, err
	}
	if seq > snapshotKeep {
		if err := a.node.Log().Purge(ctx, seq-snapshotKeep); err != nil {
			return seq, err
		}
	}
	return seq, nil
}

// stopCluster resigns leadership (a follower takes over without waiting
// for the key's TTL) before the replica stops.
func (a *App) stopCluster() {
	if a.elector != nil {
		a.elector.Stop()
	}
}

// closeNode leaves the cluster (after the engine stopped).
func (a *App) closeNode() {
	if a.cfront != nil {
		a.cfront.Close()
	}
	if a.node != nil {
		a.node.Close()
	}
}

// clusterStatus is the node's line in /readyz: its role and the last
// applied log entry.
func (a *App) clusterStatus() string {
	if a.cfront == nil {
		return ""
	}
	role := "follower"
	if a.cfront.Leading() {
		role = "leader"
	}
	return fmt.Sprintf("cluster node %s: %s, applied seq %d\n", a.node.ID(), role, a.cfront.Replica().Applied())
}

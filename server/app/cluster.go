package app

import (
	"context"
	"fmt"

	"onecall/cluster"
	"onecall/store"
)

// startNode starts this server's cluster node (cluster.enabled): the
// embedded NATS server, or the connection to an external NATS cluster,
// with the event log, the leader key and the snapshots. dataDir is the
// server's data directory (the default of cluster.data_dir).
func (a *App) startNode(ctx context.Context, dataDir string) error {
	c := a.cfg.Server.Cluster
	n, err := cluster.Start(ctx, cluster.Config{
		NodeID:      c.NodeID(),
		DataDir:     a.cfg.ClusterDataDir(dataDir),
		Secret:      c.Secret,
		Host:        c.Host,
		RoutePort:   c.RoutePort,
		ClientPort:  c.ClientPort,
		Routes:      c.Routes,
		ExternalURL: c.ExternalURL,
		Replicas:    c.Replicas,
		LeaderTTL:   c.LeaderTTL.D(),
		// Nodes that store or decode differently refuse each other.
		SchemaVersion: store.SchemaVersion(),
		Logger:        a.log.With("component", "cluster"),
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	a.node = n
	return nil
}

// closeNode leaves the cluster (after the engine stopped).
func (a *App) closeNode() {
	if a.node != nil {
		a.node.Close()
	}
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the JetStream assets the package owns.
const (
	EventStream    = "ONECALL_EVENTS"
	EventSubject   = "onecall.events"
	LeaderBucket   = "onecall_leader"
	NodesBucket    = "onecall_nodes"
	SnapshotBucket = "onecall_snapshots"
)

// Node is one onecall node's handle on the cluster: its embedded server (or
// external connection), its client connection and the shared primitives.
type Node struct {
	cfg Config
	log *slog.Logger
	nl  *natsLogger
	srv *server.Server // nil with an external cluster
	nc  *nats.Conn
	js  jetstream.JetStream

	events  *Log
	snaps   *Snapshots
	cmds    *Commands
	leaders jetstream.KeyValue
	nodes   jetstream.KeyValue

	// started is when this process joined: its life, in every beat
	// (WatchBeats), so the others can tell a restart.
	started time.Time

	stop     context.CancelFunc
	wg       sync.WaitGroup
	closeMu  sync.Mutex
	closed   bool
	electors []*Elector
}

// Start starts (or connects to) NATS, waits for JetStream, creates the
// stream and buckets if missing and checks the peers' schema version. It
// returns ErrWrongSecret when the peers refuse the node's routes and
// ErrSchemaMismatch when a live peer speaks another schema version.
func Start(ctx context.Context, c Config) (*Node, error) {
	cfg := c.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), started: time.Now().UTC()}
	n.nl = &natsLogger{log: n.log}
	var err error
	if cfg.ExternalURL != "" {
		n.nc, err = nats.Connect(cfg.ExternalURL, nats.Name("onecall-"+cfg.NodeID), nats.MaxReconnects(-1))
	} else {
		tuneRaftTimers()
		n.srv, err = startEmbedded(cfg, n.nl)
		if err == nil {
			n.nc, err = nats.Connect("", nats.InProcessServer(n.srv), nats.Name("onecall-"+cfg.NodeID),
				nats.UserInfo(clientUser, derive(cfg.Secret, "client")), nats.MaxReconnects(-1))
		}
	}
	if err != nil {
		n.shutdown()
		return nil, fmt.Errorf("cluster: connect: %w", err)
	}
	n.js, err = jetstream.New(n.nc)
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
		err = n.setup(rctx)
		cancel()
	}
	if err != nil {
		n.shutdown()
		if errors.Is(err, ErrSchemaMismatch) || errors.Is(err, ErrWrongSecret) {
			n.log.Error("cluster: refusing to join", "err", err)
		}
		return nil, err
	}
	n.events = &Log{js: n.js, log: n.log}
	n.snaps = &Snapshots{js: n.js}
	n.cmds = &Commands{nc: n.nc, node: cfg.NodeID}
	bg, stop := context.WithCancel(context.Background())
	n.stop = stop
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.heartbeat(bg)
	}()
	n.log.Info("cluster: node joined", "replicas", cfg.Replicas, "schema", cfg.SchemaVersion, "route", n.RouteAddr())
	return n, nil
}

// setup waits for JetStream, then ensures the assets and checks the schema.
// Each step retries until ctx ends: R3 assets need three servers up.
func (n *Node) setup(ctx context.Context) error {
	var last error
	for _, step := range []func(context.Context) error{n.ensureAssets, n.checkSchema} {
		for {
			if n.nl.refused.Load() {
				return ErrWrongSecret
			}
			if f := n.nl.fatal.Load(); f != nil {
				return fmt.Errorf("cluster: nats server failed: %s", *f)
			}
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			last = step(sctx)
			cancel()
			if last == nil || errors.Is(last, ErrSchemaMismatch) {
				break
			}
			select {
			case <-ctx.Done():
				if n.nl.refused.Load() {
					return ErrWrongSecret
				}
				return fmt.Errorf("cluster: jetstream not ready (quorum?): %w", last)
			case <-time.After(100 * time.Millisecond):
			}
		}
		if last != nil {
			return last
		}
	}
	return nil
}

func (n *Node) ensureAssets(ctx context.Context) error {
	if _, err := n.js.AccountInfo(ctx); err != nil {
		return err
	}
	_, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      EventStream,
		Subjects:  []string{EventSubject},
		Storage:   jetstream.FileStorage,
		Replicas:  n.cfg.Replicas,
		Retention: jetstream.LimitsPolicy,
		Discard:   jetstream.DiscardOld,
		// AppendBatch publishes atomic batches.
		AllowAtomicPublish: true,
	})
	if err != nil {
		return fmt.Errorf("stream %s: %w", EventStream, err)
	}
	n.leaders, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   LeaderBucket,
		History:  1,
		TTL:      n.cfg.LeaderTTL,
		Storage:  jetstream.FileStorage,
		Replicas: n.cfg.Replicas,
	})
	if err != nil {
		return fmt.Errorf("bucket %s: %w", LeaderBucket, err)
	}
	n.nodes, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   NodesBucket,
		History:  1,
		TTL:      nodeTTL,
		Storage:  jetstream.FileStorage,
		Replicas: n.cfg.Replicas,
	})
	if err != nil {
		return fmt.Errorf("bucket %s: %w", NodesBucket, err)
	}
	_, err = n.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:   SnapshotBucket,
		Storage:  jetstream.FileStorage,
		Replicas: n.cfg.Replicas,
	})
	if err != nil {
		return fmt.Errorf("bucket %s: %w", SnapshotBucket, err)
	}
	return nil
}

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Conn is the node's NATS connection (in process for the embedded server).
func (n *Node) Conn() *nats.Conn { return n.nc }

// JetStream is the node's JetStream context.
func (n *Node) JetStream() jetstream.JetStream { return n.js }

// Replicas is the replication factor of the node's stream and buckets (1,
// 3 or 5): buckets other packages create use it too.
func (n *Node) Replicas() int { return n.cfg.Replicas }

// Log is the replicated event log.
func (n *Node) Log() *Log { return n.events }

// Snapshots is the snapshot store.
func (n *Node) Snapshots() *Snapshots { return n.snaps }

// Commands is the per-node command fan-out.
func (n *Node) Commands() *Commands { return n.cmds }

// RouteAddr is the address peers route to ("" without an embedded cluster).
func (n *Node) RouteAddr() string {
	if n.srv == nil {
		return ""
	}
	if a := n.srv.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Server is the embedded NATS server (nil with an external cluster).
func (n *Node) Server() *server.Server { return n.srv }

// RejectedPeers counts routes and clients the embedded server refused for
// wrong credentials (a wrong cluster secret).
func (n *Node) RejectedPeers() int64 { return n.nl.rejected.Load() }

// Close resigns leadership, stops the background work, drains the
// connection and shuts the embedded server down.
func (n *Node) Close() {
	n.closeMu.Lock()
	if n.closed {
		n.closeMu.Unlock()
		return
	}
	n.closed = true
	electors := n.electors
	n.closeMu.Unlock()
	for _, e := range electors {
		e.Stop()
	}
	if n.stop != nil {
		n.stop()
	}
	n.wg.Wait()
	n.shutdown()
}

func (n *Node) shutdown() {
	if n.nc != nil {
		n.nc.Close()
	}
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
}

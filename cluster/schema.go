package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A node's registration in the nodes bucket lives nodeTTL unless renewed
// (every Config.NodeBeat), so a dead node's version stops counting.
const nodeTTL = 30 * time.Second

// nodeInfo is what a node publishes about itself.
type nodeInfo struct {
	Schema  int       `json:"schema"`
	Started time.Time `json:"started"`
}

// checkSchema refuses to join when a live peer publishes another schema
// version, then publishes this node's.
func (n *Node) checkSchema(ctx context.Context) error {
	lister, err := n.nodes.ListKeys(ctx)
	if err != nil {
		return err
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	_ = lister.Stop() // the lister stops itself at the end of the keys
	for _, k := range keys {
		if k == n.cfg.NodeID {
			continue
		}
		e, err := n.nodes.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		var info nodeInfo
		if err := json.Unmarshal(e.Value(), &info); err != nil {
			return fmt.Errorf("node %s: bad registration: %w", k, err)
		}
		if info.Schema != n.cfg.SchemaVersion {
			return fmt.Errorf("%w: this node speaks schema %d, peer %s speaks %d",
				ErrSchemaMismatch, n.cfg.SchemaVersion, k, info.Schema)
		}
	}
	return n.register(ctx)
}

func (n *Node) register(ctx context.Context) error {
	b, err := json.Marshal(nodeInfo{Schema: n.cfg.SchemaVersion, Started: n.started})
	if err != nil {
		return err
	}
	_, err = n.nodes.Put(ctx, n.cfg.NodeID, b)
	return err
}

// heartbeat renews the node's registration until ctx ends.
func (n *Node) heartbeat(ctx context.Context) {
	t := time.NewTicker(n.cfg.NodeBeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, n.cfg.NodeBeat)
			if err := n.register(rctx); err != nil && ctx.Err() == nil {
				n.log.Warn("cluster: renewing node registration", "err", err)
			}
			cancel()
		}
	}
}

// WatchBeats calls fn with a node's id each time that node's registration
// is written (at start and at every beat), until ctx ends. started is when
// that node's process joined (it changes when the node restarts). at is when the
// beat was seen: for the registrations already there when a watch starts,
// the time JetStream stored them (the cluster's clock); for later beats,
// this node's clock at arrival. fn runs on the watch's goroutine. A
// registration that expires or is deleted is not reported: a dead node
// simply stops beating. Since this node beats too, a watch that delivers
// nothing for three beats is stale (its consumer was on a server that
// died): it is dropped and started again. Each creation is bounded: two
// beats, then four and eight after creations that ran out of time (a
// loaded machine may need longer; a creation sent with no meta leader
// never ends), back to two once one succeeds.
func (n *Node) WatchBeats(ctx context.Context, fn func(id string, at, started time.Time)) error {
	slow := 0
	for {
		bound := 2 * n.cfg.NodeBeat << min(slow, 2)
		err := n.watchBeats(ctx, bound, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errSlowWatch) {
			slow++
		} else {
			slow = 0
		}
		n.log.Info("cluster: node watch restarted", "err", err, "bound", bound)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(n.cfg.NodeBeat / 4):
		}
	}
}

var (
	errStaleWatch = errors.New("cluster: node watch stale")
	errSlowWatch  = errors.New("cluster: node watch not created in time")
)

func (n *Node) watchBeats(ctx context.Context, bound time.Duration, fn func(id string, at, started time.Time)) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// nats.go waits up to its request timeout (10 s) for the consumer's
	// creation, and one sent while the cluster has no meta leader (it died
	// with a killed node) is dropped and waits all of it: a node lost would
	// be declared seconds late. Each attempt is bounded.
	timer := time.AfterFunc(bound, cancel)
	w, err := n.nodes.WatchAll(wctx)
	if !timer.Stop() {
		if err == nil {
			go func() { _ = w.Stop() }()
		}
		return errSlowWatch
	}
	if err != nil {
		return err
	}
	// Stopping deletes the watch's consumer, which waits up to 5 s for a
	// server that died: a stale watch is replaced at once, and stopped
	// beside it.
	defer func() { go func() { _ = w.Stop() }() }()
	stale := time.NewTimer(3 * n.cfg.NodeBeat)
	defer stale.Stop()
	live := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stale.C:
			return errStaleWatch
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("cluster: node watch stopped")
			}
			stale.Reset(3 * n.cfg.NodeBeat)
			switch {
			case e == nil: // the end of the registrations already there
				live = true
			case e.Operation() != jetstream.KeyValuePut:
			case live:
				fn(e.Key(), time.Now(), startedOf(e))
			default:
				fn(e.Key(), e.Created(), startedOf(e))
			}
		}
	}
}

// startedOf is when the node of registration e joined (zero if unknown).
func startedOf(e jetstream.KeyValueEntry) time.Time {
	var info nodeInfo
	if json.Unmarshal(e.Value(), &info) != nil {
		return time.Time{}
	}
	return info.Started
}

// Started is when this node joined the cluster (its beats carry it).
func (n *Node) Started() time.Time { return n.started }

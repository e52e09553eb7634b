package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"onecall/cluster"
)

// nodeMap is this node's view of a KV bucket that maps keys (an agent's
// console, a callback) to the node that holds them (issue 14: what a lost
// node held besides its calls). Writes are queued (Presence returns at
// once) and done by run; every node watches the bucket, so each node knows
// where everything is. Entries remember when they were written, so a
// node's entries from before its restart can be told from its new ones.
type nodeMap struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	bucket string
	self   string
	what   string // for log lines: "console", "callback"
	log    *slog.Logger
	// moved, if set, is told (on the watch's goroutine) that key, last
	// held here, is now held by node.
	moved func(key, node string)

	mu      sync.Mutex
	at      map[string]mapEntry // from the watch (and this node's writes)
	pending map[string]bool     // writes queued: here or not
	wake    chan struct{}
}

type mapEntry struct {
	node    string
	written time.Time
}

// openNodeMap opens (or creates) bucket, its entries living ttl unless
// written again.
func openNodeMap(ctx context.Context, nd *cluster.Node, bucket, what string, ttl time.Duration, log *slog.Logger) (*nodeMap, error) {
	kv, err := cluster.EnsureKeyValue(ctx, nd.JetStream(), jetstream.KeyValueConfig{
		Bucket: bucket, History: 1, TTL: ttl, Storage: jetstream.FileStorage, Replicas: nd.Replicas(),
	})
	if err != nil {
		return nil, fmt.Errorf("%s nodes: %w", what, err)
	}
	return &nodeMap{kv: kv, js: nd.JetStream(), bucket: bucket, self: nd.ID(), what: what, log: log, at: map[string]mapEntry{},
		pending: map[string]bool{}, wake: make(chan struct{}, 1)}, nil
}

// Presence queues the write of key here (or its removal if it names this
// node) and returns.
func (m *nodeMap) Presence(key string, here bool) {
	m.mu.Lock()
	m.pending[key] = here
	if here {
		m.at[key] = mapEntry{node: m.self, written: time.Now()}
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// run writes the queued presences and watches the bucket until ctx ends.
func (m *nodeMap) run(ctx context.Context) {
	go m.watch(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		}
		m.mu.Lock()
		batch := m.pending
		m.pending = map[string]bool{}
		m.mu.Unlock()
		for key, here := range batch {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			var err error
			if here {
				_, err = m.kv.Put(wctx, key, []byte(m.self))
			} else {
				err = m.forget(wctx, key, m.self)
			}
			cancel()
			if err != nil && ctx.Err() == nil {
				m.log.Warn("cluster: "+m.what+" location not recorded", "key", key, "here", here, "err", err)
			}
		}
	}
}

// watch follows the bucket until ctx ends (the watch creates its consumer
// again itself whenever it is lost with its server).
func (m *nodeMap) watch(ctx context.Context) {
	w := cluster.WatchKV(ctx, m.js, m.bucket, m.log)
	m.follow(ctx, w)
	_ = w.Stop()
}

func (m *nodeMap) follow(ctx context.Context, w jetstream.KeyWatcher) {
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
			key := e.Key()
			m.mu.Lock()
			was := m.at[key].node
			if e.Operation() == jetstream.KeyValuePut {
				m.at[key] = mapEntry{node: string(e.Value()), written: e.Created()}
			} else {
				delete(m.at, key)
			}
			now := m.at[key].node
			m.mu.Unlock()
			if m.moved != nil && was == m.self && now != "" && now != m.self {
				m.moved(key, now)
			}
		}
	}
}

// forget deletes key's entry if it still names node.
func (m *nodeMap) forget(ctx context.Context, key, node string) error {
	e, err := m.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		m.drop(key, node)
		return nil
	}
	if err != nil {
		return err
	}
	if string(e.Value()) != node {
		return nil
	}
	if err := m.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
		return err
	}
	m.drop(key, node)
	return nil
}

// claim moves key from node to this node, only if it still names node:
// of two leaders claiming at once, one wins.
func (m *nodeMap) claim(ctx context.Context, key, node string) error {
	e, err := m.kv.Get(ctx, key)
	if err != nil {
		return err
	}
	if string(e.Value()) != node {
		return fmt.Errorf("%s %s is held by %s now", m.what, key, e.Value())
	}
	if _, err := m.kv.Update(ctx, key, []byte(m.self), e.Revision()); err != nil {
		return err
	}
	m.mu.Lock()
	m.at[key] = mapEntry{node: m.self, written: time.Now()}
	m.mu.Unlock()
	return nil
}

// confirm reads key's entry from the bucket itself (not the watch): it
// still names node, written before before (zero: any time). A repair
// confirms before it acts, so a watch that fell behind (its consumer was
// on a server that died: it takes a second or two to notice and create
// another) never makes it act on an entry that moved.
func (m *nodeMap) confirm(ctx context.Context, key, node string, before time.Time) (bool, error) {
	e, err := m.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		m.drop(key, node)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	m.at[key] = mapEntry{node: string(e.Value()), written: e.Created()}
	m.mu.Unlock()
	return string(e.Value()) == node && (before.IsZero() || e.Created().Before(before)), nil
}

func (m *nodeMap) drop(key, node string) {
	m.mu.Lock()
	if m.at[key].node == node {
		delete(m.at, key)
	}
	m.mu.Unlock()
}

// Where is the node that holds key ("" unknown).
func (m *nodeMap) Where(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.at[key].node
}

// holding returns the nodes with entries, with the oldest time one of
// their entries was written.
func (m *nodeMap) holding() map[uint16]time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[uint16]time.Time{}
	for _, e := range m.at {
		if num, ok := cluster.NodeNumber(e.node); ok {
			if t, seen := out[num]; !seen || e.written.Before(t) {
				out[num] = e.written
			}
		}
	}
	return out
}

// on returns the keys held by node, written before before (zero: all).
func (m *nodeMap) on(node string, before time.Time) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k, e := range m.at {
		if e.node == node && (before.IsZero() || e.written.Before(before)) {
			out = append(out, k)
		}
	}
	return out
}

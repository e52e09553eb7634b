package app

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// StoredSubject carries the last routing log entry whose records the
// leader's store has committed (decimal), published by the leader after
// each commit of new entries, read by every node.
const StoredSubject = "onecall.engine.stored"

// storedEvery is how often the leader commits a barrier behind the records
// it enqueued and publishes their last entry.
const storedEvery = 200 * time.Millisecond

// clusterStoreSink is the leader's store sink on a cluster node. The store
// writes its records in the background (Enqueue), so a leader killed -9
// takes the records of its last entries with it although their commands
// went out. Every node therefore hears how far the leader's store has
// committed (StoredSubject), and a new leader re-issues the store's records
// from there (server.ReissueFloor), not only from the entries whose
// commands it did not see: the store writes the records it already had
// once (store.ContactEvent, store.AgentStateLog and the upserts are
// idempotent).
type clusterStoreSink struct {
	sink     *storeSink
	st       *store.Store
	log      *slog.Logger
	enqueued atomic.Uint64 // last entry whose records this node enqueued
	stored   atomic.Uint64 // last entry a leader's store committed
}

var _ server.ReissueFloor = (*clusterStoreSink)(nil)

func (s *clusterStoreSink) DeliverEntry(seq uint64, cmds []router.Command) {
	s.sink.Deliver(cmds)
	s.enqueued.Store(seq)
}

func (s *clusterStoreSink) ReissueFloor() uint64 { return s.stored.Load() + 1 }

func (s *clusterStoreSink) heard(seq uint64) {
	for {
		old := s.stored.Load()
		if seq <= old || s.stored.CompareAndSwap(old, seq) {
			return
		}
	}
}

// run hears the leaders' commits and, while this node leads, publishes its
// own.
func (s *clusterStoreSink) run(ctx context.Context, nc *nats.Conn, leading func() bool) error {
	sub, err := nc.Subscribe(StoredSubject, func(m *nats.Msg) {
		if seq, err := strconv.ParseUint(string(m.Data), 10, 64); err == nil {
			s.heard(seq)
		}
	})
	if err != nil {
		return err
	}
	go func() {
		defer func() { _ = sub.Unsubscribe() }()
		t := time.NewTicker(storedEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			seq := s.enqueued.Load()
			if !leading() || seq <= s.stored.Load() {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := s.st.Durable(wctx, store.Barrier{})
			cancel()
			if err != nil {
				continue // not committed: the next leader writes them again
			}
			s.heard(seq)
			if err := nc.Publish(StoredSubject, []byte(strconv.FormatUint(seq, 10))); err != nil {
				s.log.Debug("cluster: publishing the stored entry", "err", err)
			}
		}
	}()
	return nil
}

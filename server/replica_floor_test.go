package server

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"onecall/router"
)

// floorSink records the entries delivered to it; its ReissueFloor is the
// first entry whose commands it may not have carried out (the store's
// sink: records enqueued but maybe not committed when the leader died).
type floorSink struct {
	mu    sync.Mutex
	floor uint64
	seqs  []uint64
}

func (s *floorSink) DeliverEntry(seq uint64, _ []router.Command) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seqs = append(s.seqs, seq)
}

func (s *floorSink) ReissueFloor() uint64 { s.mu.Lock(); defer s.mu.Unlock(); return s.floor }

func (s *floorSink) got() []uint64 { s.mu.Lock(); defer s.mu.Unlock(); return slices.Clone(s.seqs) }

// Every command of the old leader reached the nodes (the new leader
// re-issues nothing to its other sinks), but its store had committed the
// records of entries only up to some k: the new leader's store sink gets
// the kept entries from k+1 on again, in order; the fan-out none.
func TestTakeoverReissuesFromASinksOwnFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := NewMemLog()
		a := startReplica(t, log, 1)
		b := startReplica(t, log, 2)
		d := newDriver(t, 3)
		a.AddSink(d)
		b.AddSink(d)
		fan := &floorSink{floor: ^uint64(0)} // a sink without a floor of its own, for contrast
		fanout := EntrySinkFunc(fan.DeliverEntry)
		store := &floorSink{}
		b.AddSink(fanout)
		b.AddSink(store)
		a.Lead(0)
		synctest.Wait()
		d.play(t.Context(), a.Replica, 120)
		a.Follow()
		a.cancel()
		<-a.done
		a.done <- nil // for the cleanup
		last := log.Last()
		synctest.Wait()
		if b.Applied() != last {
			t.Fatalf("follower applied %d of %d", b.Applied(), last)
		}
		var withCmds []uint64
		for _, bt := range nonEmpty(b.trace()) {
			withCmds = append(withCmds, bt.seq)
		}
		if len(withCmds) < 10 {
			t.Fatalf("only %d entries with commands", len(withCmds))
		}
		k := withCmds[len(withCmds)/2]
		store.mu.Lock()
		store.floor = k + 1
		store.mu.Unlock()

		b.Lead(last + 1) // every command of a's entries went out
		synctest.Wait()
		if !b.Leading() {
			t.Fatal("b does not lead")
		}
		upTo := func(seqs []uint64) []uint64 {
			return slices.DeleteFunc(seqs, func(s uint64) bool { return s > last })
		}
		if got := upTo(fan.got()); len(got) > 0 {
			t.Fatalf("the fan-out sink got a's entries %v again at the takeover, want none", got)
		}
		var want []uint64
		for _, s := range withCmds {
			if s > k {
				want = append(want, s)
			}
		}
		if got := upTo(store.got()); !slices.Equal(got, want) {
			t.Fatalf("the store's sink got a's entries %v again at the takeover, want %v", got, want)
		}
	})
}

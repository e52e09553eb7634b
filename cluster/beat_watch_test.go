package cluster

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// slowKV's watch creations hang until their context ends, except those
// listed in ok, which return that watch.
type slowKV struct {
	jetstream.KeyValue
	mu    sync.Mutex
	calls []time.Time
	ok    map[int]jetstream.KeyWatcher
}

// fakeWatch delivers on ch; Stop takes stopFor.
type fakeWatch struct {
	ch      chan jetstream.KeyValueEntry
	stopFor time.Duration
}

func (w fakeWatch) Updates() <-chan jetstream.KeyValueEntry { return w.ch }
func (w fakeWatch) Stop() error                             { time.Sleep(w.stopFor); return nil }

// stoppedWatch is a watch that ends at once.
func stoppedWatch() fakeWatch {
	ch := make(chan jetstream.KeyValueEntry)
	close(ch)
	return fakeWatch{ch: ch}
}

func (kv *slowKV) WatchAll(ctx context.Context, _ ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	kv.mu.Lock()
	kv.calls = append(kv.calls, time.Now())
	n := len(kv.calls)
	kv.mu.Unlock()
	if w := kv.ok[n]; w != nil {
		return w, nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// A node watch's creation that does not end is given up after two beats,
// then four and eight, and after one that succeeds, two again.
func TestWatchCreationBoundBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const beat = time.Second
		kv := &slowKV{ok: map[int]jetstream.KeyWatcher{4: stoppedWatch()}}
		n := &Node{nodes: kv, cfg: Config{NodeBeat: beat}, log: slog.New(slog.DiscardHandler)}
		watchUntil(t, n, kv, 6)
		pause := beat / 4
		want := []time.Duration{2 * beat, 4 * beat, 8 * beat, 0, 2 * beat}
		for i, w := range want {
			if got := kv.calls[i+1].Sub(kv.calls[i]) - pause; got != w {
				t.Errorf("creation %d ended after %v, want %v", i+1, got, w)
			}
		}
	})
}

// watchUntil runs n's WatchBeats until kv saw calls creations.
func watchUntil(t *testing.T, n *Node, kv *slowKV, calls int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- n.WatchBeats(ctx, func(string, time.Time, time.Time) {}) }()
	for {
		time.Sleep(n.cfg.NodeBeat / 4)
		synctest.Wait()
		kv.mu.Lock()
		c := len(kv.calls)
		kv.mu.Unlock()
		if c >= calls {
			break
		}
	}
	cancel()
	<-done
}

// A watch silent for three beats (its consumer died with a server) is
// replaced at once, though stopping it takes 5 s (the deletion of its
// consumer waits for the dead server): the next creation starts three
// beats after the last delivery, not eight.
func TestStaleWatchReplacedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const beat = time.Second
		silent := fakeWatch{ch: make(chan jetstream.KeyValueEntry), stopFor: 5 * time.Second}
		kv := &slowKV{ok: map[int]jetstream.KeyWatcher{1: silent, 2: stoppedWatch()}}
		n := &Node{nodes: kv, cfg: Config{NodeBeat: beat}, log: slog.New(slog.DiscardHandler)}
		watchUntil(t, n, kv, 2)
		if got, want := kv.calls[1].Sub(kv.calls[0]), 3*beat+beat/4; got != want {
			t.Errorf("a stale watch was replaced %v after its creation, want %v (three beats and the pause)", got, want)
		}
		time.Sleep(silent.stopFor) // the old watch's stop, beside
	})
}

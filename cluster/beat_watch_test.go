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
// listed in ok, which return a watch that stops at once.
type slowKV struct {
	jetstream.KeyValue
	mu    sync.Mutex
	calls []time.Time
	ok    map[int]bool
}

type stoppedWatch struct{ ch chan jetstream.KeyValueEntry }

func (w stoppedWatch) Updates() <-chan jetstream.KeyValueEntry { return w.ch }
func (w stoppedWatch) Stop() error                             { return nil }

func (kv *slowKV) WatchAll(ctx context.Context, _ ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	kv.mu.Lock()
	kv.calls = append(kv.calls, time.Now())
	n := len(kv.calls)
	kv.mu.Unlock()
	if kv.ok[n] {
		ch := make(chan jetstream.KeyValueEntry)
		close(ch)
		return stoppedWatch{ch}, nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// A node watch's creation that does not end is given up after two beats,
// then four and eight, and after one that succeeds, two again.
func TestWatchCreationBoundBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const beat = time.Second
		kv := &slowKV{ok: map[int]bool{4: true}}
		n := &Node{nodes: kv, cfg: Config{NodeBeat: beat}, log: slog.New(slog.DiscardHandler)}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- n.WatchBeats(ctx, func(string, time.Time, time.Time) {}) }()
		for {
			time.Sleep(beat / 4)
			synctest.Wait()
			kv.mu.Lock()
			calls := len(kv.calls)
			kv.mu.Unlock()
			if calls >= 6 {
				break
			}
		}
		cancel()
		<-done
		pause := beat / 4
		want := []time.Duration{2 * beat, 4 * beat, 8 * beat, 0, 2 * beat}
		for i, w := range want {
			if got := kv.calls[i+1].Sub(kv.calls[i]) - pause; got != w {
				t.Errorf("creation %d ended after %v, want %v", i+1, got, w)
			}
		}
	})
}

package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// watchLog records what a watch delivers, as "key op value rev" lines and
// "ready" for the end of the initial values.
type watchLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *watchLog) follow(w jetstream.KeyWatcher) {
	for e := range w.Updates() {
		l.mu.Lock()
		if e == nil {
			l.lines = append(l.lines, "ready")
		} else {
			l.lines = append(l.lines, fmt.Sprintf("%s %s %q %d", e.Key(), e.Operation(), e.Value(), e.Revision()))
		}
		l.mu.Unlock()
	}
}

func (l *watchLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// A KVWatch delivers what nats.go's WatchAll does: the last value of each
// key (deleted ones as deletes), nil, then each put, delete and purge, with
// their revisions; an empty bucket's watch is ready at once.
func TestKVWatchDeliversAsWatchAll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nd, err := Start(ctx, Config{NodeID: "solo", DataDir: t.TempDir(), Secret: "x", SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	kv, err := EnsureKeyValue(ctx, nd.JetStream(), jetstream.KeyValueConfig{Bucket: "watched", History: 1, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	empty := WatchKV(ctx, nd.JetStream(), "watched", nil)
	select {
	case e := <-empty.Updates():
		if e != nil {
			t.Fatalf("empty bucket's first update %v, want nil", e)
		}
	case <-ctx.Done():
		t.Fatal("an empty bucket's watch never said it was ready")
	}
	_ = empty.Stop()
	if _, ok := <-empty.Updates(); ok {
		t.Fatal("updates still open after Stop")
	}

	for _, op := range []string{"put a 1", "put b 1", "put a 2", "put c 1", "del b", "put d 1"} {
		f := strings.Fields(op)
		if f[0] == "put" {
			_, err = kv.Put(ctx, f[1], []byte(f[2]))
		} else {
			err = kv.Delete(ctx, f[1])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ours, theirs := &watchLog{}, &watchLog{}
	w := WatchKV(ctx, nd.JetStream(), "watched", nil)
	go ours.follow(w)
	nw, err := kv.WatchAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go theirs.follow(nw)
	defer func() { _ = nw.Stop() }()
	waitFor(t, 10*time.Second, "both watches ready", func() bool {
		return slices.Contains(ours.get(), "ready") && slices.Contains(theirs.get(), "ready")
	})
	for _, op := range []string{"put c 2", "del d", "purge a", "put e 1"} {
		f := strings.Fields(op)
		switch f[0] {
		case "put":
			_, err = kv.Put(ctx, f[1], []byte(f[2]))
		case "del":
			err = kv.Delete(ctx, f[1])
		default:
			err = kv.Purge(ctx, f[1])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "both watches to see the changes", func() bool {
		return len(ours.get()) >= 9 && len(theirs.get()) >= 9
	})
	if got, want := ours.get(), theirs.get(); !slices.Equal(got, want) {
		t.Fatalf("KVWatch delivered\n%s\nWatchAll delivered\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("both delivered:\n%s", strings.Join(ours.get(), "\n"))
}

// KV watches on the survivors of a kill -9 of the server that was
// JetStream's meta leader and the bucket's Raft leader, and held some of
// the watches' consumers, deliver a put made after the kill within the
// failover budget (5 s). nats.go's WatchAll, used before by the registrar,
// the chat owners and the node maps, is measured beside them: its watches
// whose consumer died notice it after two missed 5 s heartbeats.
func TestKVWatchesCatchUpAfterKill9(t *testing.T) {
	tc, children, victim, survivors := killableCluster(t)
	victimID := fmt.Sprintf("n%d", victim+1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	kv, err := EnsureKeyValue(ctx, survivors[0], jetstream.KeyValueConfig{Bucket: "watched", History: 1,
		Storage: jetstream.FileStorage, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	req := fmt.Appendf(nil, `{"placement":{"preferred":%q}}`, victimID)
	waitFor(t, 20*time.Second, "the bucket's leader on "+victimID, func() bool {
		if streamLeaderOf(ctx, survivors[0], "KV_watched") == victimID {
			return true
		}
		_, _ = survivors[0].Conn().Request("$JS.API.STREAM.LEADER.STEPDOWN.KV_watched", req, time.Second)
		return false
	})
	if _, err := kv.Put(ctx, "before", []byte("1")); err != nil {
		t.Fatal(err)
	}
	// Eight watches of each kind on the survivors: each consumer lands on
	// one of the three servers, so some are on the victim's.
	const watches = 8
	type watcher struct {
		ours bool
		seen atomic.Bool
	}
	var ws []*watcher
	for i := range 2 * watches {
		w := &watcher{ours: i < watches}
		ws = append(ws, w)
		js := survivors[i%2]
		var kw jetstream.KeyWatcher
		if w.ours {
			kw = WatchKV(ctx, js, "watched", nil)
		} else {
			skv, err := js.KeyValue(ctx, "watched")
			if err != nil {
				t.Fatal(err)
			}
			if kw, err = skv.WatchAll(ctx); err != nil {
				t.Fatal(err)
			}
		}
		go func() {
			for e := range kw.Updates() {
				if e != nil && e.Key() == "after" {
					w.seen.Store(true)
				}
			}
		}()
		t.Cleanup(func() { _ = kw.Stop() })
	}
	killed := time.Now()
	if err := children[victim].Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "a put after the kill", func() bool {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		defer pcancel()
		_, err := kv.Put(pctx, "after", []byte("1"))
		return err == nil
	})
	put := time.Since(killed)
	times := make([]time.Duration, len(ws))
	deadline := killed.Add(25 * time.Second)
	for time.Now().Before(deadline) && slices.Contains(times, 0) {
		for i, w := range ws {
			if times[i] == 0 && w.seen.Load() {
				times[i] = time.Since(killed)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := range times {
		if times[i] == 0 {
			times[i] = time.Since(killed)
		}
	}
	slowest, theirs := slices.Max(times[:watches]), slices.Max(times[watches:])
	t.Logf("after kill -9 of %s (meta and bucket leader): put after %v; every KVWatch had it after %v (%v); nats.go's WatchAll after %v (%v)",
		victimID, put.Round(time.Millisecond), slowest.Round(time.Millisecond), times[:watches], theirs.Round(time.Millisecond), times[watches:])
	if slowest > 5*time.Second {
		t.Errorf("a KVWatch on a survivor saw the put after the kill %v after it, want within 5 s\n%s", slowest, tc.logs[victim])
	}
}

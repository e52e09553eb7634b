package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestJoinWrongSecretRefused(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	ports := freePorts(t, 2)
	logs := &syncBuf{}
	cfg := tc.config(0)
	cfg.NodeID = "intruder"
	cfg.DataDir = t.TempDir()
	cfg.Secret = "not-the-secret"
	cfg.RoutePort, cfg.ClientPort = ports[0], ports[1]
	cfg.Routes = nil
	for i := range 3 {
		cfg.Routes = append(cfg.Routes, tc.node(i).RouteAddr())
	}
	cfg.ReadyTimeout = 15 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	nd, err := Start(ctx, cfg)
	if err == nil {
		nd.Close()
		t.Fatal("a node with a wrong secret joined")
	}
	if !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("got %v, want ErrWrongSecret", err)
	}
	t.Logf("refused in %v: %v", time.Since(start), err)
	if !hasLine(logs, "wrong cluster secret") {
		t.Errorf("no clear log line on the refused node:\n%s", logs)
	}
	var rejected int64
	for i := range 3 {
		rejected += tc.node(i).RejectedPeers()
	}
	if rejected == 0 {
		t.Error("no member counted a rejected route")
	}
	// The members still work.
	if _, err := tc.node(0).Log().Append(ctx, []byte("after")); err != nil {
		t.Fatal(err)
	}
}

func TestJoinSchemaMismatchRefused(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	// n3 restarts with a newer schema while n1 and n2 speak 1: refused.
	tc.stop(2)
	cfg := tc.config(2)
	cfg.SchemaVersion = 2
	err := tc.start(2, cfg)
	if !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("got %v, want ErrSchemaMismatch", err)
	}
	if !hasLine(tc.logs[2], "refusing to join") || !hasLine(tc.logs[2], "peer n1 speaks 1") && !hasLine(tc.logs[2], "peer n2 speaks 1") {
		t.Errorf("no clear log line:\n%s", tc.logs[2])
	}
	// With the same schema it joins again.
	if err := tc.start(2, tc.config(2)); err != nil {
		t.Fatal(err)
	}
}

func TestCommandsAcrossNodes(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	seen := map[string]bool{} // the receiver's own dedupe
	var mu sync.Mutex
	var carried, received []string
	unsub, err := tc.node(1).Commands().Subscribe(func(id string, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		received = append(received, id)
		if seen[id] {
			return
		}
		seen[id] = true
		carried = append(carried, id+"="+string(data))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// n1 delivers, then a "new leader" n3 re-issues the same commands.
	for _, from := range []int{0, 2} {
		c := tc.node(from).Commands()
		for i := range 3 {
			id := fmt.Sprintf("ev-%d", i)
			for {
				err := c.Deliver(ctx, "n2", id, fmt.Appendf(nil, "offer %d", i))
				if err == nil {
					break
				}
				if !errors.Is(err, nats.ErrNoResponders) {
					t.Fatalf("deliver %s from n%d: %v", id, from+1, err)
				}
				// n2's subscription has not reached this server yet.
				<-time.After(10 * time.Millisecond)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"ev-0=offer 0", "ev-1=offer 1", "ev-2=offer 2"}
	if fmt.Sprint(carried) != fmt.Sprint(want) {
		t.Fatalf("carried out %v, want %v", carried, want)
	}
	if len(received) != 6 {
		t.Fatalf("received %v, want each id twice", received)
	}
	// Fire-and-forget reaches a known subscriber too.
	if err := tc.node(2).Commands().Send("n2", "ev-9", []byte("close")); err != nil {
		t.Fatal(err)
	}
	mu.Unlock()
	waitFor(t, 5*time.Second, "the sent command", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(carried) == 4
	})
	mu.Lock()
}

func TestCommandsBadInput(t *testing.T) {
	c := &Commands{}
	if err := c.Send("bad.node", "x", nil); err == nil {
		t.Error("sent to a node id with a dot")
	}
	if err := c.Send("n1", "", nil); err == nil {
		t.Error("sent a command without id")
	}
}

func TestConfigValidation(t *testing.T) {
	ctx := context.Background()
	for _, c := range []Config{
		{NodeID: "a.b", DataDir: "x", Secret: "s"},
		{NodeID: "a", Secret: "s"},
		{NodeID: "a", DataDir: "x"},
		{NodeID: "a", DataDir: "x", Secret: "s", Replicas: 2},
		{NodeID: "a", DataDir: "x", Secret: "s", LeaderTTL: time.Millisecond},
	} {
		if _, err := Start(ctx, c); err == nil {
			t.Errorf("%+v: started", c)
		}
	}
}

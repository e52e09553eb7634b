package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// lossyKV is the leader bucket with writes whose reply is lost: the next
// lose Updates (or Creates) wait until their context ends and fail, applied
// first when apply is set (the reply lost) or not at all (the request
// lost), as when the bucket's Raft leader moves under a request.
type lossyKV struct {
	jetstream.KeyValue
	mu          sync.Mutex
	loseUpdates int
	loseCreates int
	apply       bool
	lost        int
	createdRev  uint64 // revision of the lost Create that was applied
}

func (k *lossyKV) take(n *int) (lose, apply bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if *n == 0 {
		return false, false
	}
	*n--
	k.lost++
	return true, k.apply
}

func (k *lossyKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	lose, apply := k.take(&k.loseUpdates)
	if !lose {
		return k.KeyValue.Update(ctx, key, value, rev)
	}
	if apply {
		if _, err := k.KeyValue.Update(context.Background(), key, value, rev); err != nil {
			return 0, err
		}
	}
	<-ctx.Done()
	return 0, ctx.Err()
}

func (k *lossyKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	lose, apply := k.take(&k.loseCreates)
	if !lose {
		return k.KeyValue.Create(ctx, key, value, opts...)
	}
	if apply {
		rev, err := k.KeyValue.Create(context.Background(), key, value, opts...)
		if err != nil {
			return 0, err
		}
		k.mu.Lock()
		k.createdRev = rev
		k.mu.Unlock()
	}
	<-ctx.Done()
	return 0, ctx.Err()
}

// A renewal of the leader's lease whose request or reply is lost does not
// cost the leadership: the attempt gives up after a renewal interval and
// is sent again while the lease lasts; when the lost one had been applied,
// the leader finds its own value in the key and carries on (acceptance
// run 85: one renewal lost as the bucket's Raft leadership moved waited
// out the whole lease, and the leader stepped down).
func TestElectorRenewalLost(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	for _, apply := range []bool{false, true} {
		name := map[bool]string{false: "request lost", true: "reply lost"}[apply]
		t.Run(name, func(t *testing.T) {
			nd := tc.node(0)
			kv := &lossyKV{KeyValue: nd.leaders, apply: apply}
			e := nd.campaign(kv, nil)
			defer e.Stop()
			waitFor(t, 10*time.Second, "n1 leads", e.IsLeader)
			kv.mu.Lock()
			kv.loseUpdates = 1
			kv.mu.Unlock()
			// Three leases: the lost renewal and the ones after it.
			until := time.Now().Add(3 * e.lease)
			for time.Now().Before(until) {
				if !e.IsLeader() {
					t.Fatalf("n1 lost its leadership after a renewal was lost:\n%s", tc.logs[0])
				}
				<-time.After(5 * time.Millisecond) // sample
			}
			kv.mu.Lock()
			defer kv.mu.Unlock()
			if kv.lost != 1 {
				t.Fatalf("%d writes lost, want 1", kv.lost)
			}
			if apply && !hasLine(tc.logs[0], "a renewal whose reply was lost had renewed the lease") {
				t.Errorf("the leader did not say it found its lost renewal applied:\n%s", tc.logs[0])
			}
		})
	}
}

// A claim whose reply is lost but which created the key: the next claim
// finds the key holding this node's value, written after that claim was
// sent, and the node leads on that revision at once, instead of waiting
// for its own key to expire.
func TestElectorClaimReplyLost(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	nd := tc.node(0)
	kv := &lossyKV{KeyValue: nd.leaders, apply: true, loseCreates: 1}
	e := nd.campaign(kv, nil)
	defer e.Stop()
	waitFor(t, 10*time.Second, "n1 leads", e.IsLeader)
	e.mu.Lock()
	rev := e.rev
	e.mu.Unlock()
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.lost != 1 || kv.createdRev == 0 {
		t.Fatalf("lost %d creates (applied at revision %d), want the first one", kv.lost, kv.createdRev)
	}
	if rev < kv.createdRev {
		t.Fatalf("leading at revision %d; the lost claim created %d", rev, kv.createdRev)
	}
	// By the lost claim, not by a claim made again once the key expired.
	if !hasLine(tc.logs[0], "a claim whose reply was lost had created the leader key") {
		t.Fatalf("the node did not lead on its lost claim:\n%s", tc.logs[0])
	}
}

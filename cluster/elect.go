package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// leaderKey is the key in LeaderBucket that names the leader.
const leaderKey = "leader"

// Elector campaigns for leadership of the cluster through the KV key
// onecall_leader/leader. The bucket's TTL (Config.LeaderTTL) expires the key
// unless the leader renews it; Create and Update with the last revision
// make the claim and the renewals atomic, on a stream replicated with
// quorum, so a minority can neither elect nor renew.
//
// Fencing: the leader holds a local lease of 3/4 of the TTL, counted from
// the moment it sent the write that succeeded (before the server stamped
// it), and renews every 1/4 of the TTL, each attempt bounded by that
// interval: a request lost as the bucket's Raft leader moves is sent again
// while the lease lasts, and one whose reply was lost but that was applied
// is recognised by the key holding this node's value, stamped after it was
// sent (the lease then counts from that sending). When renewal fails until
// the lease ends, it stops leading at the lease's end, before the key can
// expire and another node can claim it. This assumes the nodes' clocks run
// at the same rate and agree within TTL/4.
type Elector struct {
	kv     jetstream.KeyValue
	log    *slog.Logger
	value  []byte
	onLead func(ctx context.Context)

	lease, renew, poll time.Duration

	// unsure is when the oldest write of the key whose outcome this node
	// does not know was sent (its reply was lost: a stream's Raft leader
	// moved, say); zero when none. Only the campaign's goroutine uses it.
	unsure time.Time

	mu       sync.Mutex
	leading  bool
	leaseEnd time.Time
	rev      uint64
	term     context.Context
	cancel   context.CancelFunc
	timer    *time.Timer

	stop context.CancelFunc
	done chan struct{}
}

// Campaign starts campaigning for leadership until the node closes or Stop
// is called. Each time the node wins, onLead runs on a new goroutine with a
// context that ends when the lease ends (or at Stop). A new leader must
// catch up on the log (Log.ReadTo) before it acts; the previous leader may
// have appended up to the moment its lease ended.
func (n *Node) Campaign(onLead func(ctx context.Context)) *Elector {
	return n.campaign(n.leaders, onLead)
}

// campaign campaigns through kv (the leader bucket; tests wrap it).
func (n *Node) campaign(kv jetstream.KeyValue, onLead func(ctx context.Context)) *Elector {
	ttl := n.cfg.LeaderTTL
	e := &Elector{
		kv:     kv,
		log:    n.log,
		value:  fmt.Appendf(nil, "%s %d", n.cfg.NodeID, time.Now().UnixNano()),
		onLead: onLead,
		lease:  ttl * 3 / 4,
		renew:  ttl / 4,
		poll:   ttl / 8,
		done:   make(chan struct{}),
	}
	ctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	n.closeMu.Lock()
	if n.closed {
		n.closeMu.Unlock()
		stop()
		close(e.done)
		return e
	}
	n.electors = append(n.electors, e)
	n.closeMu.Unlock()
	go e.run(ctx)
	return e
}

// IsLeader reports whether this node holds an unexpired lease. It reads the
// clock, so it turns false at the lease's end even if the campaign
// goroutine is late.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading && time.Now().Before(e.leaseEnd)
}

// Leading returns the current term's context and true while this node
// leads. Pass the context to Log.Append and to what the leader publishes.
func (e *Elector) Leading() (context.Context, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading || !time.Now().Before(e.leaseEnd) {
		return nil, false
	}
	return e.term, true
}

// Leader returns the id of the node that holds the key, or "" when no node
// does (as far as this node's server knows).
func (e *Elector) Leader(ctx context.Context) (string, error) {
	v, err := e.kv.Get(ctx, leaderKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(string(v.Value()), " ")
	return id, nil
}

// Stop ends the campaign; a leader resigns (deletes the key) so another
// node takes over without waiting for the TTL.
func (e *Elector) Stop() {
	e.stop()
	<-e.done
}

func (e *Elector) run(ctx context.Context) {
	defer close(e.done)
	was := false
	for ctx.Err() == nil {
		e.mu.Lock()
		leading, rev, leaseEnd := e.leading, e.rev, e.leaseEnd
		e.mu.Unlock()
		if !leading {
			if was {
				e.unsure = time.Time{} // the claims judge only their own writes
			}
			was = false
			e.claim(ctx)
			continue
		}
		was = true
		e.renewOnce(ctx, rev, leaseEnd)
	}
	e.resign()
}

// claim tries to create the key; on failure it waits one poll interval.
// A claim whose reply was lost may have created the key: when the key then
// exists with this node's own value, the node leads, its lease counted
// from that claim's sending.
func (e *Elector) claim(ctx context.Context) {
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, e.lease/2)
	rev, err := e.kv.Create(cctx, leaderKey, e.value)
	cancel()
	switch {
	case err == nil:
		e.unsure = time.Time{}
		e.elected(ctx, start, rev)
		return
	case errors.Is(err, jetstream.ErrKeyExists):
		if sent := e.unsure; !sent.IsZero() {
			e.unsure = time.Time{}
			if rev, ok := e.ours(ctx, sent); ok && time.Since(sent) < e.lease {
				e.log.Info("cluster: a claim whose reply was lost had created the leader key", "revision", rev)
				e.elected(ctx, sent, rev)
				return
			}
		}
	default:
		if e.unsure.IsZero() && errors.Is(err, context.DeadlineExceeded) {
			e.unsure = start
		}
		if ctx.Err() == nil {
			e.log.Debug("cluster: claiming leadership", "err", err)
		}
	}
	sleep(ctx, e.poll)
}

// renewOnce waits for the next renewal and writes it. Each attempt takes
// at most one renewal interval, so a write whose reply is lost (the
// bucket's Raft leader moved: acceptance run 85 lost its leadership so,
// one request waited out the whole lease) is sent again while the lease
// lasts. A revision mismatch means the key is no longer ours, unless an
// attempt whose reply was lost renewed it: the key then still holds this
// node's own value.
func (e *Elector) renewOnce(ctx context.Context, rev uint64, leaseEnd time.Time) {
	if !sleep(ctx, time.Until(leaseEnd.Add(-e.lease+e.renew))) {
		return
	}
	start := time.Now()
	deadline := start.Add(e.renew)
	if leaseEnd.Before(deadline) {
		deadline = leaseEnd
	}
	rctx, cancel := context.WithDeadline(ctx, deadline)
	nrev, err := e.kv.Update(rctx, leaderKey, e.value, rev)
	cancel()
	switch {
	case err == nil:
		e.unsure = time.Time{}
		e.renewed(start, nrev)
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		if sent := e.unsure; !sent.IsZero() {
			e.unsure = time.Time{}
			if cur, ok := e.ours(ctx, sent); ok {
				e.log.Info("cluster: a renewal whose reply was lost had renewed the lease", "revision", cur)
				e.renewed(sent, cur)
				return
			}
		}
		e.lose("the leader key changed hands")
	default:
		if !e.IsLeader() {
			e.lose(fmt.Sprintf("could not renew the lease: %v", err))
			return
		}
		e.log.Warn("cluster: renewing leadership", "err", err)
		if errors.Is(err, context.DeadlineExceeded) {
			if e.unsure.IsZero() {
				e.unsure = start
			}
			return // the attempt took its time already: again at once
		}
		sleep(ctx, e.poll)
	}
}

// ours reads the key, within a renewal interval: its revision, when it
// holds this node's value written at sent or after (by the server's
// stamp, so not an older write of this node's; the clocks agree within
// TTL/4, as the lease assumes).
func (e *Elector) ours(ctx context.Context, sent time.Time) (uint64, bool) {
	gctx, cancel := context.WithTimeout(ctx, e.renew)
	defer cancel()
	v, err := e.kv.Get(gctx, leaderKey)
	if err != nil || !bytes.Equal(v.Value(), e.value) || v.Created().Before(sent) {
		return 0, false
	}
	return v.Revision(), true
}

func (e *Elector) elected(ctx context.Context, start time.Time, rev uint64) {
	e.mu.Lock()
	e.leading = true
	e.rev = rev
	e.leaseEnd = start.Add(e.lease)
	e.term, e.cancel = context.WithCancel(ctx)
	e.timer = time.AfterFunc(time.Until(e.leaseEnd), e.expire)
	term := e.term
	e.mu.Unlock()
	e.log.Info("cluster: elected leader", "revision", rev)
	if e.onLead != nil {
		go e.onLead(term)
	}
}

func (e *Elector) renewed(start time.Time, rev uint64) {
	e.mu.Lock()
	if !e.leading {
		e.mu.Unlock()
		// The lease ended while the write was in flight: give the key back.
		e.deleteKey(rev)
		return
	}
	e.rev = rev
	if end := start.Add(e.lease); end.After(e.leaseEnd) {
		e.leaseEnd = end
	}
	e.mu.Unlock()
}

// expire runs at the lease's end: it steps down unless a renewal moved it.
func (e *Elector) expire() {
	e.mu.Lock()
	if e.leading {
		if left := time.Until(e.leaseEnd); left > 0 {
			e.timer.Reset(left)
			e.mu.Unlock()
			return
		}
	}
	e.mu.Unlock()
	e.lose("the lease ended without renewal")
}

func (e *Elector) lose(reason string) {
	e.mu.Lock()
	if !e.leading {
		e.mu.Unlock()
		return
	}
	e.leading = false
	e.cancel()
	e.timer.Stop()
	e.mu.Unlock()
	e.log.Warn("cluster: stepped down as leader", "reason", reason)
}

func (e *Elector) resign() {
	e.mu.Lock()
	leading, rev := e.leading, e.rev
	e.mu.Unlock()
	if !leading {
		return
	}
	e.lose("resigned")
	e.deleteKey(rev)
}

func (e *Elector) deleteKey(rev uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = e.kv.Delete(ctx, leaderKey, jetstream.LastRevision(rev))
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

package cluster

import (
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
// it), and renews every 1/4 of the TTL. When renewal fails until the lease
// ends, it stops leading at the lease's end, before the key can expire and
// another node can claim it. This assumes the nodes' clocks run at the same
// rate and agree within TTL/4.
type Elector struct {
	kv     jetstream.KeyValue
	log    *slog.Logger
	value  []byte
	onLead func(ctx context.Context)

	lease, renew, poll time.Duration

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
	ttl := n.cfg.LeaderTTL
	e := &Elector{
		kv:     n.leaders,
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
	for ctx.Err() == nil {
		e.mu.Lock()
		leading, rev, leaseEnd := e.leading, e.rev, e.leaseEnd
		e.mu.Unlock()
		if !leading {
			e.claim(ctx)
			continue
		}
		e.renewOnce(ctx, rev, leaseEnd)
	}
	e.resign()
}

// claim tries to create the key; on failure it waits one poll interval.
func (e *Elector) claim(ctx context.Context) {
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, e.lease/2)
	rev, err := e.kv.Create(cctx, leaderKey, e.value)
	cancel()
	if err == nil {
		e.elected(ctx, start, rev)
		return
	}
	if !errors.Is(err, jetstream.ErrKeyExists) && ctx.Err() == nil {
		e.log.Debug("cluster: claiming leadership", "err", err)
	}
	sleep(ctx, e.poll)
}

// renewOnce waits for the next renewal and writes it; a revision mismatch
// means the key is no longer ours.
func (e *Elector) renewOnce(ctx context.Context, rev uint64, leaseEnd time.Time) {
	if !sleep(ctx, time.Until(leaseEnd.Add(-e.lease+e.renew))) {
		return
	}
	start := time.Now()
	rctx, cancel := context.WithDeadline(ctx, leaseEnd)
	nrev, err := e.kv.Update(rctx, leaderKey, e.value, rev)
	cancel()
	switch {
	case err == nil:
		e.renewed(start, nrev)
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		e.lose("the leader key changed hands")
	default:
		if !e.IsLeader() {
			e.lose(fmt.Sprintf("could not renew the lease: %v", err))
			return
		}
		e.log.Warn("cluster: renewing leadership", "err", err)
		sleep(ctx, e.poll)
	}
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

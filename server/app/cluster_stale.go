package app

import (
	"context"
	"time"

	"onecall/router"
)

// Contacts stored as live that routing does not hold. A chat is stored as
// waiting before it enters routing; when its node dies between the two
// (or between routing's refusal and the node's queued "ended busy"), the
// row stays live and nothing would close it: the node-lost repairs act on
// what routing holds. The leader ends such rows (store.EndStale, reason
// "stuck"): every staleEvery it reads the contacts stored as live that
// arrived more than staleAfter ago (a start is settled by then: its
// arrival answered within seconds, a withdrawal within 12 s), and ends
// those routing does not hold in two sweeps in a row (the second rules out
// an end routing decided whose row its store sink is still writing).
const (
	staleEvery = 10 * time.Second
	staleAfter = 30 * time.Second
	staleBatch = 500
)

// staleSweep runs the sweep while this node leads, until ctx ends.
func (a *App) staleSweep(ctx context.Context) {
	every := staleEvery
	if a.opts.testStaleEvery > 0 {
		every = a.opts.testStaleEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	seen := map[uint64]bool{} // not held by routing at the last sweep
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !a.cfront.Leading() {
			clear(seen)
			continue
		}
		seen = a.staleOnce(ctx, seen)
	}
}

// staleOnce is one sweep; it returns the rows routing did not hold.
func (a *App) staleOnce(ctx context.Context, seen map[uint64]bool) map[uint64]bool {
	now := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ids, err := a.st.StaleLive(rctx, now.Add(-staleAfter), staleBatch)
	if err != nil {
		a.log.Warn("cluster: stale contacts not read", "err", err)
		return seen
	}
	held := map[uint64]bool{}
	if err := a.cfront.Query(rctx, func(e *router.Engine) {
		for _, id := range ids {
			if _, ok := e.Contact(router.ContactID(id)); ok {
				held[id] = true
			}
		}
	}); err != nil {
		return seen
	}
	next := map[uint64]bool{}
	for _, id := range ids {
		if held[id] {
			continue
		}
		if !seen[id] {
			next[id] = true
			continue
		}
		ended, err := a.st.EndStale(rctx, id, now)
		if err != nil {
			a.log.Warn("cluster: stale contact not ended", "contact_id", id, "err", err)
			next[id] = true
			continue
		}
		if ended {
			a.log.Warn("cluster: contact stored as live but unknown to routing ended (its node died as it started, or its end was lost)",
				"contact_id", id)
		}
	}
	return next
}

package app

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"onecall/cluster"
	"onecall/router"
	"onecall/server"
	"onecall/sip"
	"onecall/store"
)

// Callbacks of a lost node (issue 14, docs/cluster.md "When a node dies").
// A callback is placed by the node whose SIP service holds it (the one
// that booked it): its pending state (waiting for an offer, the backoff
// timer before its next attempt, an attempt being placed) lives in that
// process only. Each node records in the KV bucket onecall_callback_node
// the callbacks it holds (sip.Options.OnCallback); when a node is lost,
// the leader's callbackRepair takes each of its callbacks that is not
// finished in the store: it moves the entry to itself (a compare-and-set,
// so of two leaders only one takes it) and its SIP service adopts it
// (sip.Service.AdoptCallback): a callback still waiting in routing keeps
// its place, one between attempts waits for its next attempt's time, one
// whose attempt died with the node is booked again (the attempt counts)
// and routed now. A node that sees one of its callbacks taken (it was only
// cut off, or slow) lets it go, so no callback is placed twice.

// CallbackBucket maps a callback's contact id (decimal) to the id of the
// node that places it.
const CallbackBucket = "onecall_callback_node"

// callbackRepairBatch bounds the callbacks one Repair call adopts (the
// watch's check must return quickly; the rest follow at the next checks).
const callbackRepairBatch = 32

func callbackKey(id router.ContactID) string { return strconv.FormatUint(uint64(id), 10) }

// openCallbackNodes opens the bucket; its entries live until their
// callback is finished (no TTL: a callback may wait days between
// attempts).
func (a *App) openCallbackNodes(ctx context.Context) error {
	m, err := openNodeMap(ctx, a.node, CallbackBucket, "callback", 0, a.log.With("component", "callback-nodes"))
	if err != nil {
		return err
	}
	m.moved = func(key, node string) {
		id, err := strconv.ParseUint(key, 10, 64)
		if err != nil || a.sip == nil {
			return
		}
		if a.sip.ReleaseCallback(router.ContactID(id)) {
			a.log.Warn("cluster: a callback this node held is placed by another node now: let go",
				"contact_id", id, "node", node)
		}
	}
	a.callbackNodes = m
	return nil
}

// onCallback is sip.Options.OnCallback on a node of a cluster.
func (a *App) onCallback() func(router.ContactID, bool) {
	if a.callbackNodes == nil {
		return nil
	}
	return func(id router.ContactID, here bool) { a.callbackNodes.Presence(callbackKey(id), here) }
}

// callbackRepair hands a lost node's callbacks to this node (the leader).
type callbackRepair struct {
	rep     *server.Replica
	nodes   *nodeMap
	st      *store.Store
	sip     *sip.Service
	log     *slog.Logger
	repairs *prometheus.CounterVec
	sent    again
}

func (r *callbackRepair) Holding() map[uint16]bool {
	out := map[uint16]bool{}
	for n := range r.nodes.holding() {
		out[n] = true
	}
	return out
}

func (r *callbackRepair) Repair(ctx context.Context, node uint16, silent time.Duration) {
	r.act(ctx, node, time.Time{}, silent)
}

func (r *callbackRepair) Oldest() map[uint16]time.Time { return r.nodes.holding() }

// Restarted: node restarted before it was declared lost; the callbacks its
// previous life held are not placed by anyone (a cluster node does not
// load them again at start), so they are adopted as a lost node's (this
// node's own too, when it is the one that restarted).
func (r *callbackRepair) Restarted(ctx context.Context, node uint16, started time.Time, since time.Duration) {
	r.act(ctx, node, started, since)
}

func (r *callbackRepair) act(ctx context.Context, node uint16, before time.Time, silent time.Duration) {
	id := server.NodeName(node)
	keys := r.nodes.on(id, before)
	now := time.Now()
	done := 0
	for _, key := range keys {
		if done >= callbackRepairBatch {
			return
		}
		n, err := strconv.ParseUint(key, 10, 64)
		if err != nil || !r.sent.due("cb/"+key, now) {
			continue
		}
		done++
		r.adopt(ctx, router.ContactID(n), key, id, node, silent)
	}
}

func (r *callbackRepair) adopt(ctx context.Context, contact router.ContactID, key, id string, node uint16, silent time.Duration) {
	log := r.log.With("contact_id", uint64(contact), "node", node)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	rec, err := r.st.Callback(sctx, uint64(contact))
	cancel()
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && rec.Status != store.CallbackBooked && rec.Status != store.CallbackDialing):
		// Finished (or never written): nothing to place.
		fctx, cancel := context.WithTimeout(ctx, time.Second)
		if err := r.nodes.forget(fctx, key, id); err != nil {
			log.Warn("cluster: entry of a lost node's finished callback not removed", "err", err)
		}
		cancel()
		return
	case err != nil:
		log.Warn("cluster: a lost node's callback not read", "err", err)
		return
	}
	var v router.ContactView
	var live bool
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	err = r.rep.Query(qctx, func(e *router.Engine) { v, live = e.Contact(contact) })
	cancel()
	if err != nil {
		return
	}
	if live && (v.Channel != router.Voice || v.State != router.Waiting) {
		// A chat still booking it, or an offer or attempt that NodeLost
		// puts back or ends first: look again at the next check.
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = r.nodes.claim(cctx, key, id)
	cancel()
	if err != nil {
		log.Warn("cluster: a lost node's callback not taken over", "err", err)
		return
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = r.sip.AdoptCallback(actx, rec, live)
	cancel()
	if err != nil {
		log.Warn("cluster: a lost node's callback not adopted", "err", err)
		return
	}
	r.repairs.WithLabelValues("callback_adopted").Inc()
	log.Warn("cluster: node lost: its callback is placed by this node now", "status", rec.Status,
		"waiting_in_routing", live, "attempts", rec.Attempts, "silent_ms", silent.Milliseconds())
}

var (
	_ server.NodeLifeRepair = (*callbackRepair)(nil)
	_ server.NodeLifeRepair = (*consoleRepair)(nil)
)

// callbackNode is the node the callback of id is placed by.
func (a *App) callbackNode(id router.ContactID) (uint16, bool) {
	return cluster.NodeNumber(a.callbackNodes.Where(callbackKey(id)))
}

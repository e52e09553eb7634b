package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"onecall/router"
	"onecall/server"
)

// The reconciler repairs what a lost event leaves behind (issue 17): every
// routing.reconcile_every it compares the engine's live voice contacts
// with the SIP front end's live calls, and a contact with no call in two
// sweeps in a row (the second sweep rules out a call ending or starting
// between the two reads) is ended with EndStuck, which frees its agent.
// Each repair is logged and counted in
// onecall_reconciler_repairs_total{kind}. Booked callbacks have no call by
// design and are left alone. Chats and console connections are not swept
// (a chat outlives its citizen's connection by design).

// repairVoiceContact is the kind of a voice contact without a live call.
const repairVoiceContact = "voice_contact"

type reconciler struct {
	hub     *server.Hub
	every   time.Duration
	log     *slog.Logger
	calls   func() map[router.ContactID]bool // the live SIP calls
	repairs *prometheus.CounterVec

	// missing counts consecutive sweeps that found a contact without a
	// call (owned by run's goroutine).
	missing map[router.ContactID]int
}

func newReconciler(hub *server.Hub, every time.Duration, log *slog.Logger, calls func() map[router.ContactID]bool) *reconciler {
	return &reconciler{hub: hub, every: every, log: log, calls: calls, missing: map[router.ContactID]int{},
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onecall_reconciler_repairs_total",
			Help: "State the reconciler repaired because it had no live counterpart, by kind."}, []string{"kind"})}
}

func (r *reconciler) run(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.sweep(ctx)
		}
	}
}

// sweep runs one comparison. The engine is read first, the calls second:
// a call that started after the engine read is irrelevant, one that ended
// in between is missing once only (its end reaches the engine before the
// next sweep).
func (r *reconciler) sweep(ctx context.Context) {
	var contacts []router.ContactView
	qctx, cancel := context.WithTimeout(ctx, r.every)
	err := r.hub.Query(qctx, func(e *router.Engine) { contacts = e.LiveContacts(router.Voice) })
	cancel()
	if err != nil {
		r.log.Warn("reconciler: engine query failed", "err", err)
		return
	}
	calls := r.calls()
	seen := make(map[router.ContactID]bool, len(contacts))
	for _, c := range contacts {
		if c.State == router.CallbackBooked || calls[c.ID] {
			continue
		}
		seen[c.ID] = true
		r.missing[c.ID]++
		if r.missing[c.ID] < 2 {
			continue
		}
		if err := r.hub.Submit(router.ContactEnded{Contact: c.ID, Reason: router.EndStuck}); err != nil {
			r.log.Warn("reconciler: repair not submitted", "contact_id", uint64(c.ID), "err", err)
			continue
		}
		r.repairs.WithLabelValues(repairVoiceContact).Inc()
		r.log.Warn("reconciler repair: voice contact without a live call ended", "kind", repairVoiceContact,
			"contact_id", uint64(c.ID), "state", c.State.String(), "agent_id", string(c.Agent), "queue", c.Queue)
		delete(r.missing, c.ID)
		delete(seen, c.ID)
	}
	for id := range r.missing {
		if !seen[id] {
			delete(r.missing, id)
		}
	}
}

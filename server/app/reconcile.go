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
// routing.reconcile_every it compares the engine's live contacts and
// logged-in agents with the transports' live counterparts:
//
//   - a voice contact with no SIP call, or a chat contact with no live chat
//     in the chat service, is ended with EndStuck (which frees its agent);
//   - a chat the chat service still runs whose contact routing no longer
//     has (its final command was lost) is ended in the chat ("stuck");
//   - an agent logged in whose console went away more than the console's
//     logout grace (plus one sweep) ago is logged out (the console's own
//     logout was lost).
//
// A contact or chat is repaired only when two sweeps in a row find it
// without its counterpart (the second rules out one starting or ending
// between the two reads). Each repair is logged ("reconciler repair: ...")
// and counted in onecall_reconciler_repairs_total{kind}. Booked callbacks
// have no call or chat by design and are left alone; a chat outlives its
// citizen's connection by design (the chat service's own idle timers end
// it), so the live chat, not the citizen's socket, is its counterpart.
//
// On a cluster each node runs its own reconciler against the shared engine
// and repairs only what it owns (ownership): a voice contact whose id
// carries its node number (its call lives there), a chat the chat owners
// table puts on it (else, while no table is set, the chat whose id carries
// its number), and an agent whose console went away from it and is not
// live on another node. Another node's call is never "missing" here.

// Repair kinds (the metric's label).
const (
	repairVoiceContact = "voice_contact" // voice contact without a live call
	repairChatContact  = "chat_contact"  // chat contact without a live chat
	repairChatOrphan   = "chat_orphan"   // live chat without a routed contact
	repairConsoleAgent = "console_agent" // agent logged in, console gone past the grace
)

// liveSides are the transports' live counterparts the reconciler reads.
type liveSides struct {
	calls func() map[router.ContactID]bool // live SIP calls
	chats chatSide                         // nil: chats not swept
	cons  consoleSide                      // nil: consoles not swept
}

type chatSide interface {
	LiveContacts() map[router.ContactID]bool
	EndOrphan(id router.ContactID) bool
}

type consoleSide interface {
	GoneConsoles() map[router.AgentID]time.Time
	ForgetGone(agent router.AgentID, since time.Time)
	LogoutGrace() time.Duration
}

// engineSide is the routing engine the reconciler reads and repairs: the
// single node's server.Hub or a cluster node's replica.
type engineSide interface {
	Query(ctx context.Context, fn func(e *router.Engine)) error
	Submit(ev router.Event) error
}

var _ engineSide = (*server.Hub)(nil)
var _ engineSide = (*server.Replica)(nil)

// ownership says which of the shared engine's contacts and agents a
// cluster node repairs. The zero value (node 0, the single node) owns all.
type ownership struct {
	node uint16
	// chatOwner looks a chat up in the chat owners table (the node its
	// citizen's WebSocket reached last); nil, or not found: the node that
	// allocated its id.
	chatOwner func(router.ContactID) (node uint16, ok bool)
	// consoleNode says where an agent's console is live now; nil, or not
	// found: nowhere else, so a console gone from this node is this node's
	// to repair.
	consoleNode func(router.AgentID) (node uint16, ok bool)
}

func (o ownership) contact(c router.ContactView) bool {
	if o.node == 0 {
		return true
	}
	if c.Channel == router.Chat && o.chatOwner != nil {
		if n, ok := o.chatOwner(c.ID); ok {
			return n == o.node
		}
	}
	return c.ID.Node() == o.node
}

func (o ownership) agent(id router.AgentID) bool {
	if o.node == 0 || o.consoleNode == nil {
		return true
	}
	n, ok := o.consoleNode(id)
	return !ok || n == o.node
}

type reconciler struct {
	hub     engineSide
	owns    ownership
	every   time.Duration
	log     *slog.Logger
	sides   liveSides
	now     func() time.Time
	repairs *prometheus.CounterVec

	// missing counts consecutive sweeps that found a contact (or chat)
	// without its counterpart (owned by run's goroutine).
	missing map[missKey]int
}

type missKey struct {
	kind string
	id   router.ContactID
}

func newReconciler(hub engineSide, every time.Duration, log *slog.Logger, sides liveSides) *reconciler {
	r := &reconciler{hub: hub, every: every, log: log, sides: sides, now: time.Now, missing: map[missKey]int{},
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onecall_reconciler_repairs_total",
			Help: "State the reconciler repaired because it had no live counterpart, by kind."}, []string{"kind"})}
	for _, k := range []string{repairVoiceContact, repairChatContact, repairChatOrphan, repairConsoleAgent} {
		r.repairs.WithLabelValues(k) // exported at 0 from the start
	}
	return r
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

// sweep runs one comparison. The engine is read first, the transports
// second: a contact that started after the engine read is irrelevant, one
// that ended in between is missing once only (its end reaches the engine,
// or its close reaches the transport, before the next sweep).
func (r *reconciler) sweep(ctx context.Context) {
	var voice, chats []router.ContactView
	var agents []router.AgentView
	qctx, cancel := context.WithTimeout(ctx, r.every)
	err := r.hub.Query(qctx, func(e *router.Engine) {
		voice = e.LiveContacts(router.Voice)
		if r.sides.chats != nil {
			chats = e.LiveContacts(router.Chat)
		}
		if r.sides.cons != nil {
			agents = e.Snapshot().Agents
		}
	})
	cancel()
	if err != nil {
		r.log.Warn("reconciler: engine query failed", "err", err)
		return
	}
	seen := map[missKey]bool{}
	r.sweepContacts(repairVoiceContact, voice, r.sides.calls(), seen)
	if r.sides.chats != nil {
		live := r.sides.chats.LiveContacts()
		r.sweepContacts(repairChatContact, chats, live, seen)
		routed := make(map[router.ContactID]bool, len(chats))
		for _, c := range chats {
			routed[c.ID] = true
		}
		for id := range live {
			if routed[id] || !r.twice(repairChatOrphan, id, seen) {
				continue
			}
			if r.sides.chats.EndOrphan(id) {
				r.repaired(repairChatOrphan, "reconciler repair: chat without a routed contact ended", "contact_id", uint64(id))
			}
		}
	}
	for k := range r.missing {
		if !seen[k] {
			delete(r.missing, k)
		}
	}
	if r.sides.cons != nil {
		r.sweepConsoles(agents)
	}
}

// sweepContacts ends the engine's contacts (of one kind) that have no live
// counterpart in two sweeps in a row.
func (r *reconciler) sweepContacts(kind string, contacts []router.ContactView, live map[router.ContactID]bool, seen map[missKey]bool) {
	for _, c := range contacts {
		if c.State == router.CallbackBooked || live[c.ID] || !r.owns.contact(c) || !r.twice(kind, c.ID, seen) {
			continue
		}
		if err := r.hub.Submit(router.ContactEnded{Contact: c.ID, Reason: router.EndStuck}); err != nil {
			r.log.Warn("reconciler: repair not submitted", "kind", kind, "contact_id", uint64(c.ID), "err", err)
			continue
		}
		msg := "reconciler repair: voice contact without a live call ended"
		if kind == repairChatContact {
			msg = "reconciler repair: chat contact without a live chat ended"
		}
		r.repaired(kind, msg, "contact_id", uint64(c.ID), "state", c.State.String(), "agent_id", string(c.Agent), "queue", c.Queue)
	}
}

// twice records that id lacks its counterpart in this sweep and reports
// whether it did in the previous one too (then the record is dropped: the
// repair follows).
func (r *reconciler) twice(kind string, id router.ContactID, seen map[missKey]bool) bool {
	k := missKey{kind, id}
	r.missing[k]++
	if r.missing[k] < 2 {
		seen[k] = true
		return false
	}
	delete(r.missing, k)
	return true
}

// sweepConsoles logs out the agents still logged in whose console went
// away longer ago than the console's grace plus one sweep.
func (r *reconciler) sweepConsoles(agents []router.AgentView) {
	gone := r.sides.cons.GoneConsoles()
	if len(gone) == 0 {
		return
	}
	bound := r.sides.cons.LogoutGrace() + r.every
	now := r.now()
	for _, a := range agents {
		since, ok := gone[a.ID]
		if !ok {
			continue
		}
		if !a.LoggedIn {
			r.sides.cons.ForgetGone(a.ID, since)
			continue
		}
		if now.Sub(since) < bound {
			continue
		}
		if !r.owns.agent(a.ID) { // its console is live on another node now
			r.sides.cons.ForgetGone(a.ID, since)
			continue
		}
		if err := r.hub.Submit(router.AgentLoggedOut{Agent: a.ID}); err != nil {
			r.log.Warn("reconciler: repair not submitted", "kind", repairConsoleAgent, "agent_id", string(a.ID), "err", err)
			continue
		}
		r.repaired(repairConsoleAgent, "reconciler repair: agent without a console logged out",
			"agent_id", string(a.ID), "state", a.State.String(), "console_gone_s", int(now.Sub(since).Seconds()))
	}
}

func (r *reconciler) repaired(kind, msg string, args ...any) {
	r.repairs.WithLabelValues(kind).Inc()
	r.log.Warn(msg, append([]any{"kind", kind}, args...)...)
}

package sip

import (
	"sync"
	"testing"
	"time"

	"onecall/router"
	"onecall/store"
)

// TestCallbackHandedOver: on a cluster a callback is placed by the one
// Service that holds it. A Service that lets a callback go (another node
// took it) no longer places it: an offer finds nothing to ring. The
// Service that adopts it places it: one still waiting in routing is not
// routed again and rings its agent on the next offer (here: not
// registered, so the offer is rejected); one whose attempt died with its
// node is booked again; one between attempts waits for its time.
// OnCallback follows every take and release.
func TestCallbackHandedOver(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	here := map[router.ContactID]bool{}
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.Outbound.Trunks = []OutboundTrunk{{Name: "a", Address: "127.0.0.1:9"}}
		o.OnCallback = func(id router.ContactID, h bool) {
			mu.Lock()
			here[id] = h
			mu.Unlock()
		}
	})
	held := func(id router.ContactID) bool {
		mu.Lock()
		defer mu.Unlock()
		return here[id]
	}
	now := time.Now().Truncate(time.Millisecond)
	rec := func(id uint64, status string, attrs map[string]string) store.Callback {
		r := store.Callback{Contact: id, CitizenNumber: "01055556666", Hotline: "110", Queue: "q", Arrived: now.Add(-time.Minute),
			Booked: now, Status: status, Attempts: 1, Attrs: attrs}
		if err := env.db.Durable(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	arrivals := func(id router.ContactID) int {
		n := 0
		for _, ev := range env.hub.events() {
			if a, ok := ev.(router.ContactArrived); ok && a.Contact == id {
				n++
			}
		}
		return n
	}
	rejected := func(id router.ContactID) bool {
		return env.hub.has(isEv(func(e router.OfferRejected) bool { return e.Contact == id }))
	}

	// Booked here, routed; then taken by another node: let go.
	a := rec(101, store.CallbackBooked, map[string]string{})
	if err := env.svc.BookCallback(t.Context(), a, false); err != nil {
		t.Fatal(err)
	}
	env.hub.waitEvent(t, 5*time.Second, "callback routed", isEv(func(e router.ContactArrived) bool { return e.Contact == 101 }))
	if !held(101) {
		t.Fatal("OnCallback did not hear the booking")
	}
	if !env.svc.ReleaseCallback(101) || env.svc.HoldsCallback(101) {
		t.Fatal("callback not let go")
	}
	env.svc.deliver([]router.Command{router.Offer{Contact: 101, Agent: "agent01", Channel: router.Voice, Queue: "q",
		Deadline: time.Now().Add(time.Second)}})

	// Adopted while it waits in routing, its attempt having died with its
	// node: booked again, not routed again, placed on the next offer.
	b := rec(102, store.CallbackDialing, map[string]string{})
	if err := env.svc.AdoptCallback(t.Context(), b, true); err != nil {
		t.Fatal(err)
	}
	if !env.svc.HoldsCallback(102) || !held(102) {
		t.Fatal("adopted callback not held")
	}
	env.svc.deliver([]router.Command{router.Offer{Contact: 102, Agent: "agent01", Channel: router.Voice, Queue: "q",
		Deadline: time.Now().Add(time.Second)}})
	env.hub.waitEvent(t, 5*time.Second, "the adopted callback's offer tried", isEv(func(e router.OfferRejected) bool {
		return e.Contact == 102 && e.Reason == "not registered"
	}))
	if n := arrivals(102); n != 0 {
		t.Errorf("the adopted callback waiting in routing entered routing again (%d)", n)
	}
	if r, err := env.db.Callback(t.Context(), 102); err != nil || r.Status != store.CallbackBooked || r.Attempts != 1 {
		t.Errorf("adopted callback's row: %+v %v, want booked after 1 attempt", r, err)
	}
	if rejected(101) {
		t.Error("the callback let go was still placed")
	}

	// Adopted between attempts: waits for next_at, then lets go on a
	// second hand-over (its timer with it).
	c := rec(103, store.CallbackBooked, map[string]string{"next_at": now.Add(time.Hour).UTC().Format(time.RFC3339)})
	if err := env.svc.AdoptCallback(t.Context(), c, false); err != nil {
		t.Fatal(err)
	}
	if n := env.svc.ScheduledCallbacks("q"); n != 1 || arrivals(103) != 0 || !held(103) {
		t.Fatalf("callback between attempts: scheduled %d, routed %d times, held %v; want 1, 0, true", n, arrivals(103), held(103))
	}
	if !env.svc.ReleaseCallback(103) || env.svc.ScheduledCallbacks("q") != 0 {
		t.Fatal("callback between attempts not let go")
	}
}

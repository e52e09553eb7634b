package sip

import (
	"context"

	"onecall/router"
	"onecall/store"
)

// Callbacks on a cluster (issue 14, docs/cluster.md "When a node dies").
// Each callback is placed by the one Service that holds it (the node that
// booked it); Options.OnCallback tells the cluster which one. When that
// node dies, the leader hands its callbacks to a live node, whose Service
// takes each one with AdoptCallback: at its place in line if it still
// waits in routing, else back to routing now or at its next attempt's
// time; an attempt that was being placed when the node died counts as
// made and the callback is booked again. A node told that a callback it
// holds was handed to another node lets it go (ReleaseCallback), so a node
// that was only cut off and comes back never places it a second time.

func (s *Service) callbackHere(id router.ContactID, here bool) {
	if s.opts.OnCallback != nil {
		s.opts.OnCallback(id, here)
	}
}

// AdoptCallback takes over rec, a callback another node held. routed says
// its contact still waits in routing (the engine offers it, and this
// Service now places it); otherwise it re-enters routing, at next_at if
// that is still ahead. A callback this Service holds already is left as
// it is.
func (s *Service) AdoptCallback(ctx context.Context, rec store.Callback, routed bool) error {
	if rec.Status == store.CallbackDialing {
		// Its node died during an attempt: that attempt counts, the
		// callback is booked again.
		// (A row not saved now is written again at the next attempt.)
		rec.Status = store.CallbackBooked
		_ = s.saveCallback(ctx, rec)
	}
	if !routed || !s.CanDial() {
		return s.BookCallback(ctx, rec, false)
	}
	if rec.Attrs == nil {
		rec.Attrs = map[string]string{}
	}
	id := router.ContactID(rec.Contact)
	s.cb.mu.Lock()
	if _, dup := s.cb.cbs[id]; dup {
		s.cb.mu.Unlock()
		return nil
	}
	s.cb.cbs[id] = &pendingCB{rec: rec, state: cbQueued}
	s.cb.mu.Unlock()
	s.callbackHere(id, true)
	return nil
}

// ReleaseCallback lets go of the callback of contact id, handed to another
// node, unless an attempt of it runs here. It reports whether this Service
// held it and let it go.
func (s *Service) ReleaseCallback(id router.ContactID) bool {
	s.cb.mu.Lock()
	defer s.cb.mu.Unlock()
	p := s.cb.cbs[id]
	if p == nil || p.state == cbActive {
		return false
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.state = cbDone
	delete(s.cb.cbs, id)
	return true
}

// HoldsCallback reports whether this Service holds the callback of id.
func (s *Service) HoldsCallback(id router.ContactID) bool {
	s.cb.mu.Lock()
	defer s.cb.mu.Unlock()
	_, ok := s.cb.cbs[id]
	return ok
}

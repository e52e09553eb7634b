package sip

import "onecall/router"

// LiveContacts returns the contacts this Service keeps alive, for the
// server's reconciler: those with a live citizen call (a call script
// running) and the callbacks it places (waiting in routing for an agent,
// or an attempt running), which have no citizen call by design.
func (s *Service) LiveContacts() map[router.ContactID]bool {
	s.mu.Lock()
	out := make(map[router.ContactID]bool, len(s.calls))
	for id := range s.calls {
		out[id] = true
	}
	s.mu.Unlock()
	s.cb.mu.Lock()
	defer s.cb.mu.Unlock()
	for id, p := range s.cb.cbs {
		if p.state != cbDone {
			out[id] = true
		}
	}
	return out
}

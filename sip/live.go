package sip

import "onecall/router"

// LiveContacts returns the contacts that have a live citizen call (a call
// script running), for the server's reconciler.
func (s *Service) LiveContacts() map[router.ContactID]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[router.ContactID]bool, len(s.calls))
	for id := range s.calls {
		out[id] = true
	}
	return out
}

package sip

// ScheduledCallbacks is the number of queue's callbacks waiting for their
// next attempt (the backoff after a busy, unanswered or failed one, or a
// restart before next_at): pending, but outside routing until then, so
// the engine's queue statistics do not count them.
func (s *Service) ScheduledCallbacks(queue string) int {
	s.cb.mu.Lock()
	defer s.cb.mu.Unlock()
	n := 0
	for _, p := range s.cb.cbs {
		if p.rec.Queue != queue {
			continue
		}
		// cbBackoff, or an attempt that just failed and is being
		// scheduled (its routed contact is ending callback-retry).
		if p.state == cbBackoff || (p.state == cbActive && p.run == nil && p.rec.Attrs[attrNextAt] != "") {
			n++
		}
	}
	return n
}

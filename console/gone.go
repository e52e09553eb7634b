package console

import (
	"time"

	"onecall/router"
)

// GoneConsoles returns the agents whose console went away (closed or cut
// off, not signed out) and has not come back, with the time it went, for
// the server's reconciler: the console logs such an agent out after
// LogoutGrace, and the reconciler repairs a logout that was lost.
func (s *Service) GoneConsoles() map[router.AgentID]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[router.AgentID]time.Time, len(s.gone))
	for a, t := range s.gone {
		out[a] = t
	}
	return out
}

// ForgetGone drops the record that agent's console went away at since,
// once routing has the agent logged out (a later phone-only login is not
// the console's to end). A newer record is kept.
func (s *Service) ForgetGone(agent router.AgentID, since time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.gone[agent]; ok && t.Equal(since) {
		delete(s.gone, agent)
	}
}

// LogoutGrace is how long an agent's console may stay away before the
// agent is logged out of routing.
func (s *Service) LogoutGrace() time.Duration { return s.opts.LogoutGrace }

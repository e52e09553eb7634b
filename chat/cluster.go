package chat

import (
	"context"
	"time"

	"onecall/router"
)

// What a cluster needs of the chat (console/chatbridge.Cluster): a chat
// lives on the node its citizen's WebSocket reached, and moves when the
// citizen resumes on another node. Options.Claim records the owner,
// Options.Publish carries the events to consoles on other nodes, and the
// methods below let the cluster act for them.

// claim runs Options.Claim, if any.
func (s *Service) claim(ctx context.Context, contact router.ContactID) error {
	if s.opts.Claim == nil {
		return nil
	}
	return s.opts.Claim(ctx, contact)
}

// querier is the hub's read access to the engine (server.Hub and
// server.Replica have it).
type querier interface {
	Query(ctx context.Context, fn func(e *router.Engine)) error
}

// adoption is what adopt found of a chat in the routing engine.
type adoption uint8

const (
	notAdopted  adoption = iota // the hub cannot be queried, or the engine knows nothing of the chat
	adopted                     // the engine still routes it: taken over
	closedThere                 // the engine closed it (router.Engine.ClosedChat)
)

// adopt takes over a chat the routing engine already holds: with a
// cluster's shared engine, a chat whose node died (or whose citizen
// resumed on another node) is still routed, so it is not entered again;
// the conv takes the engine's state (talking with its agent, or waiting).
// closedThere when the engine closed the chat (its stored record may still
// say live: the end is written after the engine decided it), with the
// reason and time; notAdopted when the hub cannot be queried or knows
// nothing of it. cv.mu held.
func (s *Service) adopt(ctx context.Context, cv *conv) (adoption, router.EndReason, time.Time) {
	q, ok := s.hub.(querier)
	if !ok {
		return notAdopted, 0, time.Time{}
	}
	var v router.ContactView
	var found, closed bool
	var why router.EndReason
	var at time.Time
	if err := q.Query(ctx, func(e *router.Engine) {
		if v, found = e.Contact(cv.id); !found {
			why, at, closed = e.ClosedChat(cv.id)
		}
	}); err != nil {
		return notAdopted, 0, time.Time{}
	}
	switch {
	case closed:
		return closedThere, why, at
	case !found:
		return notAdopted, 0, time.Time{}
	}
	if v.State == router.Talking && v.Agent != "" {
		cv.rec.State, cv.rec.Agent = "talking", v.Agent
		cv.alias = s.alias(v.Agent, cv.rec.Language)
		cv.hadAgent, cv.everTalked = true, true
	}
	cv.position = v.Position
	return adopted, 0, time.Time{}
}

// Release forgets a chat held here without ending it: another node took
// it over. Its timers stop, its citizen connection (if still here) is
// closed with CloseReplaced, and routing is told nothing. It reports
// whether the chat was here.
func (s *Service) Release(contact router.ContactID) bool {
	s.mu.Lock()
	cv := s.convs[contact]
	if cv != nil {
		delete(s.convs, contact)
		delete(s.byHash, cv.rec.ResumeHash)
	}
	s.mu.Unlock()
	if cv == nil {
		return false
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	cv.stopTimers()
	if cv.forget != nil {
		cv.forget.Stop()
	}
	if !cv.ended {
		cv.ended = true // refuses what is still in flight here
		s.live.Add(-1)
	}
	if cv.conn != nil {
		cv.conn.close(CloseReplaced, "resumed elsewhere")
		cv.conn = nil
	}
	return true
}

// Holds reports whether the chat of contact is held here.
func (s *Service) Holds(contact router.ContactID) bool { return s.known(contact) }

// DetachGrace is how long a chat without its citizen's connection lives
// before it is abandoned (Options.DetachGrace): on a cluster, also how long
// a chat whose node died waits for its citizen to resume on another node.
func (s *Service) DetachGrace() time.Duration { return s.opts.DetachGrace }

// EndRouted ends chat contact in routing only, for agent, the agent talking
// with it: what the agent's "end" does when the node holding the chat
// cannot be reached (it died, and its citizen has not resumed elsewhere).
// Routing closes it; a node that does hold it finishes it on the close, and
// a citizen resuming later finds it ended (router.Engine.ClosedChat).
func (s *Service) EndRouted(ctx context.Context, contact router.ContactID, agent router.AgentID) error {
	q, ok := s.hub.(querier)
	if !ok {
		return ErrUnknownChat
	}
	var v router.ContactView
	var found bool
	if err := q.Query(ctx, func(e *router.Engine) { v, found = e.Contact(contact) }); err != nil {
		return err
	}
	if !found || v.Channel != router.Chat {
		return ErrUnknownChat
	}
	if v.State != router.Talking || v.Agent != agent {
		return ErrNotYours
	}
	_, err := s.hub.Do(ctx, router.ContactEnded{Contact: contact, Reason: router.EndCompleted})
	return err
}

package router

import (
	"fmt"
	"time"
)

// Engine is the routing core. It is not safe for concurrent use: one
// goroutine (server.Hub) owns it.
type Engine struct {
	cfg Config
	now time.Time
}

// New validates cfg and returns an engine.
func New(cfg Config) (*Engine, error) {
	return &Engine{cfg: cfg}, nil
}

// Apply applies one event at time now and returns the commands to carry out.
func (e *Engine) Apply(ev Event, now time.Time) ([]Command, error) {
	e.now = now
	switch ev.(type) {
	case Tick:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnknownEvent, ev)
}

// NextDeadline is the earliest time a Tick would change something.
func (e *Engine) NextDeadline() (time.Time, bool) { return time.Time{}, false }

// Snapshot returns every queue's statistics and every agent's view.
func (e *Engine) Snapshot() Snapshot { return Snapshot{At: e.now} }

// Waiting lists the contacts waiting in queue, in offer order.
func (e *Engine) Waiting(queue string) []ContactView { return nil }

// Contact returns the view of one live contact.
func (e *Engine) Contact(id ContactID) (ContactView, bool) { return ContactView{}, false }

// Agent returns the view of one agent.
func (e *Engine) Agent(id AgentID) (AgentView, bool) { return AgentView{}, false }

package console

import (
	"context"

	"onecall/router"
	"onecall/server"
)

// New returns the console service on hub and st. Call it before hub.Run and
// add Sink() to the hub.
func New(hub server.Front, st Store, opts Options) (*Service, error) {
	if hub == nil {
		return newService(nil, st, opts)
	}
	s, err := newService(hub, st, opts)
	if err != nil {
		return nil, err
	}
	// Seed queues and agents from the engine once the hub runs, so the
	// wallboard shows idle queues and agents logged in before the console.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.Seed(s.ctx); err != nil && s.ctx.Err() == nil {
			s.log.Warn("seed from engine", "err", err)
		}
	}()
	return s, nil
}

// Seed folds the engine's queues and agents into the consoles' view. New
// calls it once the hub runs; a cluster node calls it again once its
// replica has caught up with the log it joined (the commands of the
// entries before it subscribed never reach its sinks, so an agent whose
// state did not change since would show offline on it).
func (s *Service) Seed(ctx context.Context) error {
	q, ok := s.hub.(querier)
	if !ok {
		return nil
	}
	return q.Query(ctx, func(e *router.Engine) {
		snap := e.Snapshot()
		s.mu.Lock()
		s.m.seed(snap)
		s.mu.Unlock()
	})
}

// Sink returns the hub sink feeding consoles (Deliver never blocks).
func (s *Service) Sink() server.Sink { return server.SinkFunc(s.Deliver) }

package console

import (
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
		err := hub.Query(s.ctx, func(e *router.Engine) {
			snap := e.Snapshot()
			s.mu.Lock()
			s.m.seed(snap)
			s.mu.Unlock()
		})
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("seed from engine", "err", err)
		}
	}()
	return s, nil
}

// Sink returns the hub sink feeding consoles (Deliver never blocks).
func (s *Service) Sink() server.Sink { return server.SinkFunc(s.Deliver) }

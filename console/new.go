package console

import (
	"onecall/server"
)

// New returns the console service on hub and st. Call it before hub.Run and
// add Sink() to the hub.
func New(hub *server.Hub, st Store, opts Options) (*Service, error) {
	if hub == nil {
		return newService(nil, st, opts)
	}
	return newService(hub, st, opts)
}

// Sink returns the hub sink feeding consoles (Deliver never blocks).
func (s *Service) Sink() server.Sink { return server.SinkFunc(s.Deliver) }

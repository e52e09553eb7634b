//go:build !chat_nohub

package chat

import (
	"errors"

	"onecall/server"
)

// New returns the chat service on hub (a server.Front: the single node's Hub
// or a cluster node's front) and st. Register Sink() with the hub
// before hub.Run, mount the Service (ServeHTTP) for /chat and /ws/chat, call
// Recover with the chats that were live at the last stop, and Close on
// shutdown.
func New(hub server.Front, st Store, opts Options) (*Service, error) {
	if hub == nil {
		return nil, errors.New("chat: nil hub")
	}
	return NewWithHub(hub, st, opts, func(err error) bool { return errors.Is(err, server.ErrBusy) })
}

// Sink returns the hub sink that feeds routing commands to the chat (the
// Service itself).
func (s *Service) Sink() server.Sink { return s }

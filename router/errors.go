package router

import "errors"

// Errors returned by Engine.Apply and New. Compare with errors.Is; the
// returned error may wrap one of these with detail.
var (
	ErrUnknownAgent   = errors.New("router: unknown agent")
	ErrUnknownContact = errors.New("router: unknown contact")
	ErrUnknownQueue   = errors.New("router: unknown queue")
	ErrUnknownHotline = errors.New("router: unknown hotline")
	ErrInvalidState   = errors.New("router: invalid state for this event")
	ErrQueueFull      = errors.New("router: queue full")
	ErrDuplicate      = errors.New("router: duplicate id")
	ErrInvalidConfig  = errors.New("router: invalid config")
	ErrUnknownEvent   = errors.New("router: unknown event type")
	// ErrClosed refuses a chat entered again under the id of a chat the
	// engine closed (ClosedChat).
	ErrClosed = errors.New("router: contact already closed")
)

// ErrLoggedOut comes with ErrInvalidState for a state request from an
// agent logged out of routing (possibly still busy with a contact): log in
// first.
var ErrLoggedOut = errors.New("router: agent logged out")

// Package router is the pure routing core of onecall: Engine.Apply(event,
// now) -> commands. It owns contacts from arrival to close, agent routing
// state, offers and their timeouts, wrap-up, escalation, overflow, opening
// hours, announcements, live statistics and the reconciler.
//
// Concurrency: none. An Engine is owned by exactly one goroutine
// (server.Hub); it starts no goroutines, does no I/O, never reads the clock
// (time comes in with each event) and uses no global randomness. Equal input
// gives equal output.
package router

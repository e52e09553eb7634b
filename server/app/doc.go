// Package app wires one onecall process together: configuration, the store,
// the routing engine behind the Hub, the SIP, chat and console transports and
// the HTTP endpoints (/healthz, /readyz, /metrics).
//
// Concurrency: New builds everything without starting goroutines; Start
// starts the Hub, the transports and the listeners; Shutdown stops accepting,
// drains what is in flight within its context, flushes the store and
// returns. Two Apps can run in one process on port 0.
package app

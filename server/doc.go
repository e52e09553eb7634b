// Package server owns the running process: the Hub (the one goroutine that
// owns routing state), its timers, the HTTP health/metrics endpoints and the
// wiring of the transports (sip, chat, console) and the store.
//
// Concurrency: the routing engine is touched only by Hub.Run's goroutine.
// Everything else talks to it through a bounded inbox (Submit, Do, Query),
// which never blocks the caller: a full inbox answers ErrBusy, the overload
// signal that transports map to SIP 503, a chat "busy" frame or HTTP 503.
// Commands flow out to Sinks, which must not block either.
package server

// Package agents owns the pure agent model of onecall routing: routing
// states, skills with proficiency 1..5, capacity per channel with the
// cross-channel rule (a call blocks new chats, an open chat blocks calls),
// and the derived display state (offline, ready, not-ready(reason),
// reserved, busy, wrap-up) with a next-state applied after the current
// contacts.
//
// Concurrency: none. Values are owned by the router engine's goroutine. No
// clock, I/O or randomness: time is passed in.
package agents

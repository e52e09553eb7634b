// Package queues owns the pure waiting-list and statistics model of onecall
// routing: priority waiting lists (effective priority = queue priority +
// contact priority + aging, FIFO by original arrival within equal
// priority), service-level and wait-time statistics over today and the last
// 15 and 60 minutes in per-minute buckets (no per-contact history), and the
// estimated wait from recent handle times and staffed agents.
//
// Concurrency: none. Values are owned by the router engine's goroutine. No
// clock, I/O or randomness: time is passed in.
package queues

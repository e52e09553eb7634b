// Package console owns the agent and supervisor console: accounts and sign-in
// (argon2id passwords, session cookies, CSRF, lockout, roles), the console
// WebSocket protocol (docs/console-protocol.md), the HTTP JSON API
// (docs/api.md), the embedded web UI (web/) and the `onecall user` CLI.
//
// Concurrency: the Service keeps a mirror of routing state (agents, queues,
// contacts) built only from the commands the hub delivers to its Sink. The
// mirror and the set of live connections are guarded by one mutex; Deliver
// (called on the hub goroutine) updates the mirror, encodes each event once
// and fixes its target connections, then hands it to one dispatcher
// goroutine that pushes it, non-blocking, onto each connection's bounded
// send queue. A connection whose queue is full is cut off (close code 4008)
// and the browser reconnects and resyncs from a snapshot. Snapshots are taken
// (copied) under the same mutex that fixes event targets and are encoded and
// queued by the dispatcher in order with the events, so a snapshot plus the
// later events never miss anything (earlier events still in flight carry a
// seq the client ignores), and large supervisor snapshots never stall the hub. Each connection has one reader and one writer
// goroutine. Routing changes go to the hub only through Submit/Do, never
// blocking it. One live console per agent: a second tab takes over and the
// old one is closed with code 4001 ("taken over").
package console

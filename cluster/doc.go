// Package cluster gives onecall nodes the NATS building blocks they share a
// routing brain with: an embedded NATS server per node (clustered by routes,
// JetStream on file storage under the node's data directory) or a connection
// to an external NATS cluster, and on top of it
//
//   - Log: the append-only replicated event log (one JetStream stream, R3 on
//     three nodes), read in order and gap-free by followers and at catch-up;
//   - Snapshots: the latest snapshot blob with the log sequence it covers;
//   - Elector: leader election through a JetStream KV key with a TTL and
//     revision checks, fenced by a local lease shorter than the TTL;
//   - the schema check: each node publishes its schema version, a node whose
//     version differs from a live peer's refuses to join;
//   - Commands: per-node command subjects (onecall.node.<id>.cmd) carrying
//     opaque bytes plus an id (receivers drop ids they have seen);
//   - KVWatch: a watch of a whole KV bucket that notices a lost consumer
//     within a second and creates another at once (the shared maps and
//     the registrar follow their buckets with it).
//
// Everything here is byte-level: the package knows nothing of router events
// or commands; the replicated engine encodes its own.
//
// What it owns: the embedded server and its store directory (DataDir/nats),
// the in-process client connection, the stream ONECALL_EVENTS and the
// buckets onecall_leader, onecall_nodes and onecall_snapshots.
//
// Concurrency: Node, Log, Snapshots and Commands are safe for
// concurrent use; a KVWatch runs one goroutine, read through Updates.
// Elector runs one goroutine that campaigns and renews; its IsLeader reads
// the lease clock directly, so it turns false at the lease's end even if
// that goroutine is late. Only the leader may append: Append
// carries the expected last sequence, so a deposed leader's append fails
// once anyone else has appended. Read calls its function from one goroutine,
// in sequence order; the function must not block for long. The embedded
// servers' Raft timers are process-wide (raft_timers.go): Start sets them
// once, before the first server of the process starts.
package cluster

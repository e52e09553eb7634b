// Package store is onecall's durable storage: one SQLite database (WAL mode)
// accessed through sqlx and mattn/go-sqlite3.
//
// It owns the schema and its versioned migrations (embedded
// migrations/*.sql, tracked in schema_version; a database newer than the
// binary is refused), the batching writer, the read pool, crash recovery
// (Recover), privacy purging (Purge) and number masking (MaskNumber).
//
// Concurrency rules:
//   - Exactly one goroutine (the writer) owns the single read-write
//     connection. Every write, including the synchronous user operations,
//     Recover and Purge, is a Record executed by that goroutine inside a
//     BEGIN IMMEDIATE transaction together with the other records of the
//     same batch (group commit).
//   - Enqueue never blocks: it returns ErrOverloaded when the bounded queue
//     is full. The routing goroutine only ever calls Enqueue.
//   - Durable blocks until the record's batch is committed, or fails fast
//     with ErrNotDurable while storage is unhealthy or its ctx ends.
//   - Reads use a separate read-only connection pool and are safe for
//     concurrent use from any goroutine.
//   - Storage faults (disk full, read-only file, lock held by an outside
//     process) never stop the writer: records stay in a bounded in-memory
//     backlog, the writer retries with exponential backoff on a fresh
//     connection, and Health reports the fault. Nothing but transactions is
//     used, so the database is never left half-written.
package store

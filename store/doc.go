// Package store is onecall's durable storage, accessed through sqlx: one
// SQLite database (WAL mode, mattn/go-sqlite3) for a single node, the
// default; or a PostgreSQL database (pgx's database/sql driver) shared by
// the nodes of a cluster. Open opens SQLite, OpenPostgres PostgreSQL,
// OpenDriver either by the store.driver config key.
//
// It owns the schema and its versioned migrations (embedded
// migrations/NNNN_*.sql for SQLite and migrations/postgres/NNNN_*.sql for
// PostgreSQL, with the same numbers and names; tracked in schema_version;
// a database newer than the binary is refused), the batching writer, the
// read pool, crash recovery (Recover), privacy purging (Purge) and number
// masking (MaskNumber).
//
// Dialects: queries are written once with ? placeholders and rebound to
// $1, $2, ... for PostgreSQL; the few that differ (JSON merge, GREATEST,
// row locks, index hints) are chosen per dialect. Timestamps are integer
// Unix milliseconds in both (BIGINT in PostgreSQL), JSON columns are TEXT,
// booleans are INTEGER 0/1 in SQLite and BOOLEAN in PostgreSQL.
//
// Concurrency rules:
//   - Exactly one goroutine (the writer) owns the single read-write
//     connection. Every write, including the synchronous user operations,
//     Recover and Purge, is a Record executed by that goroutine inside one
//     transaction together with the other records of the same batch
//     (group commit): BEGIN IMMEDIATE on SQLite; on PostgreSQL a READ
//     COMMITTED transaction where upserts are atomic (ON CONFLICT) and
//     read-modify-writes lock their rows (SELECT ... FOR UPDATE), so the
//     writers of several nodes can share one database. There, statements
//     whose results no record reads are pipelined: queued and sent in one
//     round trip at the commit or before the next statement that reads.
//   - A record the database refuses (constraint, invalid value) is
//     answered with its error and the rest of its batch commits. On
//     PostgreSQL, where a failed statement aborts the transaction, the
//     writer then redoes that batch with each record in its own savepoint.
//   - Enqueue never blocks: it returns ErrOverloaded when the bounded queue
//     is full. The routing goroutine only ever calls Enqueue.
//   - Durable blocks until the record's batch is committed, or fails fast
//     with ErrNotDurable while storage is unhealthy or its ctx ends.
//   - Reads use a separate read-only connection pool (SQLite mode=ro,
//     PostgreSQL default_transaction_read_only) and are safe for
//     concurrent use from any goroutine.
//   - Storage faults (disk full, read-only file, lock held by an outside
//     process; on PostgreSQL a lost connection, a server shutting down, a
//     deadlock or serialization failure) never stop the writer: records
//     stay in a bounded in-memory backlog, the writer retries with
//     exponential backoff on a fresh connection, and Health reports the
//     fault. Nothing but transactions is used, so the database is never
//     left half-written.
//   - On PostgreSQL, migrations run under an advisory lock, so nodes
//     starting together migrate one after the other.
package store

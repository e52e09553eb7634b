package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL: the server dropping the writer's connection (here
// pg_terminate_backend, as a restart or a failover would) is a storage
// fault, not a refusal: the batch's records stay in memory, Health reports
// the fault, the writer reconnects and commits them, and nothing is lost.
func TestPostgresLostConnectionIsRetried(t *testing.T) {
	db := newTestDB(t, postgresDialect)
	s := db.open(t, WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	ctx := ctxT(t)
	must(t, s.Durable(ctx, ContactUpsert{ID: 1, Channel: "chat", Arrived: t0}))
	admin := db.raw(t)
	kill := func() int {
		var n int
		must(t, admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'onecall'`).Scan(&n))
		return n
	}
	if n := kill(); n == 0 {
		t.Fatal("no onecall connection to terminate")
	}
	for i := int64(1); i <= 200; i++ {
		must(t, s.Enqueue(ChatMessage{Contact: 1, Seq: i, SenderKind: SenderCitizen, Text: "hi", Sent: t0}))
	}
	start := time.Now()
	eventually(t, 10*time.Second, "the batch to be committed after reconnecting", func() bool {
		return s.Stats().Committed == 201
	})
	t.Logf("committed after %v", time.Since(start))
	if st := s.Stats(); st.Failures == 0 || st.Dropped != 0 {
		t.Fatalf("stats %+v: want the lost connection counted as a failure and nothing dropped", st)
	}
	eventually(t, 5*time.Second, "storage healthy again", func() bool { return s.Health().OK })
	var msgs []ChatMessage
	eventually(t, 5*time.Second, "the messages to be readable", func() bool {
		var err error
		msgs, err = s.ChatMessages(ctx, 1, 0)
		return err == nil && len(msgs) == 200
	})
	// Durable after the recovery commits at once.
	must(t, s.Durable(ctx, ChatMessage{Contact: 1, Seq: 201, SenderKind: SenderAgent, Sent: t0}))
}

// The read pool refuses writes on PostgreSQL, as SQLite's mode=ro does. The
// writer would count the same refusal (a DSN naming a read-only standby)
// as a storage fault and retry, as it does for a read-only SQLite file.
func TestPostgresReadPoolIsReadOnly(t *testing.T) {
	s := newTestDB(t, postgresDialect).open(t)
	_, err := s.r.ExecContext(ctxT(t), `INSERT INTO dispositions (hotline, code) VALUES ('110', 'x')`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "25006" {
		t.Fatalf("write through the read pool: %v, want SQLSTATE 25006 (read-only transaction)", err)
	}
	if !isFault(err) {
		t.Fatal("a read-only database is not a storage fault")
	}
}

// Nodes starting together on one fresh database: the advisory lock makes
// them migrate one after the other, each migration is applied once, and
// every node opens.
func TestPostgresConcurrentMigrate(t *testing.T) {
	db := newTestDB(t, postgresDialect)
	const nodes = 3
	errs := make(chan error, nodes)
	for range nodes {
		go func() {
			s, err := open(ctxT(t), db.d, db.source)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		must(t, <-errs)
	}
	var rows, max int
	must(t, db.raw(t).QueryRow(`SELECT count(*), max(version) FROM schema_version`).Scan(&rows, &max))
	if rows != SchemaVersion() || max != SchemaVersion() {
		t.Fatalf("schema_version: %d rows up to %d, want %d", rows, max, SchemaVersion())
	}
}

// Errors name the database without its password.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://onecall:s3cret-pw@127.0.0.1:1/onecall?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=onecall password=s3cret-pw dbname=onecall sslmode=disable connect_timeout=2",
	} {
		_, err := OpenPostgres(ctxT(t), dsn)
		if err == nil {
			t.Fatalf("%s: opened a database on port 1", dsn)
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
	if got := redactDSN("postgres://onecall:s3cret-pw@db1/onecall"); strings.Contains(got, "s3cret-pw") || !strings.Contains(got, "db1") {
		t.Fatalf("redactDSN = %q", got)
	}
}

package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"onecall/internal/pgtest"
)

func TestMain(m *testing.M) {
	if p := os.Getenv(crashChildEnv); p != "" {
		crashChild(p)
		os.Exit(0)
	}
	os.Exit(pgtest.Main(m))
}

// testDB is one empty database of one dialect: a SQLite file or a fresh
// PostgreSQL database on the package's shared server.
type testDB struct {
	d      dialect
	source string // file path or DSN
}

// open opens the store on db (again, after a Close); closed at the test's end.
func (db testDB) open(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := open(context.Background(), db.d, db.source, opts...)
	if err != nil {
		t.Fatalf("Open %s: %v", db.d, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// raw opens a plain connection to db, as an outside tool would.
func (db testDB) raw(t testing.TB) *sql.DB {
	t.Helper()
	if db.d == sqliteDialect {
		return rawDB(t, db.source, "")
	}
	c, err := sql.Open("pgx", db.source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rebind adapts a ? query for db's raw connection.
func (db testDB) rebind(q string) string {
	if db.d == postgresDialect {
		return sqlxRebindDollar(q)
	}
	return q
}

func newTestDB(t testing.TB, d dialect) testDB {
	t.Helper()
	if d == postgresDialect {
		return testDB{d: d, source: pgtest.Shared(t).Database(t)}
	}
	return testDB{d: d, source: filepath.Join(t.TempDir(), "onecall.db")}
}

// forEachDialect runs f once on a fresh SQLite database and once on a
// fresh PostgreSQL database, as subtests "sqlite" and "postgres".
func forEachDialect(t *testing.T, f func(t *testing.T, db testDB)) {
	t.Helper()
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		t.Run(d.String(), func(t *testing.T) { f(t, newTestDB(t, d)) })
	}
}

// forEachStore is forEachDialect with the store opened.
func forEachStore(t *testing.T, f func(t *testing.T, s *Store), opts ...Option) {
	t.Helper()
	forEachDialect(t, func(t *testing.T, db testDB) { f(t, db.open(t, opts...)) })
}

func openTest(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "onecall.db")
	}
	s, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens the database file with a plain connection, as an outside
// tool would.
func rawDB(t testing.TB, path, params string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func integrityOK(t testing.TB, path string) {
	t.Helper()
	db := rawDB(t, path, "?mode=ro")
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check: %s", res)
	}
	db.Close()
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-time.After(2 * time.Millisecond)
	}
}

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestMigrateFromEmpty(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		raw := db.raw(t)
		var v int
		if err := raw.QueryRow(`SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != SchemaVersion() || v < 1 {
			t.Fatalf("schema version %d, binary knows %d", v, SchemaVersion())
		}
		tableQ := `SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?`
		if db.d == postgresDialect {
			tableQ = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
		}
		for _, tbl := range []string{"users", "contacts", "contact_events", "chat_messages", "call_records",
			"agent_state_log", "callbacks", "dispositions", "registrations", "console_sessions", "audit_log", "writer_probe"} {
			var n int
			if err := raw.QueryRow(tableQ, tbl).Scan(&n); err != nil || n != 1 {
				t.Errorf("table %s: n=%d err=%v", tbl, n, err)
			}
		}
		if db.d == sqliteDialect {
			var mode string
			if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
				t.Errorf("journal_mode %q err=%v", mode, err)
			}
		}
		raw.Close()
		// Reopening applies nothing and keeps one row per version.
		s2 := db.open(t)
		s2.Close()
		raw = db.raw(t)
		var rows int
		if err := raw.QueryRow(`SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != SchemaVersion() {
			t.Fatalf("schema_version rows %d err=%v", rows, err)
		}
	})
}

func TestRefuseNewerSchema(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t)
		s.Close()
		raw := db.raw(t)
		if _, err := raw.Exec(db.rebind(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'future.sql', 0)`), SchemaVersion()+1); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		_, err := open(context.Background(), db.d, db.source)
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("Open on newer schema: %v, want ErrSchemaTooNew", err)
		}
		if !strings.Contains(err.Error(), "version") {
			t.Errorf("error should name the versions: %v", err)
		}
	})
}

// Both dialects have the same migrations: the same numbers and names, so
// one schema version means one schema whichever database holds it.
func TestMigrationsContiguous(t *testing.T) {
	lite, err := migrations(sqliteDialect)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrations(postgresDialect)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 {
		t.Fatal("no embedded migrations")
	}
	names := func(ms []migration) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.name)
		}
		return out
	}
	if a, b := strings.Join(names(lite), " "), strings.Join(names(pg), " "); a != b {
		t.Fatalf("migrations differ between dialects:\nsqlite:   %s\npostgres: %s\n(add store/migrations/postgres/NNNN_*.sql beside each store/migrations/NNNN_*.sql)", a, b)
	}
}
